/*
 * Check "user": which user the container's main process runs as (securityContext.runAsUser /
 * runAsGroup). /proc/<pid>/status lists "Uid: real effective saved fs" as the namespace the
 * *reader* is in sees them; the agent reads from the host, so with a user namespace these are
 * host ids — compare inside ids through the uid map.
 */
import { readFileSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running, statusField } from './outcome';
import { readUidMap } from './uid-map';

export function checkUser(params: CheckParamsByKind['user'], context: LabContext): void {
  const pid = running(context, params.container).pid;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const [uid] = (statusField(status, 'Uid') ?? '').split(/\s+/).map(Number);
  const [gid] = (statusField(status, 'Gid') ?? '').split(/\s+/).map(Number);
  // Host ids → the container's own, through the map (identity without a user namespace).
  const map = readUidMap(pid);
  const inside = (host: number): number => {
    const range = map.find((entry) => host >= entry.outside && host < entry.outside + entry.count);
    return range ? range.inside + (host - range.outside) : host;
  };
  if (params.uid !== undefined) failIf(inside(uid!) !== params.uid, `the main process runs as uid ${inside(uid!)}`);
  if (params.gid !== undefined) failIf(gid !== params.gid, `the main process runs as gid ${gid}`);
}
