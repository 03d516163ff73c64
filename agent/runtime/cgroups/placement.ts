/*
 * Where container cgroups go in the tree, and what names may be used there.
 *
 * The agent never creates cgroups at the top of a hierarchy: it places every container under a
 * cgroup of its own, `<own cgroup>/containers-lab/<name>`. That keeps the lab's groups inside
 * whatever the agent was given (a systemd service's delegated subtree, a CI job's cgroup), so
 * the limits of that parent still bound everything the lab starts, and removing the lab leaves
 * the rest of the tree as it was. A name becomes a directory name, so it must not be able to
 * climb out of that place ("..", "/").
 */
import { badInput, LabError } from '../../errors';
import type { CgroupLimits } from '../../protocol';

/** The directory under the agent's own cgroup that holds one cgroup per container. */
export const CONTAINERS_DIR = 'containers-lab';
/**
 * cgroup v2 only: the leaf the agent moves its own cgroup's processes into when it must enable
 * controllers in that cgroup (v2's "no internal processes" rule, see ./v2.ts).
 */
export const AGENT_LEAF = 'containers-lab-agent';

/** Throws badInput unless `name` is one safe directory name. */
export function validateCgroupName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(name) || name.includes('..') || name === '.') {
    throw badInput(`invalid cgroup name ${JSON.stringify(name)}: use 1-128 letters, digits, '-', '_' and '.' (no '..' or '/')`);
  }
}

/**
 * The cgroup containers are placed under. A process that was moved into AGENT_LEAF by an
 * earlier run reports that leaf as its cgroup; its parent is the real "own" cgroup.
 */
export function ownCgroupFrom(reported: string): string {
  const suffix = `/${AGENT_LEAF}`;
  return reported.endsWith(suffix) ? reported.slice(0, -suffix.length) || '/' : reported;
}

export function containerCgroupPath(own: string, name: string): string {
  return `${own === '/' ? '' : own}/${CONTAINERS_DIR}/${name}`;
}

/** Which controller a limit needs; a limit left null needs nothing. */
export function controllersForLimits(limits: CgroupLimits): string[] {
  const needed: string[] = [];
  if (limits.memoryBytes !== null) needed.push('memory');
  if (limits.cpuQuotaUs !== null) needed.push('cpu');
  if (limits.pids !== null) needed.push('pids');
  return needed;
}

export function unsupportedController(controller: string, where: string): LabError {
  return new LabError('unsupported', `cgroup controller "${controller}" is not available on this host (${where})`);
}
