/*
 * What every verb gets: where to print, which state root and socket were asked for, and a way
 * to reach the agent — the running service if one answers on the socket, else an in-process
 * runtime (standalone mode), behind the same typed JSON-RPC client.
 */
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { AgentClient } from '../service/client';
import { connectAgent } from '../service/client';
import type { ParsedArgs, VerbSpec } from '../command-line/args';
import { DEFAULT_STATE_ROOT, openInProcessAgent } from './standalone';

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export interface AgentHandle {
  client: AgentClient;
  mode: 'service' | 'standalone';
  close(): void;
}

export interface CliContext {
  io: CliIo;
  /** The state root asked for by --root or $CONTAINERS_LAB_ROOT; undefined for the default. */
  requestedRoot: string | undefined;
  socketPath: string;
  /** Connects to the service, or opens the runtime in-process when no service answers. */
  openAgent(): Promise<AgentHandle>;
}

export interface Verb {
  spec: VerbSpec;
  execute(args: ParsedArgs, context: CliContext): Promise<number>;
}

export function resolveStateRoot(requestedRoot: string | undefined): string {
  return resolve(requestedRoot ?? DEFAULT_STATE_ROOT);
}

export async function openAgentFor(context: Omit<CliContext, 'openAgent'>): Promise<AgentHandle> {
  const client = await connectAgent(context.socketPath);
  if (client) {
    // A service on another state root manages other containers: do not mix the two up.
    const info = context.requestedRoot === undefined ? null : await client.call('agent.info', {});
    if (!info || resolve(info.stateRoot) === resolveStateRoot(context.requestedRoot)) {
      return { client, mode: 'service', close: () => client.close() };
    }
    client.close();
  }
  const agent = await openInProcessAgent(resolveStateRoot(context.requestedRoot));
  return { client: agent.client, mode: 'standalone', close: () => agent.close() };
}

/** Writes and resolves once the data is handed to the OS, so a following exit loses nothing. */
export function writeAll(stream: Writable, data: string | Buffer): Promise<void> {
  return new Promise((resolveWrite, reject) => {
    stream.write(data, (error) => (error ? reject(error) : resolveWrite()));
  });
}
