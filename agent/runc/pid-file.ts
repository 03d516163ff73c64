/*
 * --pid-file: where the caller (containerd's shim) learns the PID of the process it will reap.
 * Written atomically, as runc does: a reader never sees a half-written number.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function writePidFile(path: string, pid: number): void {
  const temporary = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  writeFileSync(temporary, String(pid), { mode: 0o644 });
  renameSync(temporary, path);
}
