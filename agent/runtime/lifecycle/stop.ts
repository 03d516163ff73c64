/*
 * stop: ask, then insist.
 *
 * The container's first process gets SIGTERM and some seconds to exit on its own. As PID 1 of
 * its PID namespace it is special: the kernel delivers it only signals it has a handler for, so
 * a program that never set one up ignores SIGTERM — hence the deadline, after which every process
 * in the container's cgroup is killed with SIGKILL, which no process can refuse.
 */
import { SIGTERM } from '../../kernel/constants';
import { signalProcess } from '../../kernel/processes';
import type { Cgroup } from '../cgroups';
import type { ExitWatcher } from '../process/exit-watcher';
import type { ContainerState } from '../state/store';

export const DEFAULT_STOP_TIMEOUT_SECONDS = 10;

export async function stopContainer(
  state: ContainerState,
  cgroup: Cgroup | null,
  watcher: ExitWatcher,
  exited: () => boolean,
  timeoutSeconds = DEFAULT_STOP_TIMEOUT_SECONDS,
): Promise<void> {
  if (state.pid === null || exited()) return;
  cgroup?.thaw();
  signalProcess(state.pid, SIGTERM);
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!exited() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    watcher.poll();
  }
  if (!exited()) killEverything(state, cgroup);
  while (!exited()) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    watcher.poll();
  }
}

export function killEverything(state: ContainerState, cgroup: Cgroup | null): void {
  if (cgroup) cgroup.killAll();
  else if (state.pid !== null) signalProcess(state.pid, 9);
}
