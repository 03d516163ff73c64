/*
 * What a learner makes by hand on the lab host, outside the agent — a container of `unshare` and
 * `chroot`, a named network namespace, a veth — has no record the runtime could remove. Teardown
 * removes it by what the lab file names (cleanup.netns, cleanup.links) and by where it lives:
 * processes whose root directory is inside the lab's work directory are killed, and whatever is
 * mounted beneath the work directory in the host's mount namespace (a wrong answer's `mount -t
 * proc` without `--mount`) is detached before the directory is deleted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
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
