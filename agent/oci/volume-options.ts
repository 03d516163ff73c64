/*
 * Volumes: directories from outside the container's image, bind-mounted into its root.
 *
 * A bind mount makes one directory visible at a second place; the data is not copied and writes
 * go straight to it, past the overlay. Kubernetes names two kinds the lab has:
 *   hostPath  a directory of the host (the lab VM) — shared with everything else on the host;
 *   emptyDir  a fresh, empty directory made for the pod and deleted with it — the way the
 *             containers of one pod hand files to each other.
 */
import { isAbsolute, posix } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { badInput, quote } from '../errors';
import type { OciMount, RunOptions, VolumeMount } from '../protocol';

const VOLUME_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Where an emptyDir volume named `name` lives on the host (the runtime knows: per pod, or per container). */
export type EmptyDirLocator = (name: string) => string;

export function volumeMounts(options: RunOptions, emptyDir: EmptyDirLocator): OciMount[] {
  if (options.volumes === undefined) return [];
  if (!Array.isArray(options.volumes)) throw badInput('invalid volumes: give a list of { name, mountPath, hostPath?, readOnly? }');
  const seen = new Set<string>();
  return options.volumes.map((volume: VolumeMount) => {
    if (typeof volume !== 'object' || volume === null) throw badInput('invalid volume: give { name, mountPath }');
    if (typeof volume.name !== 'string' || !VOLUME_NAME.test(volume.name)) {
      throw badInput(`invalid volume name ${quote(volume.name)}: use lowercase letters, digits and '-' (a DNS label)`);
    }
    if (typeof volume.mountPath !== 'string' || !volume.mountPath.startsWith('/') || posix.normalize(volume.mountPath) === '/') {
      throw badInput(`invalid mountPath ${quote(volume.mountPath)} for volume ${volume.name}: use an absolute path other than /`);
    }
    const destination = posix.normalize(volume.mountPath);
    if (seen.has(destination)) throw badInput(`two volumes are mounted at ${quote(destination)}`);
    seen.add(destination);
    let source: string;
    if (volume.hostPath !== undefined) {
      if (typeof volume.hostPath !== 'string' || !isAbsolute(volume.hostPath)) throw badInput(`invalid hostPath ${quote(volume.hostPath)}: use an absolute path on the host`);
      if (!existsSync(volume.hostPath) || !statSync(volume.hostPath).isDirectory()) throw badInput(`hostPath ${quote(volume.hostPath)} is not a directory on the host`);
      source = volume.hostPath;
    } else {
      source = emptyDir(volume.name);
    }
    const options = ['rbind', 'nosuid', 'nodev'];
    if (volume.readOnly) options.push('ro');
    return { destination, type: 'bind', source, options };
  });
}
