/*
 * Check "unchanged", a failcheck: "repair it" is not answered by throwing the broken thing away and
 * making a new one. The attempt remembers each container its setup made — its id and the start
 * time of its first process (a PID can be reused, that pair cannot) — and this check fails, saying
 * which, when a container is gone or is not that one any more. Checks of the repair `need` it.
 * It can also guard the node itself: a hostname changed on the node is a container that escaped.
 */
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { findContainer } from '../context';
import { identityOf, nodeHostname } from '../attempt';
import { CheckFailed, failIf } from './outcome';

export function checkUnchanged(params: CheckParamsByKind['unchanged'], context: LabContext): void {
  for (const name of params.containers ?? []) {
    const made = context.attempt.made[name];
    if (!made) throw new CheckFailed(`the setup made no container "${name}"`);
    const record = findContainer(context, name);
    failIf(record === null, `"${name}" was removed: the task is to repair it, not to replace it`);
    const now = identityOf(record!);
    failIf(now.id !== made.id, `"${name}" was removed and made again (id ${made.id.slice(0, 12)} → ${now.id.slice(0, 12)}): the task is to repair it, not to replace it`);
    failIf(now.pid !== made.pid || now.startTime !== made.startTime, `the process of "${name}" is not the one the setup started (it was restarted or stopped)`);
  }
  if (params.nodeHostname) {
    const hostname = nodeHostname();
    failIf(hostname !== context.attempt.nodeHostname, `the node's hostname changed from "${context.attempt.nodeHostname}" to "${hostname}"`);
  }
}
