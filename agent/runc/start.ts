/*
 * start ID: release a created container's first process into execve (./fifo.ts). Only a
 * "created" container can start; the other states are runc's errors. Before the byte, the
 * startContainer hooks run inside the container (one that fails: the container is stopped and
 * deleted, and start fails); after it, the poststart hooks (a failure is a warning).
 */
import { rmSync } from 'node:fs';
import { SIGKILL } from '../kernel/constants';
import { signalProcess } from '../kernel/processes';
import { hookState, runHooks, warnOnStderr } from '../runtime/hooks';
import { deleteContainer } from '../runtime/lifecycle/delete';
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
  root.lock(id, { anyNumber: true });
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
  const { state, spec, meta } = container;
  const warn = root.context.warn ?? warnOnStderr;
  // Without startContainer hooks there is nothing to run in the container (nor its cgroup to look up).
  if (state.pid !== null && spec.hooks?.startContainer?.length) {
    try {
      runHooks(spec.hooks, 'startContainer', hookState(spec, id, 'created', state.pid, meta.bundle), { pid: state.pid, namespaces: state.namespaces, cgroup: root.cgroupOf(state) }, warn);
    } catch (error) {
      signalProcess(state.pid, SIGKILL);
      rmSync(root.fifoPath(id), { force: true });
      deleteContainer(root.context, state, root.cgroupOf(state), meta.bundle);
      throw error;
    }
  }
  releaseExecFifo(root.fifoPath(id));
  state.status = 'running';
  state.startedAt = new Date().toISOString();
  root.context.store.save(state);
  runHooks(spec.hooks, 'poststart', hookState(spec, id, 'running', state.pid, meta.bundle), null, warn);
}
