/*
 * delete: remove every trace of a stopped container.
 *
 * Its mounts lived in its own mount namespace and vanished with its last process; its network
 * namespace took the container end of the veth with it, and the kernel deletes a veth's other end
 * together with its peer. What remains for the agent: the host end if it somehow survived, the
 * address lease, the cgroup directories, and the container's directory (record, config, upper
 * and work dirs, log), which is renamed out of the store at once and deleted in the background
 * (see StateStore.discard). Each step tolerates "already gone", so delete also finishes a half-made
 * container after a crash. Last, config.json's poststop hooks run (../hooks.ts); a failing one is a warning.
 */
import { detachNetwork } from '../network';
import type { Cgroup } from '../cgroups';
import type { ContainerState } from '../state/store';
import type { RuntimeContext } from './context';
import type { OciSpec } from '../../protocol';
import { hookState, runHooks, warnOnStderr } from '../hooks';

/** Forgets a created-but-never-started first process (call once it is dead). */
export function releaseParked(context: RuntimeContext, id: string): void {
  const parked = context.waiting.get(id);
  if (!parked) return;
  context.waiting.delete(id);
  parked.checkpoints.close();
  parked.program.release();
}

/** `bundle`: the OCI bundle's directory as poststop hooks are told it (default: the state directory). */
export function deleteContainer(context: RuntimeContext, state: ContainerState, cgroup: Cgroup | null, bundle = context.store.directory(state.id)): void {
  releaseParked(context, state.id);
  const hooks = poststopHooks(context, state.id);
  // create records the bridge before it attaches anything; a pod member's record is its sandbox's,
  // and detaching a container that holds no lease there is a no-op.
  if (state.network.mode === 'bridge' && state.network.bridge) {
    detachNetwork({ containerId: state.id, stateDir: context.stateRoot, bridge: state.network.bridge });
  }
  if (cgroup) {
    // after a crash the directories may never have been made
    const members = (() => {
      try {
        return cgroup.processes();
      } catch {
        return [];
      }
    })();
    if (members.length > 0) cgroup.killAll();
    cgroup.destroy();
  }
  // The record disappears now; the directory's bytes are freed in the background, once the
  // mount namespace (whose overlay used the directory) is released.
  context.mountNamespaces.release(state.id);
  context.store.discard(state.id, context.mountNamespaces.released(state.id));
  if (hooks) runHooks(hooks.hooks, 'poststop', hookState(hooks, state.id, 'stopped', null, bundle), null, context.warn ?? warnOnStderr);
}

/** The recorded config when it has poststop hooks (a half-made container's may be unreadable: none then). */
function poststopHooks(context: RuntimeContext, id: string): OciSpec | null {
  try {
    const spec = context.store.config(id);
    return spec.hooks?.poststop?.length ? spec : null;
  } catch {
    return null;
  }
}
