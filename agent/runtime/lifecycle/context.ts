/*
 * What every lifecycle verb needs: where state lives, the host's cgroup hierarchies, and the
 * container processes this agent started (only a parent can collect a child's exit status).
 */
import type { CgroupHost } from '../cgroups';
import type { StateStore } from '../state/store';
import type { Checkpoints } from '../process/checkpoints';

export interface RuntimeContext {
  readonly stateRoot: string;
  readonly store: StateStore;
  readonly cgroups: CgroupHost;
  /** Containers created but not started: their first process waits at its last checkpoint. */
  readonly waiting: Map<string, Checkpoints>;
}
