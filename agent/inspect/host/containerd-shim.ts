/*
 * containerd's shims: who holds a containerd container.
 *
 * containerd does not run containers itself. For each task it starts a shim,
 * `containerd-shim-runc-v2 -namespace N -id ID -address SOCKET`, which detaches (its parent
 * becomes PID 1 or a subreaper), calls an OCI runtime (runc by default) to create and start the
 * container, and stays as the parent — the subreaper — of the container's first process, to reap
 * it and report its exit. So the chain a learner sees after `ctr run` is shim → container, and the
 * shim's command line says which containerd namespace and task it serves.
 *
 * The shim runs in the task's bundle directory (its cwd), which holds config.json, the rootfs
 * mount and options.json: the runtime options `ctr run --runc-binary B --runc-root R` set
 * ({"binary_name": B, "root": R}; empty for the defaults runc and /run/containerd/runc). The
 * runtime's state for the container is then <root>/<namespace>/<id> (./runtime-state.ts).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface ContainerdShim {
  pid: number;
  namespace: string;
  /** The task the shim was started for (a pod's shim serves its sandbox and every container of the pod). */
  id: string;
  /** containerd's socket. */
  address: string | null;
  bundle: string | null;
  /** The OCI runtime's --root for this namespace: <options root or /run/containerd/runc>/<namespace>. */
  runtimeRoot: string;
  /** The OCI runtime the shim calls: runc, crun, containers-lab-runc… (its binary's name). */
  runtime: string;
}

const DEFAULT_ROOT = '/run/containerd/runc';

/** argv of a process (NUL-separated /proc/<pid>/cmdline); [] when it is gone. */
export function readArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter((word) => word !== '');
  } catch {
    return [];
  }
}

/** Whether a process's argv[0] is a containerd shim (containerd-shim-runc-v2, -runhcs, …). */
export function isShimCommand(argv0: string): boolean {
  return basename(argv0).startsWith('containerd-shim');
}

function flag(argv: string[], name: string): string | null {
  const index = argv.indexOf(name);
  return index >= 0 && index + 1 < argv.length ? argv[index + 1]! : null;
}

/** What a shim's command line, cwd and options.json say; null when `pid` is no shim (or gone). */
export function readShim(pid: number, argv: string[] = readArgv(pid)): ContainerdShim | null {
  if (argv.length === 0 || !isShimCommand(argv[0]!)) return null;
  const namespace = flag(argv, '-namespace');
  const id = flag(argv, '-id');
  if (!namespace || !id) return null; // `containerd-shim-runc-v2 start`, the short-lived launcher
  let bundle: string | null = null;
  try {
    bundle = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // gone meanwhile
  }
  let root = DEFAULT_ROOT;
  let runtime = 'runc';
  if (bundle) {
    try {
      const options = JSON.parse(readFileSync(join(bundle, 'options.json'), 'utf8')) as { binary_name?: unknown; root?: unknown };
      if (typeof options.root === 'string' && options.root !== '') root = options.root;
      if (typeof options.binary_name === 'string' && options.binary_name !== '') runtime = basename(options.binary_name);
    } catch {
      // no options: the defaults
    }
  }
  return { pid, namespace, id, address: flag(argv, '-address'), bundle, runtimeRoot: join(root, namespace), runtime };
}
