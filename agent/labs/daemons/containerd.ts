/*
 * A lab's own containerd: Debian's containerd 1.6 started with a config.toml the lab writes, its
 * root, state and gRPC socket all inside the lab's `containerd/` directory — never the host's
 * /run/containerd or /var/lib/containerd: a config that names a path outside is refused before
 * anything starts. The learner drives it with `ctr -a SOCKET`, reads and repairs its config and
 * restarts it (stop the PID in containerd.pid, start `containerd --config …` again) as
 * `systemctl restart containerd` would on a node.
 *
 * Teardown leaves nothing of it: every task is killed and deleted and every container deleted
 * through containerd itself (started again from its config if the learner left it stopped), then
 * the daemon stops; a shim that outlived it (runtime v1 shims do) is killed by PID, found by the
 * socket path on its command line, with the processes it holds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { badInput } from '../../errors';
import { readMountinfoEntries } from '../../inspect/mountinfo';
import { alive, commandLine, daemonPid, startDaemon, stopDaemon, stopProcess, type DaemonFiles } from './daemon';

export interface LabContainerdSpec {
  /** The whole config.toml (version 2): root, state and [grpc] address must lie in the lab's containerd/ directory. */
  config: string;
}

export const CONTAINERD_PROGRAM = 'containerd';

export function containerdFiles(directory: string): DaemonFiles & { config: string; socket: string } {
  const config = join(directory, 'config.toml');
  return { config, socket: join(directory, 'containerd.sock'), pidFile: join(directory, 'containerd.pid'), logFile: join(directory, 'containerd.log'), marker: config };
}

/** Every path the config gives containerd to write must be inside `directory`. */
function checkConfinement(config: string, directory: string): void {
  for (const key of ['root', 'state', 'address']) {
    const values = [...config.matchAll(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, 'gm'))].map((match) => match[1]!);
    if (key !== 'address' && values.length === 0) throw badInput(`setup: the lab's containerd config must set ${key} (inside ${directory})`);
    for (const value of values) {
      if (value !== '' && !value.startsWith(`${directory}/`)) throw badInput(`setup: the lab's containerd config sets ${key} = "${value}", outside ${directory}`);
    }
  }
}

