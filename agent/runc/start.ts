/*
 * start ID: release a created container's first process into execve (./fifo.ts). Only a
 * "created" container can start; the other states are runc's errors.
 */
import { RuncError } from './errors';
import { releaseExecFifo } from './fifo';
import { parseFlags, requireId } from './flags';
import type { RuncRoot } from './root';
import type { Invocation } from './verb';

export async function start(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, []);
  startContainer(invocation.root, requireId('start', parsed.positionals));
  return 0;
}

export function startContainer(root: RuncRoot, id: string): void {
  root.lock(id);
  const container = root.load(id);
  switch (container.status) {
    case 'created':
      break;
    case 'stopped':
      throw new RuncError('cannot start a container that has stopped');
    case 'running':
    case 'paused':
      throw new RuncError('cannot start an already running container');
    default:
      throw new RuncError(`cannot start a container in the ${container.status} state`);
  }
  releaseExecFifo(root.fifoPath(id));
  const { state } = container;
  state.status = 'running';
  state.startedAt = new Date().toISOString();
  root.context.store.save(state);
}
