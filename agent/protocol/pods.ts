/*
 * Pods as the agent runs them from Pod YAML (agent/pods/): the kubelet's node-side job on one
 * machine. The records mirror the parts of a core/v1 Pod's status that kubectl shows: phase,
 * conditions, container states with restart counts and last states, and the events of describe.
 */

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export interface PodContainerState {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason: string; startedAt: string | null; finishedAt: string | null; message?: string };
}

export interface PodContainerStatus {
  name: string;
  image: string;
  /** The runtime container now standing for it (`containers-lab inspect` takes this). */
  containerID: string | null;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: PodContainerState;
  lastState: PodContainerState;
}

export interface PodCondition {
  type: 'PodReadyToStartContainers' | 'Initialized' | 'Ready' | 'ContainersReady' | 'PodScheduled';
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason?: string;
}

export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  /** "spec.containers{app}" or "" for the pod itself, as describe prints it. */
  from: string;
  message: string;
  firstAt: string;
  lastAt: string;
  count: number;
}

export interface PodStatus {
  phase: PodPhase;
  conditions: PodCondition[];
  qosClass: QosClass;
  podIP: string | null;
  hostIP: string;
  startTime: string;
  reason?: string;
  message?: string;
  initContainerStatuses: PodContainerStatus[];
  containerStatuses: PodContainerStatus[];
}

export interface PodRecord {
  name: string;
  namespace: string;
  uid: string;
  /** "api" for apply, or the static pod file it came from. */
  source: string;
  node: string;
  /** The Pod as applied (metadata, spec), with the status below. */
  manifest: Record<string, unknown>;
  status: PodStatus;
  events: PodEvent[];
  /** The pod's cgroup under the agent's own: kubepods[/burstable|/besteffort]/pod<uid>. */
  cgroupParent: string;
  sandbox: { id: string; name: string; pid: number | null } | null;
}

/** One row of `get pods`. */
export interface PodSummary {
  name: string;
  namespace: string;
  /** "1/2" */
  ready: string;
  /** kubectl's STATUS column: Running, Pending, Init:0/2, CrashLoopBackOff, Completed, Error, OOMKilled, Terminating. */
  status: string;
  restarts: number;
  lastRestartAt: string | null;
  createdAt: string;
  ip: string | null;
  node: string;
  qosClass: QosClass;
}

export interface PodMethods {
  /** Creates the pod a Pod YAML document describes (`file` names it in error messages). */
  'pod.apply': [{ yaml: string; file?: string }, { name: string; action: 'created' | 'unchanged' }];
  /** Deletes a pod (preStop hooks, TERM, the grace period, KILL), by name or by its YAML. */
  'pod.delete': [{ name?: string; yaml?: string; file?: string; gracePeriodSeconds?: number }, { name: string }];
  'pod.list': [Record<string, never>, PodSummary[]];
  'pod.get': [{ name: string }, PodRecord];
  /** The runtime container behind a pod's container (default: the first app container), or `previous`'s. */
  'pod.resolve': [{ name: string; container?: string; previous?: boolean }, { id: string; container: string; defaulted: string[] | null }];
}

export type PodMethod = keyof PodMethods;

export interface PodNotifications {
  'pod.changed': { name: string; summary: PodSummary };
  'pod.removed': { name: string };
}
