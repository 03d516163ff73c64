/*
 * logs: a container's stdout and stderr, kept in one file per container (container.log in its
 * directory). The first process got that file as descriptors 1 and 2 at exec, so every process in
 * the container that inherits them writes there; the agent only reads. Following uses inotify
 * (fs.watch) to hear about appends and reads from where it left off.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import type { LogFollower } from '../api';

export function readLog(logPath: string): Buffer {
  return existsSync(logPath) ? readFileSync(logPath) : Buffer.alloc(0);
}

/** Streams what is appended to the log from `fromOffset` (default: its current end). */
export function followLog(logPath: string, onData: (data: Buffer) => void, fromOffset?: number): LogFollower {
  let offset = fromOffset ?? (existsSync(logPath) ? statSync(logPath).size : 0);
  const readMore = (): void => {
    try {
      const size = statSync(logPath).size;
      if (size <= offset) return;
      const fd = openSync(logPath, 'r');
      try {
        const chunk = Buffer.alloc(size - offset);
        readSync(fd, chunk, 0, chunk.length, offset);
        offset = size;
        onData(chunk);
      } finally {
        closeSync(fd);
      }
    } catch {
      // removed: the follower ends with the container
    }
  };
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(logPath, readMore);
    readMore();
  } catch {
    watcher = null;
  }
  return { dispose: () => watcher?.close() };
}
