/*
 * Finding the program to execute, the way a shell would: a name without "/" is looked up in
 * the container's PATH, inside the container's root — not the host's. The child cannot search
 * (it runs no code of its own), so the agent resolves the path beforehand.
 */
import { lstatSync, statSync } from 'node:fs';
import { badInput, quote } from '../../errors';
import { hasErrno } from '../../kernel/errors';

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

/**
 * The check runc makes in its init before it waits for `start` (exec.LookPath): the program
 * exists in the container's root, is not a directory, and has an execute bit. It must run where
 * the calling thread's "/" is the container's root, after its mounts, so that a program a bind
 * mount brings (not in any layer) is found. A missing program is then `create`'s error, not `start`'s.
 */
export function checkProgramInRoot(path: string, container: string): void {
  const refuse = (why: string): never => {
    throw badInput(`cannot execute ${quote(path)} in container "${container}": ${why}`);
  };
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    return refuse(hasErrno(error, 'ENOENT') || hasErrno(error, 'ENOTDIR') ? 'no such file in its root filesystem' : (error as Error).message);
  }
  if (stats.isDirectory()) refuse('it is a directory');
  if ((stats.mode & 0o111) === 0) refuse('it has no execute permission');
}
