/*
 * What every lifecycle verb needs: where state lives, the host's cgroup hierarchies, the bridge
 * a container goes on when it names none, and the container processes this agent started (only
 * a parent can collect a child's exit status) with the mount namespaces it holds for them.
 */
import type { CgroupHost } from '../cgroups';
import type { DefaultBridge } from '../network/default-bridge';
import type { StateStore } from '../state/store';
import type { ChildProgram } from '../../kernel/child-program';
import type { Checkpoints } from '../process/checkpoints';
import type { ExecSlots } from '../process/exec-slots';
import type { MountNamespaceHolds } from '../process/mount-namespace-hold';
import type { UnknownFields } from '../../oci/validate';

/** A created container's first process, stopped at its last checkpoint before exec. */
export interface ParkedProcess {
  checkpoints: Checkpoints;
  /** The child still runs in this program's memory until it execs. */
  program: ChildProgram;
  /** Where its chdir/execve read their arguments, when they are filled in after create. */
  slots?: ExecSlots;
}

export interface RuntimeContext {
  readonly stateRoot: string;
  readonly store: StateStore;
  readonly cgroups: CgroupHost;
  /** This runtime's default network (its address leases live under stateRoot: see ../network/default-bridge.ts). */
  readonly defaultBridge: DefaultBridge;
  /** Containers created but not started: their first process waits at its last checkpoint. */
  readonly waiting: Map<string, ParkedProcess>;
  /** The agent's holds on its containers' mount namespaces, so exits are quick (see there). */
  readonly mountNamespaces: MountNamespaceHolds;
  /** Where a failed poststart/poststop hook is reported (../hooks.ts); stderr when absent. */
  warn?: (message: string) => void;
  /**
   * A property of config.json that runtime-spec 1.1 does not define: containers-lab-runc ignores
   * it with a warning, as the spec says a runtime must; the service refuses it (the default), so
   * a typo in a learner's document is named.
   */
  readonly unknownConfigFields?: UnknownFields;
}
