/*
 * A pod's status as the kubelet reports it, computed from what the engine tracks and what the
 * runtime says of each container now: every container's state (waiting / running / terminated
 * with its reason), the phase, the conditions, and kubectl's one-word STATUS column.
 */
import type {
  ContainerRecord, PodCondition, PodContainerState, PodContainerStatus, PodPhase, PodStatus, PodSummary, QosClass,
} from '../../protocol';
import type { ContainerTrack, PodTrack } from './record';

export type RecordOf = (id: string | null) => ContainerRecord | null;

/** How a finished container ended, in the kubelet's words. */
export function terminatedState(record: ContainerRecord): PodContainerState {
  const exitCode = record.exitCode ?? 137;
  const reason = record.oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
  return { terminated: { exitCode, reason, startedAt: record.startedAt, finishedAt: record.finishedAt } };
}

export function containerStatus(track: ContainerTrack, image: string, recordOf: RecordOf, initializing: boolean): PodContainerStatus {
  const record = recordOf(track.current);
  let state: PodContainerState;
  if (track.waiting) state = { waiting: { ...track.waiting } };
  else if (track.restartAt) state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${track.name}` } };
  else if (!record) state = { waiting: { reason: initializing ? 'PodInitializing' : 'ContainerCreating' } };
  else if (record.status === 'running' || record.status === 'paused') state = { running: { startedAt: record.startedAt ?? record.createdAt } };
  else if (record.status === 'stopped') state = terminatedState(record);
  else state = { waiting: { reason: 'ContainerCreating' } };
  const running = state.running !== undefined;
  return {
    name: track.name,
    image,
    containerID: track.current,
    ready: running && track.ready,
    started: running && track.started,
    restartCount: track.restartCount,
    state,
    lastState: track.lastState,
  };
}

export function podStatus(track: PodTrack, qosClass: QosClass, hostIP: string, recordOf: RecordOf, sandboxUp: boolean): PodStatus {
  const images = new Map([...(track.pod.spec?.initContainers ?? []), ...(track.pod.spec?.containers ?? [])].map((c) => [c.name, c.image ?? '']));
  const inits = track.containers.filter((c) => c.init);
  const apps = track.containers.filter((c) => !c.init);
  const initialized = inits.every((c) => c.done);
  const initStatuses = inits.map((c) => containerStatus(c, images.get(c.name)!, recordOf, false));
  const appStatuses = apps.map((c) => containerStatus(c, images.get(c.name)!, recordOf, !initialized));
  const phase = podPhase(track, initialized, appStatuses);
  const now = new Date().toISOString();
  const allReady = appStatuses.every((s) => s.ready);
  const condition = (type: PodCondition['type'], ok: boolean, reason?: string): PodCondition => ({
    type, status: ok ? 'True' : 'False', lastTransitionTime: now, ...(!ok && reason ? { reason } : {}),
  });
  const conditions = [
    condition('PodReadyToStartContainers', sandboxUp),
    condition('Initialized', initialized, 'ContainersNotInitialized'),
    condition('Ready', allReady && phase === 'Running', phase === 'Succeeded' || phase === 'Failed' ? 'PodCompleted' : 'ContainersNotReady'),
    condition('ContainersReady', allReady && phase === 'Running', phase === 'Succeeded' || phase === 'Failed' ? 'PodCompleted' : 'ContainersNotReady'),
    condition('PodScheduled', true),
  ];
  return {
    phase,
    conditions,
    qosClass,
    podIP: track.podIP,
    hostIP,
    startTime: track.createdAt,
    ...(track.failedReason ? { reason: 'Failed', message: track.failedReason } : {}),
    initContainerStatuses: initStatuses,
    containerStatuses: appStatuses,
  };
}

function podPhase(track: PodTrack, initialized: boolean, apps: PodContainerStatus[]): PodPhase {
  if (track.failedReason) return 'Failed';
  if (!initialized) return 'Pending';
  const policy = track.pod.spec?.restartPolicy ?? 'Always';
  const terminated = apps.filter((s) => s.state.terminated !== undefined);
  const final = apps.every((s) => s.state.terminated !== undefined && (policy === 'Never' || (policy === 'OnFailure' && s.state.terminated.exitCode === 0)));
  if (final && apps.length > 0) return terminated.every((s) => s.state.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
  const created = apps.every((s) => s.containerID !== null || s.restartCount > 0);
  return created && apps.some((s) => s.state.running || s.state.waiting?.reason === 'CrashLoopBackOff' || s.state.terminated) ? 'Running' : 'Pending';
}

/** kubectl's STATUS column. */
export function statusWord(track: PodTrack, status: PodStatus): string {
  if (track.terminating && !track.failedReason) return 'Terminating';
  const inits = status.initContainerStatuses;
  const pendingInit = inits.findIndex((s) => !(s.state.terminated?.exitCode === 0));
  if (pendingInit >= 0 && status.phase !== 'Failed' || (status.phase === 'Failed' && pendingInit >= 0)) {
    const s = inits[pendingInit]!;
    const reason = s.state.waiting?.reason ?? (s.state.terminated && s.state.terminated.exitCode !== 0 ? s.state.terminated.reason : undefined);
    if (reason && reason !== 'PodInitializing' && reason !== 'ContainerCreating') return `Init:${reason}`;
    return `Init:${pendingInit}/${inits.length}`;
  }
  let word: string = status.phase;
  for (const s of status.containerStatuses) {
    if (s.state.waiting && s.state.waiting.reason !== 'ContainerCreating' && s.state.waiting.reason !== 'PodInitializing') return s.state.waiting.reason;
    if (s.state.waiting) word = s.state.waiting.reason;
    else if (s.state.terminated && status.phase !== 'Running') word = s.state.terminated.reason;
  }
  return word;
}

export function podSummary(track: PodTrack, status: PodStatus, node: string): PodSummary {
  const apps = status.containerStatuses;
  const restarted = track.containers.filter((c) => !c.init && c.lastState.terminated?.finishedAt);
  const lastRestartAt = restarted.map((c) => c.lastState.terminated!.finishedAt!).sort().at(-1) ?? null;
  return {
    name: track.name,
    namespace: track.namespace,
    ready: `${apps.filter((s) => s.ready).length}/${apps.length}`,
    status: statusWord(track, status),
    restarts: apps.reduce((total, s) => total + s.restartCount, 0),
    lastRestartAt,
    createdAt: track.createdAt,
    ip: status.podIP,
    node,
    qosClass: status.qosClass,
  };
}
