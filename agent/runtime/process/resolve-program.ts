/*
 * Finding the program to execute, the way a shell would: a name without "/" is looked up in
 * the container's PATH, inside the container's root — not the host's. The child cannot search
 * (it runs no code of its own), so the agent resolves the path beforehand.
 */
import { lstatSync } from 'node:fs';
import { badInput } from '../../errors';

/** `exists` answers for a path inside the container (see existsInLayers for a host-side view of it). */
export function resolveProgram(name: string, env: readonly string[], exists: (pathInContainer: string) => boolean): string {
  if (name.length === 0) throw badInput('no command given');
  if (name.includes('/')) return name.startsWith('/') ? name : `/${name}`;
  const path = env.find((entry) => entry.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const directory of path.split(':').filter(Boolean)) {
    const candidate = `${directory.replace(/\/$/, '')}/${name}`;
    if (exists(candidate)) return candidate;
  }
  throw badInput(`executable "${name}" not found in the container's PATH (${path})`);
}

/** Existence in any of several host directories stacked like an overlay (upper first). */
export function existsInLayers(layers: readonly string[]): (pathInContainer: string) => boolean {
  return (pathInContainer) =>
    layers.some((layer) => {
      try {
        // lstat: an absolute symlink inside a layer points into the container, not the host.
        lstatSync(`${layer}${pathInContainer}`);
        return true;
      } catch {
        return false;
      }
    });
}
