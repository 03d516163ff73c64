/*
 * stop: ask, then insist.
 *
 * The container's first process gets SIGTERM and some seconds to exit on its own. As PID 1 of
 * its PID namespace it is special: the kernel delivers it only signals it has a handler for, so
 * a program that never set one up ignores SIGTERM — hence the deadline, after which every process
 * in the container's cgroup is killed with SIGKILL, which no process can refuse.
 *
 * The same rule loses a SIGTERM that arrives before the program has set up its handler, as when
 * a container is stopped right after it started (busybox's idle shell runs `trap … TERM` as its
 * first command). Such a signal is not queued: it is gone. So while the first process has no
 * handler, stop watches for one (SigCgt in /proc/<pid>/status) and sends SIGTERM again once it
 * appears (a handler set up in the instant between the check and the first signal gets two);
 * a program that never sets one up still waits out the deadline.
 *
 * A program that ignores SIGTERM outright (SigIgn) — an interactive shell does, as PID 1 of a
 * container started with a terminal (`run -dit busybox`, the extension's default) — discards it
 * whoever sends it and whenever: waiting could change nothing, so it is killed at once. Docker
 * waits its ten seconds here; the result is the same, exit code 137.
 */
import { SIGTERM } from '../../kernel/constants';
import { signalProcess } from '../../kernel/processes';
import type { Cgroup } from '../cgroups';
import type { ExitWatcher } from '../process/exit-watcher';
import { catchesSignal, ignoresSignal } from '../process/signals';
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
  const pid = state.pid;
  cgroup?.thaw();
  let delivered = catchesSignal(pid, SIGTERM);
  signalProcess(pid, SIGTERM);
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!exited() && Date.now() < deadline && !ignoresSignal(pid, SIGTERM)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    watcher.poll();
    if (!delivered && !exited() && catchesSignal(pid, SIGTERM)) {
      signalProcess(pid, SIGTERM);
      delivered = true;
    }
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
