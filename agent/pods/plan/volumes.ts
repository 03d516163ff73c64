/*
 * A pod's volumes, as the kubelet prepares them on its node.
 *
 *   emptyDir                  a directory of the pod's own (under the agent's state root), made
 *                             empty with the pod and removed with it; every container mounting
 *                             the name sees the same files.
 *   emptyDir medium: Memory   the same directory with one tmpfs of the pod's mounted on it
 *                             (../engine/pod-volumes.ts), so every container shares that one tmpfs.
 *   hostPath                  a path of the host, after the check its `type` asks for:
 *                             Directory, File, Socket, CharDevice, BlockDevice must exist as that;
 *                             DirectoryOrCreate / FileOrCreate make it (0755 / 0644) if missing.
 *
 * fsGroup: the kubelet makes a pod's emptyDir volumes owned by that group, setgid, so files the
 * containers write there share it.
 */
import { chownSync, closeSync, existsSync, mkdirSync, openSync, statSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { badInput } from '../../errors';
import type { VolumeMount } from '../../protocol';
import type { Container, Pod, Volume } from '../manifest/types';

export interface VolumePlan {
  /** Bind mounts the runtime makes (hostPath, emptyDir of either medium). */
  volumes: VolumeMount[];
}

/** Checks (and for *OrCreate types makes) a hostPath; returns what it is. */
export function prepareHostPath(volume: Volume, where: string): 'directory' | 'file' {
  const path = volume.hostPath!.path;
  const type = volume.hostPath!.type ?? '';
  const exists = existsSync(path);
  const stat = exists ? statSync(path) : null;
  const fail = (what: string): never => {
    throw badInput(`${where}.hostPath: hostPath type check failed: ${path} is not ${what}`);
  };
  switch (type) {
    case '':
      return stat?.isDirectory() || !stat ? 'directory' : 'file';
    case 'DirectoryOrCreate':
      if (!exists) {
        mkdirSync(path, { recursive: true, mode: 0o755 });
        return 'directory';
      }
      return stat!.isDirectory() ? 'directory' : fail('a directory');
    case 'Directory':
      return stat?.isDirectory() ? 'directory' : fail('a directory');
    case 'FileOrCreate':
      if (!exists) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
        closeSync(openSync(path, 'a', 0o644));
        return 'file';
      }
      return stat!.isFile() ? 'file' : fail('a file');
    case 'File':
      return stat?.isFile() ? 'file' : fail('a file');
    case 'Socket':
      return stat?.isSocket() ? 'file' : fail('a socket');
    case 'CharDevice':
      return stat?.isCharacterDevice() ? 'file' : fail('a character device');
    case 'BlockDevice':
      return stat?.isBlockDevice() ? 'file' : fail('a block device');
    default:
      throw badInput(`${where}.hostPath.type: Unsupported value: ${JSON.stringify(String(type).slice(0, 40))}`);
  }
}

/** The container's mounts of the pod's volumes. */
export function volumePlan(pod: Pod, container: Container, where: string): VolumePlan {
  const byName = new Map((pod.spec?.volumes ?? []).map((volume) => [volume.name, volume]));
  const plan: VolumePlan = { volumes: [] };
  (container.volumeMounts ?? []).forEach((mount, index) => {
    const volume = byName.get(mount.name)!;
    if (volume.hostPath) {
      const kind = prepareHostPath(volume, `spec.volumes[${[...byName.keys()].indexOf(mount.name)}]`);
      if (kind === 'file') throw badInput(`${where}.volumeMounts[${index}]: hostPath ${volume.hostPath.path} is a file: this node mounts hostPath directories only`);
      plan.volumes.push({ name: mount.name, mountPath: mount.mountPath, hostPath: volume.hostPath.path, ...(mount.readOnly ? { readOnly: true } : {}) });
      return;
    }
    plan.volumes.push({ name: mount.name, mountPath: mount.mountPath, ...(mount.readOnly ? { readOnly: true } : {}) });
  });
  return plan;
}

/** fsGroup on the pod's emptyDir directories: group-owned and setgid, as the kubelet leaves them. */
export function applyFsGroup(directory: string, fsGroup: number | undefined): void {
  if (fsGroup === undefined || !existsSync(directory)) return;
  chownSync(directory, 0, fsGroup);
  chmodSync(directory, 0o2777);
}
