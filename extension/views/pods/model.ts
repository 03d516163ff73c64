/*
 * What the Pods view shows, computed from the agent's pod records — without 'vscode', so the
 * rules are unit-tested in plain Node and the tree nodes only dress them up.
 *
 * A pod is what a kubelet makes of one Pod YAML: a sandbox (a small "pause" container holding the
 * network, IPC and UTS namespaces — and PID with shareProcessNamespace) and the pod's containers,
 * each a runtime container that joins the sandbox's namespaces. Init containers run first, in
 * order, each to completion; then the app containers start. So a pod node unfolds into its init
 * containers, its app containers (state, restarts, the last state a restart left behind) and the
 * sandbox's namespaces, each with the pod's containers that are in it: two processes share a
 * namespace exactly when /proc/<pid>/ns/<type> has the same inode.
 */
import type { ContainerRecord, NamespaceType, PodContainerState, PodContainerStatus, PodRecord, PodSummary } from '../../../agent/protocol';
import { NAMESPACE_TYPES } from '../../../agent/protocol';
import type { Row } from '../containers/model';

/** Codicon and theme color for kubectl's STATUS column. */
export function podStatusIcon(status: string): { icon: string; color?: string } {
  if (status === 'Running') return { icon: 'vm-running', color: 'charts.green' };
  if (status === 'Completed') return { icon: 'pass', color: 'charts.green' };
  if (status === 'Terminating') return { icon: 'loading~spin' };
  if (status === 'Pending' || status.startsWith('Init:') || status === 'PodInitializing' || status === 'ContainerCreating') return { icon: 'loading~spin' };
  return { icon: 'error', color: 'charts.red' };
}

/** "Running · 2/2 ready · BestEffort · 10.77.0.5" (the phase as kubectl's STATUS column says it). */
export function podDescription(pod: Pick<PodSummary, 'status' | 'ready' | 'qosClass' | 'ip' | 'restarts'>): string {
  const parts = [pod.status, `${pod.ready} ready`, pod.qosClass];
  if (pod.restarts > 0) parts.push(`${pod.restarts} restart${pod.restarts === 1 ? '' : 's'}`);
  if (pod.ip) parts.push(pod.ip);
  return parts.join(' · ');
}

export function podTooltip(pod: PodSummary): string {
  return [
    `pod/${pod.name} (namespace ${pod.namespace})`,
    `status: ${pod.status}`,
    `ready: ${pod.ready} containers`,
    `restarts: ${pod.restarts}${pod.lastRestartAt ? `, last at ${pod.lastRestartAt}` : ''}`,
    `QoS class: ${pod.qosClass}`,
    `pod IP: ${pod.ip ?? '<none>'}`,
    `node: ${pod.node}`,
    `created: ${pod.createdAt}`,
  ].join('\n');
}

/** Pods in a stable order: by name. */
export function sortPods(pods: readonly PodSummary[]): PodSummary[] {
  return [...pods].sort((a, b) => a.name.localeCompare(b.name));
}

/** "Running", "Waiting: CrashLoopBackOff", "Terminated: Completed (exit 0)", or "—" for no state yet. */
export function stateText(state: PodContainerState): string {
  if (state.running) return 'Running';
  if (state.waiting) return `Waiting: ${state.waiting.reason}`;
  if (state.terminated) return `Terminated: ${state.terminated.reason} (exit ${state.terminated.exitCode})`;
  return '—';
}

function stateDetails(state: PodContainerState): string | undefined {
  if (state.running) return `started ${state.running.startedAt}`;
  if (state.waiting) return state.waiting.message;
  if (state.terminated) return [state.terminated.finishedAt ? `finished ${state.terminated.finishedAt}` : undefined, state.terminated.message].filter(Boolean).join(' · ') || undefined;
  return undefined;
}

export type PodContainerKind = 'init' | 'app';

/** One of the pod's containers as the tree lists it: init containers first, in the spec's order. */
export interface PodContainerEntry {
  kind: PodContainerKind;
  status: PodContainerStatus;
}

export function podContainers(record: Pick<PodRecord, 'status'>): PodContainerEntry[] {
  return [
    ...record.status.initContainerStatuses.map((status) => ({ kind: 'init' as const, status })),
    ...record.status.containerStatuses.map((status) => ({ kind: 'app' as const, status })),
  ];
}

/** The container node's label: "init: setup" or "app". */
export function podContainerLabel(entry: PodContainerEntry): string {
  return entry.kind === 'init' ? `init: ${entry.status.name}` : entry.status.name;
}

/** "Running · ready · 0 restarts · last: Error (exit 1)" */
export function podContainerDescription(entry: PodContainerEntry): string {
  const { status } = entry;
  const parts = [stateText(status.state)];
  if (entry.kind === 'app') parts.push(status.ready ? 'ready' : 'not ready');
  parts.push(`${status.restartCount} restart${status.restartCount === 1 ? '' : 's'}`);
  if (status.lastState.terminated) parts.push(`last: ${status.lastState.terminated.reason} (exit ${status.lastState.terminated.exitCode})`);
  return parts.join(' · ');
}

