/*
 * Runs every lab of one kind through the same ordeal, against real containers (root):
 *   setup → check: not passed, score 0, and every failure says what is missing (a failcheck —
 *     "the setup's containers are still the ones it made" — holds on the untouched setup);
 *   partial solution (when the lab has one) → exactly the partial score its weights give;
 *   each example answer of the lab file, on a fresh setup → a wrong one below full (exactly its
 *     score when the file gives one), a differently-right one full;
 *   reset, reference solution → full score;
 *   stop → nothing left: no container, veth, cgroup, mount, bridge or work directory.
 * A lab that needs a runtime feature this agent lacks (probed on real containers) is skipped,
 * and says which feature.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openRuntime } from '../agent/runtime/runtime';
import type { ContainerRuntime } from '../agent/runtime/api';
import { LabEngine } from '../agent/labs/engine';
import { PodEngine } from '../agent/pods/engine/pod-engine';
import { loadLabs } from '../agent/labs/loader';
import { probeFeatures } from '../agent/labs/features';
import { RESERVATIONS_DIRECTORY } from '../agent/labs/networks';
import { LabStateStore } from '../agent/labs/state';
import type { LabNetwork } from '../agent/labs/template';
import type { LabFeature, LabKind } from '../agent/protocol/labs';
import { containersOfRootsBeneath } from '../agent/labs/host-leftovers';
import { bridgePorts, cgroupDirsNamed, hostLinkNames, leftovers, NONE_LEFT, removeBridgeIfCreated } from './helpers/kernel-witness';
import { AGENT_BUNDLE, ensureBuilt } from './helpers/service';

export const LABS_DIRECTORY = join(__dirname, '..', 'labs');

/**
 * Bridges of a stopped attempt that are still on the host and not another attempt's since: a name
 * given back may be borrowed again at once by a lab running beside this one (its reservation file
 * in /run names the new owner).
 */
export function bridgesLeftBy(stateRoot: string, bridges: Iterable<string>): string[] {
  const links = hostLinkNames();
  return [...bridges].filter((bridge) => {
    if (!links.includes(bridge)) return false;
    try {
      return (JSON.parse(readFileSync(join(RESERVATIONS_DIRECTORY, bridge), 'utf8')) as { stateRoot: string }).stateRoot === stateRoot;
    } catch {
      return true; // on the host, held by nobody: left behind
    }
  });
}

/** The bridges and subnets the running attempt of a lab borrowed, from its state file. */
export function attemptNetworks(stateRoot: string, id: string): Record<string, LabNetwork> {
  return new LabStateStore(join(stateRoot, 'labs')).get(id, 0).attempt?.networks ?? {};
}

/**
 * Labs whose steps run the CLI on the lab host ({{cli}}, e.g. under strace) or name the OCI
 * runtime ({{runc}}, for containerd) run this checkout's build, not whatever is on PATH.
 */
export function useThisCheckoutsCli(): void {
  ensureBuilt();
  process.env.CONTAINERS_LAB_CLI = `${process.execPath} ${AGENT_BUNDLE}`;
  // …and containers-lab-runc as one executable file, as containerd's shims exec it ({{runc}}).
  process.env.CONTAINERS_LAB_RUNC = join(__dirname, '..', 'bin', 'containers-lab-runc.js');
}

/** The named network namespaces and host links a lab's attempt has the learner make by hand (its cleanup, filled). */
export function handMadeNames(stateRoot: string, id: string, cleanup: { netns?: string[]; links?: string[] } | undefined): { netns: string[]; links: string[] } {
  const token = new LabStateStore(join(stateRoot, 'labs')).get(id, 0).attempt?.token ?? '';
  const fill = (names: string[] | undefined): string[] => (names ?? []).map((name) => name.replaceAll('{{token}}', token));
  return { netns: fill(cleanup?.netns), links: fill(cleanup?.links) };
}

