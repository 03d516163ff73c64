/*
 * The host snapshot: every process with its namespaces (what `lsns` shows), every network
 * device in every network namespace with its veth peer and bridge — and which of those belong
 * to a Containers Lab container, so views can tell the lab's objects from the host's own.
 */
import type { HostSnapshot, NamespaceType } from '../protocol';
import { listLinks } from './links';
import { snapshotProcesses } from './processes';

export interface ContainerIdentity {
  name: string;
  pid: number;
  /** The namespace types the container owns. */
  namespaces: readonly NamespaceType[];
}

export function takeHostSnapshot(containers: readonly ContainerIdentity[]): HostSnapshot {
  const { processes, namespaces } = snapshotProcesses();
  const byPid = new Map(processes.map((process) => [process.pid, process]));
  const owners = new Map<number, string>();
  for (const container of containers) {
    const inodes = byPid.get(container.pid)?.namespaces ?? {};
    for (const type of container.namespaces) {
      const inode = inodes[type];
      if (inode !== undefined) owners.set(inode, container.name);
    }
  }
  for (const namespace of namespaces) {
    const owner = owners.get(namespace.inode);
    if (owner) namespace.container = owner;
  }
  const holders = new Map<number, number>();
  for (const namespace of namespaces) if (namespace.type === 'net') holders.set(namespace.inode, namespace.pid);
  const links = listLinks(holders);
  for (const link of links) {
    const owner = owners.get(link.netns);
    if (owner) link.container = owner;
  }
  return { takenAt: new Date().toISOString(), processes, namespaces, links };
}
