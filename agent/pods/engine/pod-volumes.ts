/*
 * A pod's emptyDir volumes, made once for the pod before its containers — as the kubelet's
 * volume manager mounts a pod's volumes before the runtime starts any container of it.
 *
 *   emptyDir                  a directory under the pod's state directory (../../runtime/lifecycle/pod.ts
 *                             emptyDirUnder), mode 0777; each container that mounts the name gets a
 *                             bind mount of that same directory.
 *   emptyDir medium: Memory   the same directory with ONE tmpfs mounted on it, in the agent's (the
 *                             host's) mount namespace. Every container's bind mount of the directory
 *                             then reaches that one tmpfs superblock: what one container writes the
 *                             others read, and the pages are charged once. (A tmpfs per container
 *                             would be a private RAM disk each — not a shared volume.)
 *                             Its size, as the kubelet computes it (SizeMemoryBackedVolumes): the
 *                             smallest of sizeLimit and the pod's memory limit (when every container
 *                             has one), else the node's memory.
 *   fsGroup                   every emptyDir is then owned by that group, setgid (../plan/volumes.ts).
 *
 * The tmpfs outlives an agent restart (a mount is the kernel's, not the agent's), as the kubelet's do;
 * it is detached when the pod's directory is removed (runtime/lifecycle/pod.ts removePodDirectory).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { MS_NODEV, MS_NOSUID } from '../../kernel/constants';
import { mount } from '../../kernel/mounts';
import { parseMemoryQuantity } from '../../protocol/quantity';
import { parseMountinfo } from '../../runtime/cgroups/discovery';
import { emptyDirUnder } from '../../runtime/lifecycle/pod';
import type { Pod, Volume } from '../manifest/types';
import { podLevelResources } from '../plan/qos';
import { applyFsGroup } from '../plan/volumes';

/** The tmpfs size of a memory-backed emptyDir, in bytes. */
export function memoryVolumeSize(pod: Pod, volume: Volume): number {
  const candidates = [totalmem()];
  if (volume.emptyDir?.sizeLimit !== undefined) candidates.push(parseMemoryQuantity(volume.emptyDir.sizeLimit));
  const podLimit = podLevelResources(pod).memoryLimit;
  if (podLimit !== null) candidates.push(podLimit);
  return Math.min(...candidates.filter((size) => size > 0));
}

function mountedAt(path: string): boolean {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((line) => line.mountPoint === path);
}

/** Makes the pod's emptyDir directories (tmpfs-backed for medium Memory); returns the tmpfs mount points. */
export function preparePodVolumes(pod: Pod, podDirectory: string): string[] {
  const at = emptyDirUnder(podDirectory);
  const tmpfs: string[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    if (!volume.emptyDir) continue;
    const path = at(volume.name);
    if (!existsSync(path)) mkdirSync(path, { recursive: true });
    if (volume.emptyDir.medium === 'Memory') {
      // Already there after an agent restart: the same tmpfs, with the files the pod wrote.
      if (!mountedAt(path)) mount('tmpfs', path, 'tmpfs', MS_NOSUID | MS_NODEV, `size=${memoryVolumeSize(pod, volume)},mode=0777`);
      tmpfs.push(path);
    }
    chmodSync(path, 0o777);
    applyFsGroup(path, pod.spec?.securityContext?.fsGroup);
  }
  return tmpfs;
}
