import type { Socket } from 'node:net';

/** Reads newline-delimited JSON messages from a raw socket: each call resolves the next one. */
export function lineReader(socket: Socket): () => Promise<unknown> {
  let buffered = '';
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
      const take = (line: string): void => {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      };
      const line = lines.shift();
      if (line !== undefined) take(line);
      else waiters.push(take);
    });
}
