/*
 * What the Containers view shows, computed from the agent's container record — without 'vscode',
 * so the rules are unit-tested in plain Node and the tree nodes only dress them up.
 *
 * A container is nothing but kernel objects, and each section of the tree is one kind of them:
 *   Processes   the container's processes, as a tree by parent PID. Inside a new PID namespace the
 *               first process sees itself as PID 1; the host sees a different PID. Both are shown.
 *   Namespaces  one row per namespace type with its inode number: two processes are in the same
 *               namespace exactly when /proc/<pid>/ns/<type> has the same inode. A type the
 *               container did not get its own of is "shared with host".
 *   Cgroup      the limits the kernel enforces (memory.max, cpu.max, pids.max or their v1 files)
 *               next to what the container is using right now.
 *   Filesystem  the overlay: read-only lower layers, the writable upper layer, and the mounts the
 *               container sees (its /proc/<pid>/mountinfo).
 *   Network     the container's end of a veth pair (eth0), its address, the host end and the bridge.
 */
import type { CgroupRecord, ContainerRecord, ContainerStatus, ContainerSummary, NamespaceType, NetworkRecord, ProcessRecord } from '../../../agent/protocol';
import { NAMESPACE_TYPES } from '../../../agent/protocol';

/** A row of a section: a label, an optional dimmer description and tooltip, and a codicon. */
export interface Row {
  /** Stable within its section: becomes part of the tree item id, so expansion survives refreshes. */
  key: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon?: string;
  children?: Row[];
}

// --- containers --------------------------------------------------------------------------------

/** Codicon and theme color for a container status. */
export function statusIcon(status: ContainerStatus): { icon: string; color?: string } {
  switch (status) {
    case 'running':
      return { icon: 'vm-running', color: 'charts.green' };
    case 'paused':
      return { icon: 'debug-pause', color: 'charts.yellow' };
    case 'creating':
      return { icon: 'loading~spin' };
    case 'created':
      return { icon: 'vm', color: 'charts.blue' };
    case 'stopped':
      return { icon: 'vm-outline', color: 'disabledForeground' };
  }
}

/** The container node's label is its name (what the user typed or what was generated). */
export function containerLabel(summary: Pick<ContainerSummary, 'name'>): string {
  return summary.name;
}

/** "running · 10.77.0.2" or "stopped (exit 137)". */
export function containerDescription(summary: Pick<ContainerSummary, 'status' | 'ip' | 'exitCode'>): string {
  const parts: string[] = [summary.status === 'stopped' && summary.exitCode !== null ? `stopped (exit ${summary.exitCode})` : summary.status];
  if (summary.ip && summary.status !== 'stopped') parts.push(summary.ip);
  return parts.join(' · ');
}

export function containerTooltip(summary: ContainerSummary): string {
  return [
    `${summary.name} (${summary.id})`,
    `status: ${summary.status}${summary.exitCode !== null ? `, exit code ${summary.exitCode}` : ''}`,
    `image: ${summary.image}`,
    `command: ${summary.command}`,
    summary.pid !== null ? `host PID: ${summary.pid}` : undefined,
    summary.ip ? `IP: ${summary.ip}` : undefined,
    `created: ${summary.createdAt}`,
  ]
    .filter((line): line is string => line !== undefined)
    .join('\n');
}

/** The summary the list would show for a record (used when a fresh record arrives by inspect). */
export function summaryFromRecord(record: ContainerRecord): ContainerSummary {
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    pid: record.pid,
    ip: record.network.ip,
    image: record.image,
    command: (record.config.process?.args ?? []).join(' '),
    createdAt: record.createdAt,
    exitCode: record.exitCode,
  };
}

/** Containers in a stable order: oldest first, so a new one appears at the bottom. */
export function sortSummaries(summaries: ContainerSummary[]): ContainerSummary[] {
  return [...summaries].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
}

// --- processes ---------------------------------------------------------------------------------

export interface ProcessTreeNode {
  process: ProcessRecord;
  children: ProcessTreeNode[];
}

/**
 * Arranges processes by parent PID. A process whose parent is not among them (the container's
 * first process, whose parent is the agent on the host) is a root. Children are sorted by PID.
 */
