/*
 * Check "freezer": is the container's cgroup frozen? The freezer stops every process of a cgroup
 * where it stands — no signal, nothing the process can see or refuse (SIGSTOP is visible to its
 * parent; SIGCONT does not thaw a frozen cgroup). The kernel's own state file says whether it is
 * frozen (v1 freezer.state, v2 cgroup.freeze); with `progressFile`, a file the container's process
 * keeps writing, the check also watches the behaviour: it grows while thawed and not while frozen.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { freezerFile, isFrozen } from './cgroup-usage';
import { CheckFailed, existing, failIf } from './outcome';

const WATCH_MS = 1_500;

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

export async function checkFreezer(params: CheckParamsByKind['freezer'], context: LabContext): Promise<void> {
  const record = existing(context, params.container);
  if (!record.cgroup || record.pid === null) throw new CheckFailed(`container "${params.container}" is ${record.status}, not running`);
  const frozen = isFrozen(record.cgroup);
  failIf(frozen !== params.frozen, `${freezerFile(record.cgroup)} says ${frozen ? 'frozen' : 'thawed'}`);
  if (!params.progressFile) return;
  const path = join(`/proc/${record.pid}/root`, params.progressFile);
  const before = sizeOf(path);
  let after = before;
  for (const deadline = Date.now() + WATCH_MS; Date.now() < deadline && after === before; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = sizeOf(path);
  }
  const grew = after !== before;
  failIf(grew === params.frozen, `${params.progressFile} in "${params.container}" ${grew ? 'still grows' : `did not grow for ${WATCH_MS / 1000} s`}`);
}