/** Processes whose command line names `directory` or a path beneath it: "PID argv…". */
export function processesNaming(directory: string): string[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).flatMap((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return argv.some((word) => word === directory || word.startsWith(`${directory}/`)) ? [`${pid} ${argv.join(' ')}`] : [];
    } catch {
      return [];
    }
  });
}

export function labSuite(kind: LabKind, bridge: string, subnet: string, only?: (id: string) => boolean): void {
  let stateRoot: string;
  let runtime: ContainerRuntime;
  let engine: LabEngine;
  let pods: PodEngine;
  let features: Set<LabFeature>;
  let removeSuiteBridge: () => void;
  /** Every container the suite made — the feature probe's and the labs' — for the final leftover check. */
  const made = new Map<string, number | null>();

  beforeAll(async () => {
    useThisCheckoutsCli();
    stateRoot = mkdtempSync(`/tmp/cl-labs-${kind}-`);
    // The bridge's name is this suite's alone: one already on the host with no port is the leftover
    // of a run that was killed (a run that ends removes it), and is taken over.
    if (hostLinkNames().includes(bridge) && bridgePorts(bridge).length === 0) execFileSync('ip', ['link', 'del', bridge]);
    removeSuiteBridge = removeBridgeIfCreated(bridge);
    // The suite's own default network: every bridged container of its labs, pods' sandboxes and
    // the feature probe's included, goes there and not on cl0, which other suites use at the same time.
    runtime = openRuntime({ stateRoot, defaultBridge: { name: bridge, subnet } });
    runtime.events.on('container.changed', ({ id, summary }) => made.set(id, summary.pid ?? made.get(id) ?? null));
    // A supervising pod engine, as the service has: restarts, back-off and probes run during the labs.
    pods = new PodEngine(runtime, { supervise: true });
    engine = new LabEngine(runtime, { stateRoot, labsDirectory: LABS_DIRECTORY, pods: () => pods });
    features = await probeFeatures(runtime);
  });

  afterAll(async () => {
    for (const pod of pods.list()) await pods.delete({ name: pod.name, gracePeriodSeconds: 0 });
    for (const summary of runtime.list()) await runtime.remove(summary.id, true);
    pods.close();
    engine.close();
    runtime.close();
    removeSuiteBridge();
    // The kernel's word that nothing any of them held is left: cgroups, mounts, processes, links.
    expect(leftovers(stateRoot, [...made].map(([id, pid]) => ({ id, pid })))).toEqual(NONE_LEFT);
    expect(hostLinkNames(), `${bridge} is still on the host, its ports: ${bridgePorts(bridge).join(', ') || 'none'}`).not.toContain(bridge);
    rmSync(stateRoot, { recursive: true, force: true });
  });

  const labs = loadLabs(LABS_DIRECTORY).filter((lab) => lab.kind === kind && (!only || only(lab.id)));
  for (const lab of labs) {
    const answers = lab.answers ?? [];
    const graded = answers.length > 0 ? `${answers.filter((answer) => answer.verdict === 'wrong').length} wrong answers below full, ${answers.filter((answer) => answer.verdict === 'right').length} right ones full, ` : '';
    test(`${lab.id}: unsolved fails, ${lab.partial ? 'partial scores its weights, ' : ''}${graded}solution scores full, stop leaves nothing`, { timeout: 240_000 }, async (context) => {
      const missing = (lab.requires ?? []).filter((feature) => !features.has(feature));
      if (missing.length > 0) context.skip(`needs runtime features not available yet: ${missing.join(', ')}`);

      const learnerRun = new Set<string>();
      try {
        await engine.start(lab.id);
        const unsolved = await engine.check(lab.id);
        expect(unsolved.passed).toBe(false);
        expect(unsolved.score).toBe(0);
        for (const [index, result] of unsolved.checks.entries()) {
          const spec = lab.checks[index]!;
          if (spec.failcheck) {
            expect(result, `failcheck ${spec.id} fails on the untouched setup`).toMatchObject({ passed: true, weight: 0 });
            continue;
          }
          expect(result.passed, `${spec.id} passed on the unsolved setup`).toBe(false);
          expect(result.message).toMatch(result.message.startsWith('not checked: ') ? /^not checked: needs “[^”]+” to pass first$/ : /\(found: .+\)$/);
        }

        if (lab.partial) {
          const partial = await engine.solve(lab.id, true);
          expect(partial.score, JSON.stringify(partial.checks.filter((check) => !check.passed))).toBe(lab.partial.score);
          expect(partial.passed).toBe(false);
          await engine.reset(lab.id);
        }

        for (const [index, answer] of answers.entries()) {
          await engine.reset(lab.id);
          const report = await engine.tryAnswer(lab.id, index);
          // containers an answer ran under a state root of its own in the work directory (--root {{workdir}}/…)
          for (const { ids } of containersOfRootsBeneath(engine.workdir(lab.id))) for (const id of ids) learnerRun.add(id);
          const failed = JSON.stringify(report.checks.filter((check) => !check.passed));
          if (answer.verdict === 'right') expect(report.score, `right answer "${answer.why}" — ${failed}`).toBe(report.max);
          else if (answer.score !== undefined) expect(report.score, `wrong answer "${answer.why}" — ${failed}`).toBe(answer.score);
          else expect(report.score, `wrong answer "${answer.why}"`).toBeLessThan(report.max);
        }

        await engine.reset(lab.id);
        const solved = await engine.solve(lab.id);
        expect(solved.checks.filter((check) => !check.passed)).toEqual([]);
        expect(solved.score).toBe(solved.max);
        expect(solved.passed).toBe(true);
        // A mock exam's result by domain adds up to its score, over every check that names a domain.
        if (lab.checks.some((check) => check.domain)) {
          for (const report of [unsolved, solved]) {
            const byDomain = report.byDomain ?? [];
            expect(byDomain.reduce((sum, entry) => sum + entry.max, 0)).toBe(lab.checks.filter((check) => check.domain).reduce((sum, check) => sum + check.weight, 0));
            expect(byDomain.reduce((sum, entry) => sum + entry.score, 0)).toBe(report.checks.filter((check) => check.domain && check.passed).reduce((sum, check) => sum + check.weight, 0));
          }
          expect(solved.byDomain!.every((entry) => entry.score === entry.max)).toBe(true);
        }

        const bridges = new Set(Object.values(attemptNetworks(stateRoot, lab.id)).map((network) => network.bridge));
        const made = runtime.list().map((summary) => ({ id: summary.id, pid: summary.pid }));
        const byHand = handMadeNames(stateRoot, lab.id, lab.cleanup);
        await engine.stop(lab.id);
        // The lab's daemons (a registry, a containerd and its shims) are gone: nothing runs from its directory.
        expect(processesNaming(engine.workdir(lab.id))).toEqual([]);
        // What the learner made by hand, outside the agent, is gone too: named namespaces, links.
        expect(byHand.netns.filter((name) => existsSync(`/run/netns/${name}`))).toEqual([]);
        expect(byHand.links.filter((name) => hostLinkNames().includes(name))).toEqual([]);
        expect(runtime.list().map((summary) => summary.name)).toEqual([]);
        expect(pods.list().map((pod) => pod.name)).toEqual([]);
        expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
        expect(bridgesLeftBy(stateRoot, bridges)).toEqual([]);
        expect(existsSync(engine.workdir(lab.id))).toBe(false);
        // ...and so is every cgroup of the containers an answer ran under a root of its own there
        expect([...learnerRun].filter((id) => cgroupDirsNamed(id).length > 0)).toEqual([]);
      } catch (error) {
        // one lab's failure must not leave its containers to fail the labs after it
        await engine.stop(lab.id).catch(() => undefined);
        throw error;
      }
    });
  }
}