export function buildProcessTree(processes: ProcessRecord[]): ProcessTreeNode[] {
  const nodes = new Map<number, ProcessTreeNode>();
  for (const process of processes) nodes.set(process.pid, { process, children: [] });
  const roots: ProcessTreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = nodes.get(node.process.ppid);
    // A process is never its own ancestor; the check only guards against a corrupt record.
    if (parent && parent !== node && !isAncestor(node, parent, nodes)) parent.children.push(node);
    else roots.push(node);
  }
  const byPid = (a: ProcessTreeNode, b: ProcessTreeNode): number => a.process.pid - b.process.pid;
  const sort = (list: ProcessTreeNode[]): void => {
    list.sort(byPid);
    for (const node of list) sort(node.children);
  };
  sort(roots);
  return roots;
}

/** True when `candidate` is already above `node`'s would-be parent chain (a cycle). */
function isAncestor(node: ProcessTreeNode, parent: ProcessTreeNode, nodes: Map<number, ProcessTreeNode>): boolean {
  const seen = new Set<number>();
  for (let current: ProcessTreeNode | undefined = parent; current; current = nodes.get(current.process.ppid)) {
    if (current === node) return true;
    if (seen.has(current.process.pid)) return false;
    seen.add(current.process.pid);
  }
  return false;
}

/** "sh" with "PID 1 (host 4242)" — the PID namespace made visible. */
export function processLabel(process: ProcessRecord): string {
  return process.command;
}

export function processDescription(process: ProcessRecord): string {
  return process.nspid === process.pid ? `PID ${process.pid} · ${process.state}` : `PID ${process.nspid} (host ${process.pid}) · ${process.state}`;
}

// --- namespaces --------------------------------------------------------------------------------

export interface NamespaceRow {
  type: NamespaceType;
  inode: number | null;
  shared: boolean;
  /** "net: 4026532290" — the same number `readlink /proc/<pid>/ns/net` shows as net:[4026532290] — and "shared with host" after it when it is the host's. */
  label: string;
  description: string;
}

/** One row per namespace type, in the kernel's alphabetical order. */
export function namespaceRows(record: Pick<ContainerRecord, 'namespaces' | 'sharedWithHost'>): NamespaceRow[] {
  return NAMESPACE_TYPES.map((type) => {
    const inode = record.namespaces[type] ?? null;
    const shared = record.sharedWithHost.includes(type);
    return {
      type,
      inode,
      shared,
      // in the label, not the description: VS Code dims descriptions below 4.5:1 in light themes
      label: shared ? `${type}: ${inode ?? '–'} shared with host` : `${type}: ${inode ?? '–'}`,
      description: shared ? '' : inode === null ? 'not running' : 'own',
    };
  });
}

// --- cgroup ------------------------------------------------------------------------------------

