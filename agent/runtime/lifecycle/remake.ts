/*
 * remake: `start` of a created container whose first process waited in an agent that has exited.
 *
 * A created container's first process waits at its last checkpoint, running in the memory of the
 * agent that cloned it (CLONE_VM: see ../../kernel/child-program.ts) — it cannot outlive that
 * agent, and no other agent can let it go on. What does outlive it: the record ("created"), the
 * config.json it was made from, its empty cgroup, its address lease (the veth went with its
 * network namespace) and its directory. Nothing has run in it yet — its program had not started,
 * and exec needs a running container — so making it again from config.json under the same id and
 * name is the same container as far as anything could have observed, except for what the kernel
 * numbers anew: its PID and namespace inodes. The remnants are removed first, then create runs as
 * for `run --create-only`; the caller starts the result.
 */
import { conflict } from '../../errors';
import type { OciSpec } from '../../protocol';
import { joinedNamespacesFromConfig } from '../../oci/from-run-options';
import type { Cgroup } from '../cgroups';
import { detachNetwork } from '../network';
import type { ContainerState } from '../state/store';
import type { RuntimeContext } from './context';
import { createContainer } from './create';

/** If create fails, the container is gone (create's undo removed its record): `forget` it, and say so. */
export function remakeCreated(
  context: RuntimeContext, state: ContainerState, spec: OciSpec, cgroup: Cgroup | null, imageLayer: string | readonly string[], forget: () => void,
): ContainerState {
  // A failure here leaves the container listed as it was: `rm` finishes the job.
  if (cgroup) {
    if (cgroup.processes().length > 0) cgroup.killAll();
    cgroup.destroy();
  }
  const joinsNetwork = joinedNamespacesFromConfig(spec).some((entry) => entry.type === 'net');
  if (!joinsNetwork && state.network.mode === 'bridge' && state.network.bridge) {
    detachNetwork({ containerId: state.id, stateDir: context.stateRoot, bridge: state.network.bridge });
  }
  context.mountNamespaces.release(state.id);
  context.store.remove(state.id);
  try {
    const made = createContainer(context, {
      id: state.id, name: state.name, spec, persistCreated: true, ...(joinsNetwork ? { joinedNetwork: state.network } : {}),
      // A pulled image's layers (top first), or busybox's one layer.
      ...(typeof imageLayer === 'string' ? { imageLayer } : { imageLayer: imageLayer[0] ?? '', imageLayers: imageLayer }),
    });
    made.createdAt = state.createdAt;
    return made;
  } catch (error) {
    forget();
    const reason = error instanceof Error ? error.message : String(error);
    throw conflict(`container "${state.name}" was created by an agent that has since exited and could not be made again (${reason}); it was removed`);
  }
}
