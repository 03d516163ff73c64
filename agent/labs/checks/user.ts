/*
 * Check "user": which user and group the container's main process runs as (securityContext.
 * runAsUser / runAsGroup). /proc/<pid>/status lists "Uid: real effective saved fs" as the
 * namespace of the *reader* sees them; the agent reads from the host, so with a user namespace
 * these are host ids — each is turned back into the container's own through the namespace's map
 * (uid_map for users, gid_map for groups; without a user namespace both are the identity).
 */
import { readFileSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running, statusField } from './outcome';
import { readIdMap, type UidRange } from './uid-map';

/** A host id → the id inside the namespace whose map this is. */
function inside(map: UidRange[], host: number): number {
  const range = map.find((entry) => host >= entry.outside && host < entry.outside + entry.count);
  return range ? range.inside + (host - range.outside) : host;
}

export function checkUser(params: CheckParamsByKind['user'], context: LabContext): void {
  const pid = running(context, params.container).pid;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const [uid] = (statusField(status, 'Uid') ?? '').split(/\s+/).map(Number);
  const [gid] = (statusField(status, 'Gid') ?? '').split(/\s+/).map(Number);
  const uidInside = inside(readIdMap(pid, 'uid'), uid!);
  const gidInside = inside(readIdMap(pid, 'gid'), gid!);
  if (params.uid !== undefined) failIf(uidInside !== params.uid, `the main process runs as uid ${uidInside}${uidInside === uid ? '' : ` (host uid ${uid})`}`);
  if (params.gid !== undefined) failIf(gidInside !== params.gid, `the main process runs as gid ${gidInside}${gidInside === gid ? '' : ` (host gid ${gid})`}`);
}
