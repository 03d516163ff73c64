/*
 * delete [--force] ID: remove a stopped (or still created) container — its cgroup, its state
 * directory, its FIFO. A running or paused one only with --force, which kills everything in its
 * cgroup first. Deleting an id that does not exist is runc's error, except with --force.
 */
import { rmSync } from 'node:fs';
import { SIGKILL } from '../kernel/constants';
import { signalProcess } from '../kernel/processes';
import { deleteContainer } from '../runtime/lifecycle/delete';
import { RuncError } from './errors';
import { flag, parseFlags, requireId } from './flags';
import type { RuncContainer, RuncRoot } from './root';
import type { Invocation } from './verb';

export async function deleteVerb(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [{ name: 'force', alias: 'f', kind: 'bool' }], false);
  const force = flag.bool(parsed, 'force');
  for (const id of parsed.positionals.length ? parsed.positionals : [requireId('delete', parsed.positionals)]) {
    const { root } = invocation;
    root.lock(id, { anyNumber: true });
    let container: RuncContainer;
    try {
      container = root.load(id);
    } catch (error) {
      if (force && error instanceof RuncError) {
        // runc --force tolerates a missing container; a half-made one is tidied
        rmSync(root.directory(id), { recursive: true, force: true });
        continue;
      }
      throw error;
    }
    if ((container.status === 'running' || container.status === 'paused') && !force) {
      throw new RuncError(`cannot delete container ${id} that is not stopped: ${container.status}`);
    }
    await removeContainer(root, container);
    root.removeLock(id);
  }
  return 0;
}

/** Kills what is left in its cgroup, removes the cgroup, the FIFO and the state directory. */
export async function removeContainer(root: RuncRoot, container: RuncContainer): Promise<void> {
  const cgroup = root.cgroupOf(container.state);
  if (container.status === 'paused') cgroup?.thaw();
  if (container.status !== 'stopped' && cgroup === null && container.state.pid !== null) {
    signalProcess(container.state.pid, SIGKILL);
  }
  rmSync(root.fifoPath(container.id), { force: true });
  deleteContainer(root.context, container.state, cgroup, container.meta.bundle);
  await root.context.store.deletionsSettled();
}
