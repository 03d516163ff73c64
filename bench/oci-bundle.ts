/*
 * An OCI bundle for runc and crun: the same container the agent makes, described the same way.
 *
 * An OCI runtime (runc, crun, and Containers Lab's own runtime) is given a *bundle*: a directory
 * holding `config.json` (what to create: namespaces, mounts, cgroup limits, the process) and the
 * root filesystem it names. To compare runtimes fairly, the document must be the same for all:
 * this bundle's config.json is produced by the very function the agent uses for
 * `container.run` (configFromRunOptions), from the very options the benchmark sends to the agent,
 * so namespaces (pid, ipc, uts, mount, network, cgroup), mounts, masked/read-only paths and limits
 * (memory, CPU quota, pids) are identical. Only two things differ, both in runc/crun's favour:
 *   - the root filesystem is a plain copy of the agent's busybox layer, not an overlay over it
 *     (runc and crun take a ready directory; the agent builds an overlay per container);
 *   - no cgroupsPath is given: runc then names the cgroup after the container id under its own
 *     cgroup, crun under each hierarchy's root. Each removes its cgroup when `run` ends.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunOptions } from '../agent/protocol';
import { configFromRunOptions } from '../agent/oci/from-run-options';

export interface OciBundle {
  /** The bundle directory (`--bundle`). */
  path: string;
  rootfs: string;
}

/**
 * Writes `<directory>/config.json` for `options` and copies `imageLayer` to `<directory>/rootfs`.
 * The hostname the agent derives from a container's name is left at "busybox" for all runs.
 */
export function createOciBundle(directory: string, imageLayer: string, options: RunOptions): OciBundle {
  mkdirSync(directory, { recursive: true });
  const rootfs = join(directory, 'rootfs');
  // Symlinks (bin/ls → busybox) are copied as symlinks, modes are kept.
  cpSync(imageLayer, rootfs, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const { name: _name, ...unnamed } = options;
  const spec = configFromRunOptions(unnamed, { rootfs: 'rootfs', name: 'busybox' });
  writeFileSync(join(directory, 'config.json'), JSON.stringify(spec, null, 2));
  return { path: directory, rootfs };
}
