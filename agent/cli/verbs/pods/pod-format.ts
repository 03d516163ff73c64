/*
 * Pods as kubectl prints them: `get pods` (NAME READY STATUS RESTARTS AGE, -o wide adds IP, NODE
 * and QOS), `-o yaml|json` (the Pod with its status), and `describe pod`.
 */
import { stringify } from 'yaml';
import type { PodContainerState, PodContainerStatus, PodRecord, PodSummary } from '../../../protocol';
import { table } from '../../format';

/** kubectl's short ages: 42s, 5m, 3h, 2d. */
export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '<none>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function podTable(pods: PodSummary[], wide: boolean, now = Date.now()): string {
  if (pods.length === 0) return 'No resources found in default namespace.\n';
  const header = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(wide ? ['IP', 'NODE', 'QOS'] : [])];
  const rows = pods.map((pod) => [
    pod.name, pod.ready, pod.status,
    pod.lastRestartAt && pod.restarts > 0 ? `${pod.restarts} (${age(pod.lastRestartAt, now)} ago)` : String(pod.restarts),
    age(pod.createdAt, now),
    ...(wide ? [pod.ip ?? '<none>', pod.node, pod.qosClass] : []),
  ]);
  return table(header, rows);
}

/** The Pod as `kubectl get pod -o yaml` shows it: apiVersion, kind, metadata (with uid), spec, status. */
export function podObject(pod: PodRecord): Record<string, unknown> {
  const manifest = pod.manifest as { metadata?: Record<string, unknown>; spec?: unknown };
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { ...manifest.metadata, namespace: pod.namespace, uid: pod.uid, creationTimestamp: pod.status.startTime },
    spec: { ...(manifest.spec as object), nodeName: pod.node },
    status: pod.status,
  };
}

export function podYaml(pods: PodRecord[]): string {
  if (pods.length === 1) return stringify(podObject(pods[0]!));
  return stringify({ apiVersion: 'v1', kind: 'List', items: pods.map(podObject) });
}

function stateLines(label: string, state: PodContainerState): string[] {
  if (state.running) return [`    ${label}:          Running`, `      Started:      ${state.running.startedAt}`];
  if (state.waiting) return [`    ${label}:          Waiting`, `      Reason:       ${state.waiting.reason}`, ...(state.waiting.message ? [`      Message:      ${state.waiting.message}`] : [])];
  if (state.terminated) {
    return [
      `    ${label}:          Terminated`, `      Reason:       ${state.terminated.reason}`, `      Exit Code:    ${state.terminated.exitCode}`,
      `      Started:      ${state.terminated.startedAt ?? '<unknown>'}`, `      Finished:     ${state.terminated.finishedAt ?? '<unknown>'}`,
    ];
  }
  return [];
}

function containerLines(status: PodContainerStatus): string[] {
  const label = (text: string): string => text.padEnd(15);
  return [
    `  ${status.name}:`,
    `    Container ID:   ${status.containerID ?? ''}`,
    `    Image:          ${status.image}`,
    ...stateLines('State', status.state).map((line) => line.replace('State:          ', `${label('State:')}`)),
    ...(status.lastState.terminated ? stateLines('Last State', status.lastState).map((line) => line.replace('Last State:          ', label('Last State:'))) : []),
    `    Ready:          ${status.ready ? 'True' : 'False'}`,
    `    Restart Count:  ${status.restartCount}`,
  ];
}

export function describePod(pod: PodRecord, now = Date.now()): string {
  const manifest = pod.manifest as { metadata?: { labels?: Record<string, string> } };
  const labels = Object.entries(manifest.metadata?.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  const lines = [
    `Name:             ${pod.name}`,
    `Namespace:        ${pod.namespace}`,
    `Node:             ${pod.node}/${pod.status.hostIP}`,
    `Start Time:       ${pod.status.startTime}`,
    `Labels:           ${labels.length ? labels.join('\n                  ') : '<none>'}`,
    `Status:           ${pod.status.phase}`,
    ...(pod.status.reason ? [`Reason:           ${pod.status.reason}`, `Message:          ${pod.status.message ?? ''}`] : []),
    `IP:               ${pod.status.podIP ?? ''}`,
    `UID:              ${pod.uid}`,
    `Source:           ${pod.source}`,
    `Cgroup:           ${pod.cgroupParent}`,
    `Sandbox:          ${pod.sandbox ? `${pod.sandbox.name} (pid ${pod.sandbox.pid ?? '-'})` : '<none>'}`,
  ];
  if (pod.status.initContainerStatuses.length) lines.push('Init Containers:', ...pod.status.initContainerStatuses.flatMap(containerLines));
  lines.push('Containers:', ...pod.status.containerStatuses.flatMap(containerLines));
  lines.push('Conditions:', '  Type                        Status', ...pod.status.conditions.map((c) => `  ${c.type.padEnd(28)}${c.status}`));
  lines.push(`QoS Class:        ${pod.status.qosClass}`);
  if (pod.events.length === 0) lines.push('Events:           <none>');
  else {
    lines.push('Events:');
    const rows = pod.events.map((event) => [
      event.type, event.reason, event.count > 1 ? `${age(event.lastAt, now)} (x${event.count} over ${age(event.firstAt, now)})` : age(event.lastAt, now),
      event.from || 'kubelet', event.message,
    ]);
    lines.push(...table(['Type', 'Reason', 'Age', 'From', 'Message'], rows).trimEnd().split('\n').map((line) => `  ${line}`));
  }
  return lines.join('\n') + '\n';
}
