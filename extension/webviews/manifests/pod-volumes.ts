/*
 * Volumes in a Pod ↔ mounts in config.json. A Pod lists volumes once (spec.volumes) and mounts
 * them per container (volumeMounts); config.json has only mounts, each with its source:
 *   emptyDir {}                a bind mount of a directory the agent made under its state root
 *                              (…/pods/<pod>/volumes/<name>, or the container's own)
 *   emptyDir {medium: Memory}  a tmpfs (the lab's /tmp is one)
 *   hostPath {path}            a bind mount of that host directory
 */
import type { OciMount, VolumeMount } from '../../../agent/protocol';

export type PodVolume = { name: string; emptyDir: { medium?: 'Memory' } } | { name: string; hostPath: { path: string } };

/** An agent-made emptyDir: the volume's name is the last path component. */
const EMPTY_DIR_SOURCE = /\/(?:pods\/[^/]+|containers\/[0-9a-f]+)\/volumes\/([a-z0-9-]+)$/;

export function volumeFor(mount: OciMount): PodVolume | null {
  const name = mount.destination.replace(/^\/+/, '').replace(/[^a-zA-Z0-9]+/g, '-').toLowerCase() || 'root';
  if (mount.type === 'tmpfs') return { name, emptyDir: { medium: 'Memory' } };
  const isBind = mount.type === 'bind' || mount.options?.includes('bind') || mount.options?.includes('rbind');
  if (!isBind) return null;
  const emptyDir = EMPTY_DIR_SOURCE.exec(mount.source ?? '');
  if (emptyDir) return { name: emptyDir[1]!, emptyDir: {} };
  return { name, hostPath: { path: mount.source ?? '' } };
}

const TMP_VOLUME = JSON.stringify({ name: 'tmp', emptyDir: { medium: 'Memory' } });

/**
 * spec.volumes + volumeMounts → RunOptions.volumes. The runtime's own /tmp (an in-memory emptyDir
 * that configToPod shows) asks for nothing new and is accepted as is.
 */
export function podVolumesToOptions(volumes: unknown, mounts: unknown, where: string): VolumeMount[] {
  const byName = new Map<string, { hostPath?: string }>();
  if (volumes !== undefined) {
    if (!Array.isArray(volumes)) throw new Error('spec.volumes: expected a list');
    volumes.forEach((volume: unknown, index) => {
      const at = `spec.volumes[${index}]`;
      if (volume === null || typeof volume !== 'object') throw new Error(`${at}: expected a mapping`);
      if (JSON.stringify(volume) === TMP_VOLUME) return;
      const { name, emptyDir, hostPath, ...rest } = volume as Record<string, unknown>;
      if (Object.keys(rest).length) throw new Error(`${at}.${Object.keys(rest)[0]}: not supported (volumes are emptyDir or hostPath)`);
      if (typeof name !== 'string') throw new Error(`${at}.name: expected a string`);
      if (emptyDir !== undefined) {
        if (typeof emptyDir !== 'object' || emptyDir === null || Object.keys(emptyDir).length > 0) throw new Error(`${at}.emptyDir: only {} is supported (a directory on the node)`);
        byName.set(name, {});
      } else if (hostPath !== undefined) {
        const path = (hostPath as Record<string, unknown> | null)?.path;
        if (typeof path !== 'string' || !path.startsWith('/')) throw new Error(`${at}.hostPath.path: expected an absolute path`);
        byName.set(name, { hostPath: path });
      } else {
        throw new Error(`${at}: give emptyDir: {} or hostPath: {path}`);
      }
    });
  }
  if (mounts === undefined) return [];
  if (!Array.isArray(mounts)) throw new Error(`${where}.volumeMounts: expected a list`);
  return mounts.flatMap((mount: unknown, index) => {
    const at = `${where}.volumeMounts[${index}]`;
    const { name, mountPath, readOnly } = (mount ?? {}) as Record<string, unknown>;
    if (name === 'tmp' && mountPath === '/tmp' && readOnly === undefined) return [];
    if (typeof name !== 'string' || !byName.has(name)) throw new Error(`${at}.name: no volume named ${JSON.stringify(name)} in spec.volumes`);
    if (typeof mountPath !== 'string' || !mountPath.startsWith('/')) throw new Error(`${at}.mountPath: expected an absolute path`);
    if (readOnly !== undefined && typeof readOnly !== 'boolean') throw new Error(`${at}.readOnly: expected true or false`);
    const source = byName.get(name)!;
    return [{ name, mountPath, ...(readOnly ? { readOnly } : {}), ...(source.hostPath ? { hostPath: source.hostPath } : {}) }];
  });
}
