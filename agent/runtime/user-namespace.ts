/*
 * User namespaces: root inside, nobody outside.
 *
 * A user namespace has its own user and group IDs. Its uid_map says which IDs inside stand for
 * which IDs outside: "0 100000 65536" makes container root (0) the unprivileged host uid 100000,
 * and IDs 0-65535 inside map to 100000-165535 outside. The process has full capabilities over
 * objects its namespace owns (its mounts, its network) and none over the host's. The maps are
 * written once, by the parent, into /proc/<pid>/uid_map and gid_map while the child waits.
 *
 * Files keep their owners' host IDs, so a layer owned by host root appears inside as "nobody".
 * For that reason a user-namespaced container's layers are idmapped with its namespace, or
 * copied shifted into its range where the kernel cannot (see ./userns-layers.ts).
 */
import { writeFileSync } from 'node:fs';
import type { OciIdMapping } from '../protocol';
import { badInput } from '../errors';

export const DEFAULT_HOST_ID = 100000;
export const DEFAULT_RANGE = 65536;

function mapText(mappings: readonly OciIdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

export function validateMappings(kind: 'uid' | 'gid', mappings: readonly OciIdMapping[]): void {
  if (mappings.length === 0) throw badInput(`a user namespace needs ${kind} mappings`);
  for (const m of mappings) {
    if (m.size < 1 || m.hostID < 1 || m.containerID < 0) {
      throw badInput(`${kind} mapping ${m.containerID} ${m.hostID} ${m.size}: host IDs must be unprivileged (≥ 1) and size ≥ 1`);
    }
  }
}

export function writeIdMaps(pid: number, uidMappings: readonly OciIdMapping[], gidMappings: readonly OciIdMapping[]): void {
  validateMappings('uid', uidMappings);
  validateMappings('gid', gidMappings);
  writeFileSync(`/proc/${pid}/uid_map`, mapText(uidMappings));
  writeFileSync(`/proc/${pid}/gid_map`, mapText(gidMappings));
}

/** The host ID that container ID `id` maps to, or null when unmapped. */
export function hostIdFor(mappings: readonly OciIdMapping[], id: number): number | null {
  const m = mappings.find((entry) => id >= entry.containerID && id < entry.containerID + entry.size);
  return m ? m.hostID + (id - m.containerID) : null;
}
