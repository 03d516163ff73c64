/*
 * pause/resume: the freezer. Freezing a cgroup stops every task in it where it stands — no
 * signal is delivered, so the processes cannot notice or refuse — until it is thawed.
 */
import type { Cgroup } from '../cgroups';
import type { ContainerState } from '../state/store';
import { assertTransition } from '../state/state-machine';

export function pauseContainer(state: ContainerState, cgroup: Cgroup): void {
  assertTransition(state.name, state.status, 'paused');
  cgroup.freeze();
  state.status = 'paused';
}

export function resumeContainer(state: ContainerState, cgroup: Cgroup): void {
  if (state.status !== 'paused') assertTransition(state.name, state.status, 'paused');
  cgroup.thaw();
  state.status = 'running';
}
