/*
 * Where container cgroups go in the tree, and what names may be used there.
 *
 * The agent never creates cgroups at the top of a hierarchy: it places every container under a
 * cgroup of its own, `<own cgroup>/containers-lab/<name>`. That keeps the lab's groups inside
 * whatever the agent was given (a systemd service's delegated subtree, a CI job's cgroup), so
 * the limits of that parent still bound everything the lab starts, and removing the lab leaves
 * the rest of the tree as it was. A name becomes a directory name, so it must not be able to
 * climb out of that place ("..", "/").
 *
 * config.json's linux.cgroupsPath chooses another place. runc reads an absolute path from the
 * top of each hierarchy and a relative one from its own cgroup; this agent reads both from its
 * own cgroup — "/kubepods/pod1/c1" and "kubepods/pod1/c1" alike become <own>/kubepods/pod1/c1 —
 * so a document can never put a container outside the subtree the agent was given. Missing
 * cgroups on the way are made, and removed again with the container once nothing else uses
 * them, as containers-lab/ is. containers-lab-runc follows runc (../../runc/root.ts): its caller
 * is root and plans the tree, so an absolute path starts at the top, and only the cgroups the
 * container's creation made on the way are removed with it (deepestExisting).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput, conflict, LabError } from '../../errors';
import { hasErrno } from '../../kernel/errors';
import type { CgroupLimits } from '../../protocol';
import { makeDirectory, readPids, removeDirectory, removeIfUnused } from './cgroupfs';

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

/** `<own>/containers-lab/<name>`, or `<own>/<at>` for a container placed by linux.cgroupsPath. */
export function containerCgroupPath(own: string, name: string, at?: string): string {
  return `${own === '/' ? '' : own}/${at ?? `${CONTAINERS_DIR}/${name}`}`;
}

/** One cgroup directory name: what mkdir accepts and a path cannot climb out of. */
const SEGMENT = /^[A-Za-z0-9_.:@+-]{1,255}$/;
const MAX_DEPTH = 16;

/**
 * Why linux.cgroupsPath cannot be used, or null. ".." is refused rather than resolved: a path
 * that climbs could leave the agent's subtree, and one that does not climb needs no "..".
 */
export function cgroupsPathProblem(cgroupsPath: string): string | null {
  const segments = cgroupsPath.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) return 'names no cgroup';
  if (segments.length > MAX_DEPTH) return `is ${segments.length} levels deep: at most ${MAX_DEPTH}`;
  const bad = segments.find((segment) => segment === '.' || segment === '..' || !SEGMENT.test(segment));
  if (bad !== undefined) return bad === '.' || bad === '..' ? `may not contain "${bad}"` : 'may use only letters, digits and _ . : @ + - between its slashes';
  if (segments[0] === AGENT_LEAF) return `is the agent's own cgroup (${AGENT_LEAF})`;
  if (segments.length === 1 && segments[0] === CONTAINERS_DIR) return `is the cgroup that holds every container's (${CONTAINERS_DIR})`;
  return null;
}

/** linux.cgroupsPath (checked by cgroupsPathProblem) → the path under the agent's own cgroup. */
export function placementFrom(cgroupsPath: string): string {
  return cgroupsPath.split('/').filter((segment) => segment !== '').join('/');
}

/**
 * The deepest cgroup from `floor` (which exists) towards `directory` that exists already: the
 * floor of a cgroup placed by someone else's plan (containerd's /default, a kubelet's pod cgroup),
 * so that removing the container removes what its creation made and nothing that was there before.
 */
export function deepestExisting(directory: string, floor: string): string {
  let deepest = floor;
  for (let parent = path.dirname(directory); parent.startsWith(`${floor}/`); parent = path.dirname(parent)) {
    if (fs.existsSync(parent)) {
      deepest = parent;
      break;
    }
  }
  return deepest;
}

/**
 * Makes the missing cgroups strictly between `floor` (the agent's own, which exists) and
 * `directory`; returns those it made, outermost first. A cgroup on the way that holds processes
 * is refused: cgroup v2 forbids a cgroup with children to hold processes ("no internal
 * processes"), and on v1 the container would nest inside — and block the removal of — someone
 * else's group.
 */
export function makeCgroupParents(directory: string, floor: string): string[] {
  const ancestors: string[] = [];
  for (let parent = path.dirname(directory); parent.startsWith(`${floor}/`); parent = path.dirname(parent)) ancestors.unshift(parent);
  for (const ancestor of ancestors) {
    if (readPids(path.join(ancestor, 'cgroup.procs')).length > 0) throw conflict(`cgroup ${ancestor} holds processes: a container's cgroup cannot go inside it`);
  }
  const made: string[] = [];
  try {
    for (const ancestor of ancestors) if (makeDirectory(ancestor)) made.push(ancestor);
  } catch (error) {
    for (const dir of made.reverse()) removeIfUnused(dir);
    throw error;
  }
  return made;
}

/**
 * Makes the cgroup `directory` and the missing ones on its way from `floor`; false when
 * `directory` existed already. Another agent may remove a shared parent (containers-lab/) at any
 * moment, when its last container goes: then the mkdir sees ENOENT and the walk starts again.
 */
export function makeCgroupDirectory(directory: string, floor: string): boolean {
  for (let attempt = 1; ; attempt++) {
    const made = makeCgroupParents(directory, floor);
    try {
      if (makeDirectory(directory)) return true;
    } catch (error) {
      if (!hasErrno(error, 'ENOENT') || attempt >= 3) throw error;
      continue;
    }
    for (const dir of made.reverse()) removeIfUnused(dir);
    return false;
  }
}

/**
 * Removes a container's cgroup `directory`, then each cgroup above it that nothing uses any more,
 * up to (not including) `floor`. Without a floor — a record made by an agent in another cgroup —
 * only the shared containers-lab/ parent is tidied, as before linux.cgroupsPath existed.
 */
export function removeCgroupDirectory(directory: string, floor: string | undefined): void {
  removeDirectory(directory);
  const parent = path.dirname(directory);
  if (floor === undefined || !parent.startsWith(`${floor}/`)) {
    if (path.basename(parent) === CONTAINERS_DIR) removeIfUnused(parent);
    return;
  }
  // Each emptied cgroup on the way goes; the first one still in use stops the walk.
  let dir = parent;
  while (dir.startsWith(`${floor}/`) && removeIfUnused(dir)) dir = path.dirname(dir);
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
