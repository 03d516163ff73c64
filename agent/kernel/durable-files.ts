/*
 * Files that survive a power loss, not only a crash of the agent.
 *
 * A rename (or exchange) is ordered after the writes before it in the page cache, so a process
 * killed at any point leaves the old file or the new one, whole. Not so the disk: ext4 commits a
 * rename with its journal but writes a new file's data later (delayed allocation), so a power
 * loss in between leaves the new name on an empty or torn file — and the agent would forget a
 * container whose record that was, or lose the address leases of a bridge. Hence the data is
 * fsync'd before the file takes its name, and the directory (which holds the name) after. The
 * directory's fsync is what makes the change itself survive; without it the old file would come
 * back, whole. What it costs on the `run` path: see StateStore.save (./store.ts).
 */
import { closeSync, constants, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** fsync of a directory: the names in it (a rename, an exchange) reach the disk. */
export function syncDirectory(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A temporary file, written whole and synced, renamed into place; then its directory synced.
 * `durable: false` leaves out the two syncs — still whole or absent for any reader and after a
 * crash of the writer, not after a power loss — for state that a reboot makes void anyway.
 */
export function writeAtomically(path: string, text: string, mode = 0o600, durable = true): void {
  writeAllAtomically([{ path, text }], mode, durable);
}

/**
 * writeAtomically for several files: each written whole and synced, then all renamed into
 * place, then each directory synced once. A directory's sync is a journal commit of its own,
 * so files made together in one directory (a new container's config.json and state.json) share one.
 */
export function writeAllAtomically(files: readonly { path: string; text: string }[], mode = 0o600, durable = true): void {
  const temporaries = files.map(({ path, text }) => {
    const temporary = `${path}.tmp-${process.pid}`;
    writeSyncAndClose(openSync(temporary, 'w', mode), text, durable);
    return temporary;
  });
  files.forEach(({ path }, index) => renameSync(temporaries[index]!, path));
  if (durable) for (const directory of new Set(files.map(({ path }) => dirname(path)))) syncDirectory(directory);
}

/** Writes `text` whole from the start of the open file `fd`, syncs it (if durable), and closes it. */
export function writeSyncAndClose(fd: number, text: string, durable: boolean): void {
  try {
    writeWhole(fd, Buffer.from(text));
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeWhole(fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset, bytes.length - offset, offset);
}
