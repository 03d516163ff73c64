/*
 * Teardown: remove everything a lab made — the containers its setup ran, the images it built, the ones its task asks
 * the learner to make (named in the solution and the example answers), scratch containers its
 * checks made, the bridges of its attempt, and its work directory — so that starting again begins
 * from nothing and other labs never see its leftovers. Names are collected from the lab file
 * itself, so nothing the learner made outside the lab is touched.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { kubeletDirectory } from '../pods/engine/image-pull';
import { stopLabContainerd } from './daemons/containerd';
import { labDaemonDirectory } from './daemons/directory';
import { stopLabRegistry } from './daemons/registry';
import { LabError } from '../errors';
import { removeBridge } from '../runtime/network';
import type { LabContext } from './context';
import type { LabDefinition, SolutionStep } from './format';
import { labCli, type LabNetwork } from './template';
import { readPodManifest } from '../pods/manifest/read';
import { killProcessesRootedIn, removeContainersOfRootsBeneath, removeHostLinks, removeNamedNetns, unmountBeneath } from './host-leftovers';
import { removeLabNodes } from './nodes';

const NAME_OPTION = /--name[= ](\S+)/;
const POD_OPTION = /--pod[= ](\S+)/;

/** Scratch containers a check makes (a replayed init step) are named with this prefix. */
export const CHECK_SCRATCH_PREFIX = 'clcheck-';

function cliLines(steps: readonly SolutionStep[]): string[] {
  return steps.flatMap((step) => ('cli' in step ? [step.cli] : []));
}

/** Container and pod names a lab may leave behind. */
export function labResources(lab: LabDefinition): { containers: Set<string>; pods: Set<string> } {
  const containers = new Set(lab.cleanup?.containers ?? []);
  const pods = new Set<string>();
  for (const action of lab.setup ?? []) {
    if ('run' in action) {
      containers.add(action.run.name);
      if (action.run.pod) pods.add(action.run.pod);
    }
  }
  const steps = [...lab.solution.steps, ...(lab.partial?.steps ?? []), ...(lab.answers ?? []).flatMap((answer) => answer.steps)];
  for (const line of cliLines(steps)) {
    const name = NAME_OPTION.exec(line)?.[1];
    if (name) containers.add(name);
    const pod = POD_OPTION.exec(line)?.[1];
    if (pod) pods.add(pod);
  }
  for (const name of podsOfLab(lab)) pods.add(name);
  return { containers, pods };
}

/** Pods by name: those the setup applies and those the cleanup lists (the learner's, from YAML). */
function podsOfLab(lab: LabDefinition): string[] {
  const names = [...(lab.cleanup?.pods ?? [])];
  for (const action of lab.setup ?? []) {
    if (!('pod' in action)) continue;
    try {
      names.push(readPodManifest(action.pod.yaml).name);
    } catch {
      // a setup that cannot apply its pod made none
    }
  }
  return names;
}

/** Whether the lab works with pods from Pod YAML (its teardown and checks then use the pod engine). */
export function usesPods(lab: LabDefinition): boolean {
  const steps = [...lab.solution.steps, ...(lab.partial?.steps ?? []), ...(lab.answers ?? []).flatMap((answer) => answer.steps)];
  return lab.staticPodPath !== undefined || podsOfLab(lab).length > 0
    || cliLines(steps).some((line) => /^containers-lab\s+(apply|delete)\b/.test(line));
}

/** Deletes the lab's pods (named, or made from files under its work directory) with no grace: their containers, sandboxes, cgroups go. */
async function removeLabPods(context: LabContext, names: ReadonlySet<string>): Promise<void> {
  if (!usesPods(context.lab)) return;
  const engine = context.pods();
  await engine.settled();
  for (const pod of engine.sources()) {
    if (!names.has(pod.name) && !pod.source.startsWith(`${context.workdir}/`)) continue;
    try {
      await engine.delete({ name: pod.name, gracePeriodSeconds: 0 });
    } catch (error) {
      if (!(error instanceof LabError && error.kind === 'not-found')) throw error;
    }
  }
}

/** Removes the lab's containers, then `networks`' bridges where nothing else uses them, then its work directory. */
export async function teardownLab(context: LabContext, networks: readonly LabNetwork[]): Promise<void> {
  const { runtime, lab } = context;
  const { containers, pods } = labResources(lab);
  await removeLabPods(context, pods);
  // Pod members first, then whatever holds a pod's shared namespaces (named after the pod).
  const podMember = (name: string): boolean => [...pods].some((pod) => name === pod || name.startsWith(`${pod}-`) || name.startsWith(`${pod}.`));
  const scratch = (name: string): boolean => context.attempt.token !== '' && name.startsWith(`${CHECK_SCRATCH_PREFIX}${context.attempt.token}`);
  const doomed = runtime.list().filter((summary) => containers.has(summary.name) || podMember(summary.name) || scratch(summary.name));
  const holdsPod = (name: string): boolean => [...pods].some((pod) => name === pod || name === `${pod}-pause`);
  doomed.sort((a, b) => Number(holdsPod(a.name)) - Number(holdsPod(b.name)));
  for (const summary of doomed) {
    try {
      await runtime.remove(summary.id, true);
    } catch (error) {
      if (!(error instanceof LabError && error.kind === 'not-found')) throw error;
    }
  }
  const stillUsed = new Set(runtime.list().flatMap((summary) => {
    try {
      return [runtime.inspect(summary.id).network.bridge];
    } catch {
      return [];
    }
  }));
  for (const { bridge } of networks) if (!stillUsed.has(bridge)) removeBridge(bridge, context.stateRoot);
  // What the learner made by hand (a name not filled yet — no attempt — names nothing).
  const named = (names: string[] | undefined): string[] => (names ?? []).filter((name) => !name.includes('‹'));
  // The lab's nodes (their containers, agents and namespaces), as its work directory records them.
  await removeLabNodes(context.workdir);
  removeNamedNetns(named(lab.cleanup?.netns));
  removeHostLinks(named(lab.cleanup?.links));
  await stopLabDaemons(context);
  await removeContainersOfRootsBeneath(context.workdir, labCli());
  await killProcessesRootedIn(context.workdir);
  unmountBeneath(context.workdir);
  await removeLabImages(context);
  rmSync(context.workdir, { recursive: true, force: true });
}

/** The lab's registry and containerd stop, with what they made (./daemons/). */
async function stopLabDaemons(context: LabContext): Promise<void> {
  for (const action of context.lab.setup ?? []) {
    if ('registry' in action) {
      await stopLabRegistry(action.registry, labDaemonDirectory(context, 'registry'), context.runtime, join(kubeletDirectory(context.stateRoot), 'config.json'));
    }
    if ('containerd' in action) await stopLabContainerd(labDaemonDirectory(context, 'containerd'));
  }
}

/** The images the setup built go, and with them the blobs and layers nothing else uses (image prune). */
async function removeLabImages(context: LabContext): Promise<void> {
  const names = (context.lab.setup ?? []).flatMap((action) => ('image' in action ? [action.image.name] : []));
  if (names.length === 0) return;
  let removed = false;
  for (const name of names) {
    try {
      await context.runtime.images.remove(name);
      removed = true;
    } catch (error) {
      if (!(error instanceof LabError && error.kind === 'not-found')) throw error;
    }
  }
  if (removed) await context.runtime.images.prune();
}