/** Codicon for a pod container's current state. */
export function podContainerIcon(status: PodContainerStatus): { icon: string; color?: string } {
  if (status.state.running) return status.ready || !status.started ? { icon: 'vm-running', color: 'charts.green' } : { icon: 'vm-running', color: 'charts.yellow' };
  if (status.state.terminated) return status.state.terminated.exitCode === 0 ? { icon: 'pass', color: 'charts.green' } : { icon: 'error', color: 'charts.red' };
  if (status.state.waiting && /BackOff|Err|Invalid/.test(status.state.waiting.reason)) return { icon: 'warning', color: 'charts.orange' };
  return { icon: 'loading~spin' };
}

/**
 * The rows under a pod's container: its state and last state (kubectl describe's "State" and
 * "Last State"), restart count, image and the runtime container standing for it now; with its
 * runtime record, its namespaces marked as the pod's (the sandbox's inode) or its own.
 */
export function podContainerRows(entry: PodContainerEntry, own: Pick<ContainerRecord, 'namespaces' | 'sharedWithHost'> | undefined, sandbox: Pick<ContainerRecord, 'namespaces'> | undefined): Row[] {
  const { status } = entry;
  const rows: Row[] = [
    { key: 'state', label: `State: ${stateText(status.state)}`, description: stateDetails(status.state), icon: podContainerIcon(status).icon },
  ];
  if (status.lastState.terminated || status.lastState.waiting || status.lastState.running) {
    rows.push({ key: 'last', label: `Last State: ${stateText(status.lastState)}`, description: stateDetails(status.lastState), icon: 'history' });
  }
  rows.push(
    { key: 'restarts', label: `Restart Count: ${status.restartCount}`, icon: 'debug-restart' },
    { key: 'image', label: `Image: ${status.image}`, icon: 'package' },
    {
      key: 'container', label: `Container: ${status.containerID ?? '<none yet>'}`, icon: 'vm',
      tooltip: 'The runtime container standing for it now (`containers-lab inspect` takes this); each restart makes a new one.',
    },
  );
  if (own) {
    rows.push({
      key: 'namespaces', label: 'Namespaces', icon: 'symbol-namespace',
      description: sandbox ? `${sharedWithPod(own, sandbox).length} the pod's, the rest its own` : undefined,
      children: namespaceRowsAgainstSandbox(own, sandbox),
    });
  }
  return rows;
}

/** The namespace types whose inode a container has in common with the sandbox. */
export function sharedWithPod(own: Pick<ContainerRecord, 'namespaces'>, sandbox: Pick<ContainerRecord, 'namespaces'>): NamespaceType[] {
  return NAMESPACE_TYPES.filter((type) => own.namespaces[type] !== undefined && own.namespaces[type] === sandbox.namespaces[type]);
}

function namespaceRowsAgainstSandbox(own: Pick<ContainerRecord, 'namespaces' | 'sharedWithHost'>, sandbox: Pick<ContainerRecord, 'namespaces'> | undefined): Row[] {
  return NAMESPACE_TYPES.map((type) => {
    const inode = own.namespaces[type];
    const description = inode === undefined ? 'not running'
      : own.sharedWithHost.includes(type) ? 'shared with host'
        : sandbox && sandbox.namespaces[type] === inode ? "the pod's (sandbox's)" : 'own';
    return { key: type, label: `${type}: ${inode ?? '–'}`, description, icon: 'symbol-namespace', tooltip: `/proc/<pid>/ns/${type} → ${type}:[${inode ?? '?'}]` };
  });
}

/** What the sandbox holds for the pod's containers, one row per namespace type, with who is in it. */
export interface SandboxNamespaceRow extends Row {
  type: NamespaceType;
  inode: number | null;
  /** The pod's containers (by name) whose process is in this very namespace. */
  members: string[];
}

/**
 * The sandbox's namespaces: "net: 4026532290" described by the containers in it ("shared by one,
 * two") — the pod's net, ipc and uts are the sandbox's; mnt, and pid unless shareProcessNamespace,
 * are each container's own, so those rows list no member.
 */
export function sandboxNamespaceRows(sandbox: Pick<ContainerRecord, 'namespaces' | 'sharedWithHost'>, members: ReadonlyMap<string, Pick<ContainerRecord, 'namespaces'>>): SandboxNamespaceRow[] {
  return NAMESPACE_TYPES.map((type) => {
    const inode = sandbox.namespaces[type] ?? null;
    const inIt = inode === null ? [] : [...members.entries()].filter(([, record]) => record.namespaces[type] === inode).map(([name]) => name);
    const host = sandbox.sharedWithHost.includes(type);
    const description = host ? 'shared with host' : inIt.length > 0 ? `shared by ${inIt.join(', ')}` : 'the sandbox only';
    return {
      key: type, type, inode, members: inIt,
      label: `${type}: ${inode ?? '–'}`,
      description,
      icon: inIt.length > 0 ? 'link' : 'symbol-namespace',
      tooltip: `/proc/<sandbox pid>/ns/${type} → ${type}:[${inode ?? '?'}]${inIt.length > 0 ? `\nThe same inode in: ${inIt.join(', ')}` : ''}`,
    };
  });
}
