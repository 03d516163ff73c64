/*
 * What a learner makes by hand on the lab host, outside the agent — a container of `unshare` and
 * `chroot`, a named network namespace, a veth — has no record the runtime could remove. Teardown
 * removes it by what the lab file names (cleanup.netns, cleanup.links) and by where it lives:
 * processes whose root directory is inside the lab's work directory are killed, and whatever is
 * mounted beneath the work directory in the host's mount namespace (a wrong answer's `mount -t
 * proc` without `--mount`) is detached before the directory is deleted. Containers the learner ran
 * with a state root of their own inside it (`containers-lab --root {{workdir}}/traced run …`) are
 * removed by that root's CLI: their cgroups, mounts and links are on the host, not in the directory.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readMountinfoEntries } from '../inspect/mountinfo';

const quietly = (program: string, args: string[]): void => {
  try {
    execFileSync(program, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
};

/** Kills every process whose root directory is `directory` or beneath it; waits until they are gone. */
export async function killProcessesRootedIn(directory: string): Promise<void> {
  const rooted = (): number[] => readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
    try {
      const root = readlinkSync(`/proc/${entry}/root`);
      return root === directory || root.startsWith(`${directory}/`) ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
  for (let round = 0; round < 50; round++) {
    const pids = rooted();
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Detaches every mount beneath `directory` in this mount namespace, deepest first. */
export function unmountBeneath(directory: string): void {
  const targets = readMountinfoEntries('self').map((entry) => entry.target).filter((target) => target.startsWith(`${directory}/`));
  for (const target of targets.sort((a, b) => b.length - a.length)) quietly('umount', ['-l', target]);
}

export function removeNamedNetns(names: readonly string[]): void {
  for (const name of names) if (name && existsSync(`/run/netns/${name}`)) quietly('ip', ['netns', 'delete', name]);
}

export function removeHostLinks(names: readonly string[]): void {
  for (const name of names) if (name && existsSync(`/sys/class/net/${name}`)) quietly('ip', ['link', 'delete', name]);
}

/** State roots inside `directory` (up to two levels down) that hold containers: each has containers/<id>/. */
function stateRootsBeneath(directory: string, depth = 2): string[] {
  if (depth === 0 || !existsSync(directory)) return [];
  const roots: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = join(directory, entry.name);
    const containers = join(path, 'containers');
    if (existsSync(containers) && readdirSync(containers).length > 0) roots.push(path);
    else roots.push(...stateRootsBeneath(path, depth - 1));
  }
  return roots;
}

/** The containers of each state root inside `directory`: their ids, by root. */
export function containersOfRootsBeneath(directory: string): { root: string; ids: string[] }[] {
  return stateRootsBeneath(directory).map((root) => ({ root, ids: readdirSync(join(root, 'containers')) }));
}

/** Removes (forced) every container of every state root inside `directory`, with `cli` (the containers-lab command). */
export async function removeContainersOfRootsBeneath(directory: string, cli: string): Promise<void> {
  for (const { root, ids } of containersOfRootsBeneath(directory)) {
    await new Promise<void>((resolve) => {
      execFile('sh', ['-c', `${cli} --root "$0" rm -f "$@"`, root, ...ids], { timeout: 60_000 }, () => resolve());
    });
  }
}