/** `ctr -a SOCKET …`, its output; throws with ctr's last line. */
export function ctr(socket: string, args: string[], timeoutMs = 30_000): string {
  try {
    return execFileSync('ctr', ['-a', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim().split('\n').pop() ?? '';
    throw badInput(`ctr ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

function answers(socket: string): boolean {
  if (!existsSync(socket)) return false;
  try {
    ctr(socket, ['version'], 5_000);
    return true;
  } catch {
    return false;
  }
}

/**
 * The node's service manager for this containerd, as a script beside its config: `restart` stops
 * the running one (by the PID file, if that process is still this containerd) and starts it again
 * from config.toml — what `systemctl restart containerd` does on a node.
 */
const RESTART_SCRIPT = `#!/bin/sh
# Restarts this lab's containerd, as \`systemctl restart containerd\` would on a node:
# stops the one running (its PID in containerd.pid), starts it again from config.toml.
dir=$(cd "$(dirname "$0")" && pwd)
pid=$(cat "$dir/containerd.pid" 2>/dev/null)
if [ -n "$pid" ] && grep -aqF -- "$dir/config.toml" "/proc/$pid/cmdline" 2>/dev/null; then
  kill "$pid"
  i=0
  while [ -d "/proc/$pid" ] && ! grep -q ') Z' "/proc/$pid/stat" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi
setsid containerd --config "$dir/config.toml" >> "$dir/containerd.log" 2>&1 < /dev/null &
echo $! > "$dir/containerd.pid"
i=0
until ctr -a "$dir/containerd.sock" version > /dev/null 2>&1; do
  if [ $i -ge 200 ] || ! [ -d "/proc/$!" ]; then echo "containerd did not start: $(tail -n 1 "$dir/containerd.log")" >&2; exit 1; fi
  sleep 0.1; i=$((i + 1))
done
echo "containerd restarted (PID $(cat "$dir/containerd.pid"))"
`;

export async function startLabContainerd(spec: LabContainerdSpec, directory: string): Promise<void> {
  const files = containerdFiles(directory);
  checkConfinement(spec.config, directory);
  mkdirSync(directory, { recursive: true });
  writeFileSync(files.config, spec.config);
  writeFileSync(join(directory, 'restart'), RESTART_SCRIPT, { mode: 0o755 });
  await startDaemon(CONTAINERD_PROGRAM, ['--config', files.config], files, async () => answers(files.socket));
}

/** Kills and deletes every task and container, stops containerd, then any shim left with its processes. */
export async function stopLabContainerd(directory: string): Promise<void> {
  const files = containerdFiles(directory);
  if (!existsSync(files.config)) return;
  if (daemonPid(files) === null && leftoverShims(files.socket).length > 0) {
    // The learner left it stopped while its shims run: start it again so that it can clean up.
    try {
      checkConfinement(readFileSync(files.config, 'utf8'), directory);
      await startDaemon(CONTAINERD_PROGRAM, ['--config', files.config], files, async () => answers(files.socket));
    } catch {
      // a config it cannot start with: the shims are killed below
    }
  }
  if (answers(files.socket)) await removeEverything(files.socket);
  await stopDaemon(files);
  for (const shim of leftoverShims(files.socket)) {
    for (const child of childrenOf(shim)) await stopProcess(child, 0);
    await stopProcess(shim, 0);
  }
}

async function removeEverything(socket: string): Promise<void> {
  const quietly = (args: string[]): string => {
    try {
      return ctr(socket, args);
    } catch {
      return '';
    }
  };
  for (const namespace of quietly(['namespaces', 'ls', '-q']).split('\n').filter(Boolean)) {
    const inNamespace = (args: string[]): string => quietly(['-n', namespace, ...args]);
    for (const id of inNamespace(['tasks', 'ls', '-q']).split('\n').filter(Boolean)) {
      inNamespace(['tasks', 'kill', '-a', '-s', 'SIGKILL', id]);
      for (let round = 0; round < 100 && new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm').test(inNamespace(['tasks', 'ls'])); round++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      inNamespace(['tasks', 'delete', '-f', id]);
    }
    for (const id of inNamespace(['containers', 'ls', '-q']).split('\n').filter(Boolean)) inNamespace(['containers', 'delete', id]);
    quietly(['namespaces', 'remove', namespace]);
    // The runc v2 shim's default runtime root for the namespace (ctr run --runc-binary without --runc-root).
    removeEmptyTree(join('/run/containerd/runc', namespace));
    // ctr names each container's cgroup /NAMESPACE/ID; a runtime removes the container's, not the namespace's.
    for (const hierarchy of cgroupHierarchies()) removeEmptyTree(join(hierarchy, namespace));
  }
}

/** containerd-shim processes (any version) serving this socket: `-address SOCKET` on their command line. */
export function leftoverShims(socket: string): number[] {
  return processes().filter((pid) => {
    const argv = commandLine(pid);
    const at = argv.indexOf('-address');
    return basename(argv[0] ?? '').startsWith('containerd-shim') && at >= 0 && (argv[at + 1] === socket || argv[at + 1] === `unix://${socket}`);
  });
}

export function processes(): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
}

export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  return processes().filter((candidate) => alive(candidate) && parentOf(candidate) === pid);
}

/** Where each cgroup hierarchy (v1 controllers, v2) is mounted in the agent's mount namespace. */
function cgroupHierarchies(): string[] {
  return readMountinfoEntries('self').filter((entry) => entry.fstype === 'cgroup' || entry.fstype === 'cgroup2').map((entry) => entry.target);
}

/** rmdir bottom-up: only empty directories go (a runtime root that still holds state stays; cgroup directories cannot be rm -r'd). */
export function removeEmptyTree(directory: string): void {
  if (!existsSync(directory)) return;
  for (const entry of readdirSync(directory, { withFileTypes: true })) if (entry.isDirectory()) removeEmptyTree(join(directory, entry.name));
  try {
    rmdirSync(directory);
  } catch {
    // not empty
  }
}
