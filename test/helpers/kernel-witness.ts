/*
 * Independent witnesses for tests: what the kernel says, read without the agent's code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function nsInode(pid: number | 'self', type: string): number {
  return statSync(`/proc/${pid}/ns/${type}`).ino;
}

export function nsLink(pid: number | 'self', type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

export function ipJson<T = Record<string, unknown>[]>(args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }) || '[]') as T;
}

export function hostLinkNames(): string[] {
  return ipJson<{ ifname: string }[]>(['link', 'show']).map((link) => link.ifname);
}

/** Every cgroup directory (in any mounted hierarchy) whose name is `name`. */
export function cgroupDirsNamed(name: string): string[] {
  const found: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.includes('cgroup') || fields.includes('cgroup2'))
    .map((fields) => fields[4]!);
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      try {
        if (!statSync(path).isDirectory()) continue;
      } catch {
        continue;
      }
      if (entry === name) found.push(path);
      walk(path, depth + 1);
    }
  };
  for (const mount of mounts) walk(mount, 0);
  return found;
}

export function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function hostMountsMentioning(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(text));
}

export interface Leftovers {
  cgroups: string[];
  links: string[];
  mounts: string[];
  processes: number[];
  stateDirs: string[];
}

/** What remains of containers with these ids/pids: everything must be empty after rm. */
export function leftovers(stateRoot: string, containers: { id: string; pid: number | null }[]): Leftovers {
  const links = hostLinkNames();
  return {
    cgroups: containers.flatMap((c) => cgroupDirsNamed(c.id)),
    links: containers.flatMap((c) => links.filter((name) => name.includes(c.id.slice(0, 8)))),
    mounts: hostMountsMentioning(stateRoot),
    processes: containers.map((c) => c.pid).filter((pid): pid is number => pid !== null && processExists(pid)),
    stateDirs: containers.map((c) => join(stateRoot, 'containers', c.id)).filter((dir) => existsSync(dir)),
  };
}

export const NONE_LEFT: Leftovers = { cgroups: [], links: [], mounts: [], processes: [], stateDirs: [] };

/** The links enslaved to bridge `name` (its ports); none when it has none or is gone. */
export function bridgePorts(name: string): string[] {
  try {
    return ipJson<{ ifname: string }[]>(['link', 'show', 'master', name]).map((link) => link.ifname);
  } catch {
    return [];
  }
}

/**
 * For tests that start containers on the agent's default bridge: call before, and call the
 * returned function after — it deletes the bridge only if the test is what created it.
 */
export function removeBridgeIfCreated(name: string): () => void {
  const existed = hostLinkNames().includes(name);
  return () => {
    if (!existed && hostLinkNames().includes(name)) execFileSync('ip', ['link', 'del', name]);
  };
}
