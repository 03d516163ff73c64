/*
 * Following a container's output until it stops: `run` without -d and `logs -f`.
 *
 * The agent sends the log file's content so far, then a `container.log` notification per new
 * chunk, and a `container.changed` notification when the container stops. A stop can overtake the
 * last chunks (the exit is seen before the file is read again), so on stop we ask for the whole
 * log once more and print only the bytes not printed yet: nothing is lost, nothing is doubled.
 */
import type { Writable } from 'node:stream';
import type { AgentClient } from '../service/client';
import { writeAll } from './context';

export interface FollowOptions {
  /** Return when the container stops (true), or keep following until `signal` aborts. */
  untilStopped: boolean;
  signal?: AbortSignal;
  /** Called with each chunk instead of writing it raw (for `logs -f --json`). */
  format?: (chunk: Buffer) => string | Buffer;
}

/** Prints the log of container `id` (a canonical id) and follows it; resolves when done. */
export async function followLogs(client: AgentClient, id: string, output: Writable, options: FollowOptions): Promise<void> {
  let printed = 0;
  let ready = false;
  const early: Buffer[] = [];
  let writing: Promise<void> = Promise.resolve();
  const emit = (chunk: Buffer): void => {
    printed += chunk.length;
    const text = options.format ? options.format(chunk) : chunk;
    writing = writing.then(() => writeAll(output, text));
  };

  let stopped!: () => void;
  const stoppedOrAborted = new Promise<void>((resolve) => (stopped = resolve));
  const offLog = client.on('container.log', (event) => {
    if (event.id !== id) return;
    const chunk = Buffer.from(event.data, 'base64');
    if (ready) emit(chunk);
    else early.push(chunk);
  });
  const offChanged = client.on('container.changed', (event) => {
    if (event.id === id && event.status === 'stopped' && options.untilStopped) stopped();
  });
  const offRemoved = client.on('container.removed', (event) => {
    if (event.id === id) stopped();
  });
  const offClose = client.onClose(() => stopped());
  options.signal?.addEventListener('abort', () => stopped(), { once: true });

  try {
    const { data } = await client.call('container.logs', { id, follow: true });
    emit(Buffer.from(data, 'base64'));
    ready = true;
    for (const chunk of early.splice(0)) emit(chunk);
    if (options.untilStopped && (await client.call('container.inspect', { id })).status === 'stopped') stopped();
    await stoppedOrAborted;
  } finally {
    offLog();
    offChanged();
    offRemoved();
    offClose();
  }
  // Catch up on whatever the stop overtook.
  if (!client.closed && !options.signal?.aborted) {
    try {
      const all = Buffer.from((await client.call('container.logs', { id })).data, 'base64');
      if (all.length > printed) emit(all.subarray(printed));
    } catch {
      // Removed meanwhile: what was printed is all there is.
    }
  }
  await writing;
}
