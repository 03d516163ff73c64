/*
 * exit: the container's first process has ended, and with it the container.
 *
 * When PID 1 of a PID namespace exits, the kernel kills every other process in that namespace;
 * a container that shares the host's PID namespace has no such end, so whatever is left in its
 * cgroup is killed here. The record then says how it ended: the exit code (null when the agent
 * did not see the status itself), and whether the kernel's OOM killer ended it — a SIGKILL while
 * the cgroup counted an oom_kill. What only a live container needs is let go: the agent's hold
 * on its mount namespace (whose teardown, unmounting everything, then runs beside the rest), a
 * first process that waited for `start`, and its address on the bridge with its published ports.
 * The cgroup and the record stay until `rm` (./delete.ts): `ps -a` and `inspect` still show them.
 */
import type { ExitStatus } from '../../kernel/processes';
import type { Cgroup } from '../cgroups';
import { detachNetwork } from '../network';
import type { ContainerState } from '../state/store';
import type { RuntimeContext } from './context';
import { releaseParked } from './delete';
import { killEverything } from './stop';

/** Records `state` as stopped with `status` and lets go of what only a live container needs (the caller saves it). */
export function recordExit(context: RuntimeContext, state: ContainerState, cgroup: Cgroup | null, status: ExitStatus | null): void {
  context.mountNamespaces.release(state.id);
  let oomKills = 0;
  try {
    oomKills = cgroup?.oomKills() ?? 0;
    if (cgroup && cgroup.processes().length > 0) killEverything(state, cgroup);
  } catch {
    // cgroup already gone
  }
  state.status = 'stopped';
  state.exitCode = status?.code ?? null;
  state.oomKilled = oomKills > 0 && status?.signal === 9;
  state.finishedAt = new Date().toISOString();
  releaseParked(context, state.id);
  if (state.network.mode === 'bridge' && state.network.bridge) {
    try {
      detachNetwork({ containerId: state.id, stateDir: context.stateRoot, bridge: state.network.bridge });
    } catch {
      // the lease stays until rm; nothing else is held
    }
  }
}
