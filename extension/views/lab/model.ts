/*
 * The Lab view: which host the lab runs on and what it is — the facts that decide what the
 * learner will see (a kernel version, cgroup v1, v2 or a hybrid of both, the agent's version and
 * whether the busybox image is unpacked). Pure rows from the connection's state and agent.info.
 */
import type { AgentInfo, ContainerStatus, NodesView } from '../../../agent/protocol';
import { hasNodes, peerRows, thisNodeRow } from '../networks/nodes-model';
import type { ConnectionState, LabTarget } from '../../connection/types';

export interface LabRow {
  key: string;
  /** "Target", "State", … — the e2e tests find rows by these labels. */
  label: string;
  description: string;
  tooltip?: string;
  icon: string;
  /** A command the row runs when clicked. */
  command?: string;
}

const STATE_ICONS: Record<ConnectionState, string> = {
  disconnected: 'debug-disconnect',
  connecting: 'loading~spin',
  bootstrapping: 'loading~spin',
  connected: 'pass',
  reconnecting: 'sync~spin',
  failed: 'error',
};

/** "cgroup v2", "cgroup v1", "cgroup v1 + v2 (hybrid)". */
export function cgroupText(version: AgentInfo['cgroupVersion']): string {
  return version === 'hybrid' ? 'v1 + v2 (hybrid)' : `v${version}`;
}

/**
 * A state detail without the target's label, which the Target row (and the connect toast's
 * title) already show: "connected — root@lab:22 · agent 0.1.0 via streamlocal" was cut off in a
 * narrow sidebar before it said anything new.
 */
export function detailBesidesTarget(detail: string | undefined, targetLabel: string | undefined): string | undefined {
  if (!detail || !targetLabel) return detail;
  if (detail === targetLabel) return undefined;
  const prefix = `${targetLabel} · `;
  return detail.startsWith(prefix) ? detail.slice(prefix.length) : detail;
}

export function stateText(state: ConnectionState, detail?: string): string {
  return detail ? `${state} — ${detail}` : state;
}

/** Nothing while disconnected with no target (the welcome content shows then). */
export function labRows(target: LabTarget | null, state: ConnectionState, detail: string | undefined, info: AgentInfo | null, nodes: NodesView | null = null): LabRow[] {
  if (state === 'disconnected' && !target) return [];
  const rows: LabRow[] = [
    { key: 'target', label: 'Target', description: target ? target.label : 'none', tooltip: target ? `${target.kind}: ${target.label}` : undefined, icon: target?.kind === 'local' ? 'vm' : 'remote' },
    {
      key: 'state',
      label: 'State',
      description: stateText(state, detailBesidesTarget(detail, target?.label)),
      tooltip: detail,
      icon: STATE_ICONS[state],
      command: state === 'failed' || state === 'disconnected' ? 'containersLab.connect' : undefined,
    },
  ];
  if (info) {
    rows.push(
      { key: 'host', label: 'Host', description: `${info.hostname} (${info.arch})`, icon: 'server' },
      { key: 'kernel', label: 'Kernel', description: info.kernel, icon: 'chip' },
      { key: 'cgroup', label: 'Cgroup', description: cgroupText(info.cgroupVersion), icon: 'symbol-namespace' },
      { key: 'agent', label: 'Agent', description: info.version, tooltip: `state in ${info.stateRoot}`, icon: 'package' },
      {
        key: 'image',
        label: 'Busybox image',
        description: info.image.ready ? info.image.path : 'not unpacked yet (the first start unpacks it)',
        icon: info.image.ready ? 'archive' : 'cloud-download',
      },
    );
  }
  // The node list: this node (subnet, mode) and every peer it knows, with the path to it.
  if (info && hasNodes(nodes)) {
    rows.push(...[thisNodeRow(nodes), ...peerRows(nodes).map((row) => ({ ...row, label: `Node ${row.label}` }))]);
  }
  return rows;
}

/**
 * agent.info is read once per connection; the one fact in it that a container start changes is
 * the busybox image (the first start unpacks it). So the view asks again only when it still says
 * "not unpacked" and a container has been created — once, not on every notification.
 */
export function infoIsStale(info: AgentInfo | null, status: ContainerStatus): boolean {
  return info !== null && !info.image.ready && (status === 'created' || status === 'running');
}
