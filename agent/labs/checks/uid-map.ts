/*
 * Check "uid-map": how a user namespace translates user ids. /proc/<pid>/uid_map holds lines
 * "inside-start outside-start count"; without a user namespace the map is the identity
 * "0 0 4294967295". Container root that maps to an unprivileged host uid is root only inside.
 */
import { readFileSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running } from './outcome';

export interface UidRange {
  inside: number;
  outside: number;
  count: number;
}

export function readIdMap(pid: number, kind: 'uid' | 'gid'): UidRange[] {
  return readFileSync(`/proc/${pid}/${kind}_map`, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    return { inside: inside!, outside: outside!, count: count! };
  });
}

/** The host uid that uid `inside` of the namespace is, or null when it is not mapped. */
export function hostUidOf(map: UidRange[], inside: number): number | null {
  const range = map.find((entry) => inside >= entry.inside && inside < entry.inside + entry.count);
  return range ? range.outside + (inside - range.inside) : null;
}

export function checkUidMap(params: CheckParamsByKind['uid-map'], context: LabContext): void {
  const map = readIdMap(running(context, params.container).pid, 'uid');
  const shown = map.map((range) => `${range.inside} ${range.outside} ${range.count}`).join(', ');
  const identity = map.length === 1 && map[0]!.inside === 0 && map[0]!.outside === 0 && map[0]!.count === 4294967295;
  if (params.identity !== undefined) failIf(identity !== params.identity, `uid_map is "${shown}"`);
  const root = hostUidOf(map, 0);
  if (params.rootMapsTo === 'unprivileged') failIf(root === null || root === 0, `container root is host uid ${root ?? 'unmapped'} (uid_map "${shown}")`);
  else if (params.rootMapsTo !== undefined) failIf(root !== params.rootMapsTo, `container root is host uid ${root ?? 'unmapped'} (uid_map "${shown}")`);
}
