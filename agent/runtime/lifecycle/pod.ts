/*
 * Pods: containers that share a network, an IPC space and a hostname.
 *
 * A Kubernetes pod is not a kernel object. It is a few containers whose processes are in the
 * same network, IPC and UTS namespaces — so they reach each other on localhost, share System V
 * IPC and one hostname — while each keeps its own PID and mount namespaces and its own cgroup.
 * Somebody has to hold those shared namespaces while members come and go: Kubernetes starts a
 * tiny "pause" container first (the pod sandbox) and has every member join its namespaces with
 * setns(2). The lab does the same: the first `run --pod web` makes `web-pause`, and each member's
 * config.json names the sandbox's namespaces by path (/proc/<pid>/ns/net) instead of creating new
 * ones. The pod also owns its emptyDir volumes: directories under the pod's state directory,
 * bind-mounted into each member that mounts them (a memory-backed one has a tmpfs mounted on its
 * directory, agent/pods/engine/pod-volumes.ts). When the last member is removed, so are the
 * sandbox and the volumes: mounts beneath the pod's directory are detached before it is deleted.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH } from '../../kernel/constants';
import { umount } from '../../kernel/mounts';
import { parseMountinfo } from '../cgroups/discovery';
import type { OciSpec } from '../../protocol';
import { ANNOTATIONS } from '../../oci/from-run-options';
import type { EmptyDirLocator } from '../../oci/volume-options';

export function sandboxName(pod: string): string {
  return `${pod}-pause`;
}

export function podDirectory(stateRoot: string, pod: string): string {
  return join(stateRoot, 'pods', pod);
}

/** emptyDir volumes under `base`: a pod's directory, or a lone container's (made by create, see makeEmptyDirs). */
export function emptyDirUnder(base: string): EmptyDirLocator {
  return (name) => join(base, 'volumes', name);
}

/**
 * Makes the emptyDir volumes a document mounts: bind sources inside the agent's state root that
 * do not exist yet. Writable by any uid, as Kubernetes makes them, so a runAsUser container can use them.
 */
export function makeEmptyDirs(spec: OciSpec, stateRoot: string): void {
  for (const mount of spec.mounts ?? []) {
    const source = mount.source ?? '';
    if (mount.type !== 'bind' || !source.startsWith(`${stateRoot}/`) || !source.includes('/volumes/') || existsSync(source)) continue;
    mkdirSync(source, { recursive: true });
    chmodSync(source, 0o777);
  }
}

/** Detaches every mount at or beneath `directory` in the agent's mount namespace, deepest first. */
export function detachMountsUnder(directory: string): void {
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((line) => line.mountPoint)
    .filter((point) => point === directory || point.startsWith(`${directory}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of new Set(mounts)) umount(point, MNT_DETACH);
}

export function removePodDirectory(stateRoot: string, pod: string): void {
  const directory = podDirectory(stateRoot, pod);
  if (!existsSync(directory)) return;
  detachMountsUnder(directory);
  rmSync(directory, { recursive: true, force: true });
}

/** Which pod a container's document puts it in, and whether it is the pod's sandbox. */
export function podMembership(spec: OciSpec): { pod: string; sandbox: boolean } | null {
  const pod = spec.annotations?.[ANNOTATIONS.pod];
  return pod ? { pod, sandbox: spec.annotations?.[ANNOTATIONS.podSandbox] === 'true' } : null;
}
