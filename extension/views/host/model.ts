/*
 * What the "On This Host" view shows, computed from host.containers — without 'vscode', so the
 * rules are unit-tested in plain Node (test/host-view-model.test.ts).
 *
 * Every container on the lab host, whoever made it, grouped by its maker: this agent, runc or crun
 * called directly, containerd (and the OCI runtime its shim drove), Docker, or nothing known (an
 * `unshare`). Each entry unfolds into the same Namespaces and Processes sections as the agent's
 * own containers, and a Details section: the parent chain (shim → container), the cgroup, what is
 * mounted at its `/`, its bundle and the maker's state directory.
 */
import type { ContainerMaker, HostContainer } from '../../../agent/protocol';
import { CONTAINER_MAKERS } from '../../../agent/protocol';
import type { Row } from '../containers/model';

export interface MakerGroup {
  maker: ContainerMaker;
  label: string;
  containers: HostContainer[];
}

const MAKER_LABELS: Record<ContainerMaker, string> = {
  'containers-lab': 'Containers Lab',
  'containers-lab-runc': 'containers-lab-runc',
  runc: 'runc',
  crun: 'crun',
  containerd: 'containerd',
  docker: 'Docker',
  unknown: 'Not claimed by any runtime',
};

/** One group per maker that has containers, in CONTAINER_MAKERS order; entries by first PID. */
export function groupByMaker(containers: readonly HostContainer[]): MakerGroup[] {
  return CONTAINER_MAKERS.flatMap((maker) => {
    const mine = containers.filter((container) => container.maker === maker).sort((a, b) => a.pid - b.pid);
    return mine.length > 0 ? [{ maker, label: MAKER_LABELS[maker], containers: mine }] : [];
  });
}

/** "mnt pid net": the namespace types it has of its own. */
export function ownNamespaceTypes(container: Pick<HostContainer, 'key'>): string[] {
  return container.key === '' ? [] : container.key.split(' ').map((word) => word.slice(0, word.indexOf(':')));
}

/** The entry's label: its name; description: the runtime under it, PID, status and own namespaces. */
export function entryLabel(container: HostContainer): string {
  return container.name;
}

export function entryDescription(container: HostContainer): string {
  const parts = [`PID ${container.pid}`, container.status, `own: ${ownNamespaceTypes(container).join(' ')}`];
  if (container.runtime) parts.unshift(`via ${container.runtime}`);
  return parts.join(' · ');
}

/** Outermost parent first: "process_api → containerd-shim-runc-v2 → sleep". */
export function parentChain(container: Pick<HostContainer, 'parents' | 'command'>): string {
  return [...container.parents].reverse().map((parent) => parent.command).concat(container.command).join(' → ');
}

export function entryTooltip(container: HostContainer): string {
  return [
    `${container.name} — made by ${MAKER_LABELS[container.maker]}${container.runtime ? ` (OCI runtime ${container.runtime})` : ''}`,
    `id: ${container.id}`,
    container.namespace ? `containerd namespace: ${container.namespace}` : undefined,
    `first process: ${container.command}, host PID ${container.pid}`,
    `parents: ${parentChain(container)}`,
    container.sharedWithHost.length > 0 ? `shares with the host: ${container.sharedWithHost.join(' ')}` : 'shares no namespace with the host',
  ]
    .filter((line): line is string => line !== undefined)
    .join('\n');
}

/** Details: who holds it, where its cgroup and root are, where its maker keeps it. */
export function detailRows(container: HostContainer): Row[] {
  const rows: Row[] = [
    {
      key: 'parents',
      label: `parents: ${parentChain(container)}`,
      tooltip: container.parents.map((parent) => `${parent.command} (PID ${parent.pid})`).join('\n'),
      icon: 'type-hierarchy',
    },
    { key: 'cgroup', label: `cgroup: ${container.cgroup ?? '–'}`, tooltip: Object.entries(container.cgroups).map(([controllers, path]) => `${controllers}: ${path}`).join('\n'), icon: 'dashboard' },
  ];
  if (container.rootfs) {
    const { fstype, source, root, upper } = container.rootfs;
    rows.push({
      key: 'rootfs',
      label: `/: ${fstype} ${fstype === 'overlay' && upper ? upper : root}`,
      description: fstype === 'overlay' ? 'upper dir' : source,
      tooltip: `what is mounted at its / (its /proc/<pid>/mountinfo): ${fstype} from ${source}, directory ${root}${upper ? `\nupper: ${upper}` : ''}`,
      icon: 'root-folder',
    });
  }
  if (container.bundle) rows.push({ key: 'bundle', label: `bundle: ${container.bundle}`, tooltip: 'the OCI bundle: config.json and the root filesystem', icon: 'package' });
  if (container.stateDir) rows.push({ key: 'state', label: `state: ${container.stateDir}`, tooltip: 'where its maker keeps its record', icon: 'database' });
  rows.push({ key: 'id', label: `id: ${container.id}`, icon: 'tag' });
  return rows;
}
