/*
 * Check "pod": a pod as the node's pod engine reports it — what `containers-lab get pods` and
 * `describe pod` show, computed from what the runtime learns from the kernel (each container's
 * first process, waited for: running, or its exit code and whether the OOM killer ended it). A
 * pod "from a static pod file" is one the node made from its static pod directory, not one
 * `apply` made: the kubelet's mirror of a manifest, not a copy of it.
 */
import type { PodContainerState, PodContainerStatus, PodRecord } from '../../protocol/pods';
import { LabError } from '../../errors';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, failIf } from './outcome';

export function podRecord(context: LabContext, name: string): PodRecord | null {
  try {
    return context.pods().get(name);
  } catch (error) {
    if (error instanceof LabError && error.kind === 'not-found') return null;
    throw error;
  }
}

function stateWord(state: PodContainerState): string {
  if (state.running) return 'running';
  if (state.waiting) return `waiting (${state.waiting.reason})`;
  if (state.terminated) return `terminated (${state.terminated.reason}, exit code ${state.terminated.exitCode})`;
  return 'unknown';
}

function reasonOf(state: PodContainerState): string | undefined {
  return state.waiting?.reason ?? state.terminated?.reason;
}

export function checkPod(params: CheckParamsByKind['pod'], context: LabContext): void {
  const pod = podRecord(context, params.pod);
  if (params.absent) {
    failIf(pod !== null, `pod "${params.pod}" exists (${pod?.status.phase}, from ${pod?.source === 'api' ? 'apply' : pod?.source})`);
    return;
  }
  if (!pod) throw new CheckFailed(`no pod named "${params.pod}" (containers-lab get pods)`);
  if (params.source !== undefined) {
    const from = pod.source === 'api' ? 'api' : 'static';
    failIf(from !== params.source, `pod "${params.pod}" was made ${from === 'api' ? 'by apply, not from the static pod directory' : `from the static pod file ${pod.source}`}`);
  }
  if (params.phase !== undefined) failIf(pod.status.phase !== params.phase, `pod "${params.pod}" is ${pod.status.phase}`);
  if (params.container !== undefined) {
    const all: PodContainerStatus[] = [...pod.status.initContainerStatuses, ...pod.status.containerStatuses];
    const status = all.find((entry) => entry.name === params.container);
    if (!status) throw new CheckFailed(`pod "${params.pod}" has no container "${params.container}" (it has ${all.map((entry) => entry.name).join(', ')})`);
    const where = `container "${params.container}" of pod "${params.pod}"`;
    if (params.state !== undefined) failIf(status.state[params.state] === undefined, `${where} is ${stateWord(status.state)}`);
    if (params.reason !== undefined) failIf(reasonOf(status.state) !== params.reason, `${where} is ${stateWord(status.state)}`);
    if (params.exitCode !== undefined) failIf(status.state.terminated?.exitCode !== params.exitCode, `${where} is ${stateWord(status.state)}`);
    if (params.ready !== undefined) failIf(status.ready !== params.ready, `${where} is ${status.ready ? '' : 'not '}ready (${stateWord(status.state)})`);
    if (params.restartsAtMost !== undefined) failIf(status.restartCount > params.restartsAtMost, `${where} restarted ${status.restartCount} times`);
  }
  if (params.hostAlias !== undefined) {
    // The kubelet writes /etc/hosts from the spec for every new pod; a line added from inside is
    // lost when the pod is made again. So the alias must be in the spec the engine runs.
    const spec = pod.manifest['spec'] as { hostAliases?: { ip?: string; hostnames?: string[] }[] } | undefined;
    const { ip, hostname } = params.hostAlias;
    const found = (spec?.hostAliases ?? []).some((alias) => alias.ip === ip && (alias.hostnames ?? []).includes(hostname));
    failIf(!found, `pod "${params.pod}" has no hostAliases entry for ${ip} naming ${hostname} in its spec`);
  }
  if (params.initOrder !== undefined) {
    const inits = pod.status.initContainerStatuses;
    const names = inits.map((entry) => entry.name);
    failIf(names.join(',') !== params.initOrder.join(','), `pod "${params.pod}" has init containers [${names.join(', ')}]`);
    for (const entry of inits) {
      failIf(entry.state.terminated?.exitCode !== 0, `init container "${entry.name}" of pod "${params.pod}" is ${stateWord(entry.state)}`);
    }
    // Each began only after the one before it had finished.
    for (let index = 1; index < inits.length; index += 1) {
      const before = inits[index - 1]!.state.terminated!.finishedAt ?? '';
      const after = inits[index]!.state.terminated!.startedAt ?? '';
      failIf(after < before, `init container "${inits[index]!.name}" started before "${inits[index - 1]!.name}" had finished`);
    }
  }
}