/** 67108864 → "64 MiB", 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}

/** 1_234_567_890 ns → "1.23 s"; 12_000_000 ns → "12 ms". */
export function formatCpuTime(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${Math.round(ns / 1e6)} ms`;
  return `${Math.round(ns / 1e3)} µs`;
}

/** Memory, CPU and PIDs rows: limit and live usage side by side, plus where the cgroup lives. */
export function cgroupRows(cgroup: CgroupRecord | null): Row[] {
  if (!cgroup) return [{ key: 'none', label: 'no cgroup', description: 'the container is not running', icon: 'circle-slash' }];
  const { limits, usage } = cgroup;
  const memoryLimit = limits.memoryBytes === null ? 'unlimited' : formatBytes(limits.memoryBytes);
  const cpuLimit =
    limits.cpuQuotaUs === null
      ? 'unlimited'
      : `${trimNumber(limits.cpuQuotaUs / limits.cpuPeriodUs)} CPU (${limits.cpuQuotaUs}/${limits.cpuPeriodUs} µs)`;
  const pidsLimit = limits.pids === null ? 'unlimited' : String(limits.pids);
  const rows: Row[] = [
    {
      key: 'memory',
      label: `memory: ${usage ? formatBytes(usage.memoryCurrentBytes) : '–'} / ${memoryLimit}`,
      description: usage ? `peak ${formatBytes(usage.memoryPeakBytes)}${usage.oomKills > 0 ? ` · ${usage.oomKills} OOM kill(s)` : ''}` : undefined,
      tooltip: cgroup.files.memory,
      icon: 'server',
    },
    {
      key: 'cpu',
      label: `cpu: ${cpuLimit}`,
      description: usage ? `used ${formatCpuTime(usage.cpuUsageNs)}` : undefined,
      tooltip: cgroup.files.cpu,
      icon: 'pulse',
    },
    {
      key: 'pids',
      label: `pids: ${usage ? usage.pidsCurrent : '–'} / ${pidsLimit}`,
      tooltip: cgroup.files.pids,
      icon: 'list-tree',
    },
  ];
  if (usage?.frozen) rows.push({ key: 'frozen', label: 'frozen', description: 'the freezer holds every process', icon: 'debug-pause' });
  rows.push({
    key: 'path',
    label: `cgroup v${cgroup.version}: ${cgroup.path}`,
    tooltip: Object.entries(cgroup.directories)
      .map(([controller, directory]) => `${controller}: ${directory}`)
      .join('\n'),
    icon: 'folder',
  });
  return rows;
}

function trimNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0+$/, '');
}

// --- filesystem --------------------------------------------------------------------------------

/** The overlay layers, then the container's mounts (target, type, source). */
export function filesystemRows(record: Pick<ContainerRecord, 'rootfs' | 'mounts'>): Row[] {
  const rows: Row[] = [];
  if (record.rootfs) {
    const { lower, upper, work, merged } = record.rootfs;
    rows.push({
      key: 'overlay',
      label: 'overlay',
      description: merged,
      tooltip: 'The root filesystem: read-only lower layers under one writable upper layer, merged into one tree.',
      icon: 'layers',
      children: [
        ...lower.map((path, index) => ({ key: `lower${index}`, label: `lower: ${path}`, description: 'read-only', icon: 'lock' })),
        { key: 'upper', label: `upper: ${upper}`, description: 'writable: every change lands here', icon: 'edit' },
        { key: 'work', label: `work: ${work}`, description: 'overlayfs scratch space', icon: 'tools' },
        { key: 'merged', label: `merged: ${merged}`, description: 'the container\'s /', icon: 'root-folder' },
      ],
    });
  } else {
    rows.push({ key: 'overlay', label: 'no own root filesystem', description: 'shares the host\'s mount namespace', icon: 'circle-slash' });
  }
  rows.push({
    key: 'mounts',
    label: `mounts (${record.mounts.length})`,
    icon: 'files',
    children: record.mounts.map((mount) => ({
      key: `mount${mount.mountId}`,
      label: mount.target,
      description: `${mount.fstype} ${mount.source}`,
      tooltip: `mount ${mount.mountId} (parent ${mount.parentId})\nsource: ${mount.source}\nroot: ${mount.root}\noptions: ${mount.options}`,
      icon: 'file-symlink-directory',
    })),
  });
  return rows;
}

// --- network -----------------------------------------------------------------------------------

/** eth0 with its address, the veth's host end and the bridge; or why there is no network. */
export function networkRows(network: NetworkRecord): Row[] {
  if (network.mode === 'host') return [{ key: 'mode', label: 'host network', description: 'shares the host\'s network namespace', icon: 'globe' }];
  if (network.mode === 'none' || !network.ifname) return [{ key: 'mode', label: 'no network', description: 'only a loopback device', icon: 'circle-slash' }];
  const address = network.ip ? `${network.ip}${network.prefixLength !== null ? `/${network.prefixLength}` : ''}` : 'no address';
  const rows: Row[] = [{ key: 'ifname', label: `${network.ifname}: ${address}`, description: network.mac ?? undefined, icon: 'plug' }];
  if (network.gateway) rows.push({ key: 'gateway', label: `gateway: ${network.gateway}`, icon: 'arrow-right' });
  if (network.vethHost) rows.push({ key: 'veth', label: `veth peer: ${network.vethHost}`, description: 'the host end of the pair', icon: 'link' });
  if (network.bridge) rows.push({ key: 'bridge', label: `bridge: ${network.bridge}`, icon: 'type-hierarchy-sub' });
  return rows;
}
