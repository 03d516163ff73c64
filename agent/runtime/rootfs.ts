/*
 * The root filesystem: from an overlay directory to the container's "/".
 *
 * Inside the container's fresh mount namespace (a copy of the host's mount table) the agent:
 *   1. makes every mount private, so nothing done here propagates back to the host (or, for
 *      linux.rootfsPropagation "slave", a slave: the host's mounts still reach it, nothing flows back);
 *   2. mounts the overlay at <container>/merged and the config's mounts below it — tmpfs /dev
 *      with its devices, devpts, /dev/shm, sysfs, /tmp, mqueue — in config.json's order — and
 *      makes linux.devices' nodes;
 *   3. lets the container's first process mount /proc itself, at its place in that order (the
 *      agent stops before it and goes on after): a proc mount shows the PID namespace of the
 *      process that mounts it, and only that process is inside it;
 *   4. pivot_root(2) into merged: the old root is stacked beneath the new one and detached with
 *      umount2(MNT_DETACH). Unlike chroot(2), which only changes where "/" resolves for one
 *      process, the host's tree is then unreachable from the mount namespace altogether;
 *      (runc's --no-pivot, for a root on a ramdisk where pivot_root refuses: moveRootInto below);
 *   5. hides what must not be seen (maskedPaths: /proc/kcore, …) and makes read-only what must
 *      not be written (readonlyPaths: /proc/sys, …); then gives the new root a "shared" or
 *      "unbindable" linux.rootfsPropagation (a shared root's peer group is the container's own).
 */
import { chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupRecord, OciMount, OciSpec, RootfsRecord } from '../protocol';
import { mountCgroupTree } from './cgroup-mount';
import { MNT_DETACH, MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SLAVE } from '../kernel/constants';
import { chdir } from '../kernel/files';
import { hasErrno } from '../kernel/errors';
import { chroot, mount, pivotRoot, umount } from '../kernel/mounts';
import { readMountinfoEntries } from '../inspect/mountinfo';
import { configFieldError } from '../oci/validate';
import { populateDev } from './devices';
import { createDeviceNodes } from './device-nodes';
import { parseMountOptions, PROPAGATIONS } from './mount-options';
import { mountOverlay } from './overlay';
import { hostIdFor } from './user-namespace';

export const PROC_MOUNT_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/** linux.rootfsPropagation takes the same words as a mount's options. */
export const ROOTFS_PROPAGATIONS = PROPAGATIONS;

/**
 * Where linux.rootfsPropagation acts. Before anything is mounted, the whole namespace becomes
 * private, or a slave of the host's mounts for "slave"/"rslave" (runc's default; this runtime's
 * default stays private) — either way nothing made here reaches the host. "shared" and
 * "unbindable" could not be given there without the root's mounts leaking to the host or
 * pivot_root refusing a shared parent, so they go on the new "/" once it is the root, as runc does.
 */
export function rootPropagation(spec: OciSpec): { whole: number; newRoot: number | null } {
  const word = spec.linux?.rootfsPropagation ?? '';
  const flags = Object.hasOwn(ROOTFS_PROPAGATIONS, word) ? ROOTFS_PROPAGATIONS[word] : undefined;
  if (flags === undefined || (flags & MS_PRIVATE) !== 0) return { whole: MS_REC | MS_PRIVATE, newRoot: null };
  if ((flags & MS_SLAVE) !== 0) return { whole: MS_REC | MS_SLAVE, newRoot: null };
  return { whole: MS_REC | MS_PRIVATE, newRoot: flags };
}

/** Mounts done by the child itself rather than the agent (see step 3). */
export function isChildMount(m: OciMount): boolean {
  return m.type === 'proc';
}

/**
 * config.json's mounts around the one the first process makes itself (/proc): the kernel lists
 * mounts in the order they are made, and the runtime-spec wants them made in the config's order,
 * so the agent mounts those before /proc, lets the child mount /proc, then mounts the rest.
 * Without a proc mount everything is `beforeProc`.
 */
export interface MountPhases {
  beforeProc: OciMount[];
  proc: OciMount | null;
  afterProc: OciMount[];
}

export function mountPhases(spec: OciSpec): MountPhases {
  const mounts = spec.mounts ?? [];
  const at = mounts.findIndex(isChildMount);
  if (at < 0) return { beforeProc: [...mounts], proc: null, afterProc: [] };
  return { beforeProc: mounts.slice(0, at), proc: mounts[at]!, afterProc: mounts.slice(at + 1) };
}

/**
 * Steps 1-2 up to /proc: run inside the container's mount namespace (and its net/ipc namespaces,
 * for sysfs/mqueue). The root is an overlay over image layers, or an OCI bundle's own directory,
 * which is bind mounted onto itself: pivot_root needs the new root to be a mount point. Returns
 * the root as the agent sees it. The directory /proc goes on is made here, for the child.
 */
export function assembleRootfs(spec: OciSpec, layers: RootfsRecord | { bundle: string }, cgroup: CgroupRecord | null = null, beforeOverlay: () => void = () => {}): string {
  mount(null, '/', null, rootPropagation(spec).whole);
  let root: string;
  if ('bundle' in layers) {
    root = layers.bundle;
    mount(root, root, null, MS_BIND | MS_REC);
  } else {
    root = layers.merged;
    // A user-namespaced container's lowers are idmapped here, where nothing propagates (./userns-layers.ts).
    beforeOverlay();
    mountOverlay(layers);
  }
  const { beforeProc, proc } = mountPhases(spec);
  mountEach(root, beforeProc, cgroup);
  if (proc) ensureDirectory(join(root, proc.destination));
  return root;
}

/**
 * Step 2 after /proc, once the child has mounted it: the config's remaining mounts, then the
 * devices of a /dev the config mounts (files bind mounted onto a fresh tmpfs, whichever phase it
 * was in) and linux.devices' nodes.
 */
export function finishRootfs(spec: OciSpec, root: string, cgroup: CgroupRecord | null = null): void {
  mountEach(root, mountPhases(spec).afterProc, cgroup);
  if ((spec.mounts ?? []).some((m) => m.destination === '/dev' && !isChildMount(m))) populateDev(join(root, 'dev'));
  createDeviceNodes(spec, root);
}

function mountEach(root: string, mounts: readonly OciMount[], cgroup: CgroupRecord | null): void {
  for (const m of mounts) {
    if (m.type === 'cgroup' || m.type === 'cgroup2') mountCgroupTree(join(root, m.destination), cgroup, parseMountOptions(m.options).flags);
    else mountInto(root, m);
  }
}

function ensureDirectory(path: string): void {
  if (!existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o755 });
}

function mountInto(root: string, m: OciMount): void {
  const target = join(root, m.destination);
  if (target !== root && !target.startsWith(`${root}/`)) throw new Error(`mount destination ${m.destination} leaves the root`);
  const options = parseMountOptions(m.options);
  const isBind = (options.flags & MS_BIND) !== 0 || m.type === 'bind';
  if (isBind && m.source && !statSync(m.source).isDirectory()) {
    if (!existsSync(target)) writeFileSync(target, '');
  } else {
    ensureDirectory(target);
  }
  if (isBind) {
    mount(m.source ?? null, target, null, MS_BIND | (options.flags & MS_REC));
    // Bind mounts ignore most flags on creation; they take effect on a remount.
    const extra = options.flags & ~(MS_BIND | MS_REC);
    if (extra) mount(null, target, null, MS_REMOUNT | MS_BIND | extra);
  } else {
    mount(m.source ?? m.type ?? 'none', target, m.type ?? null, options.flags, options.data);
  }
  if (options.propagation) mount(null, target, null, options.propagation);
}

/** Step 4: make merged the root. The calling thread must be inside the mount namespace. */
export function pivotInto(merged: string): void {
  chdir(merged);
  // pivot_root(".", ".") stacks the old root on top of the new one: no put_old directory is
  // needed inside the container, and unmounting "." then removes the old root.
  pivotRoot('.', '.');
  umount('.', MNT_DETACH);
  chdir('/');
}

/**
 * Step 4 without pivot_root (runc's --no-pivot, for roots pivot_root refuses: an initramfs's
 * rootfs cannot be pivoted away from). The host's other mounts are detached, the root's mount is
 * moved over "/" (MS_MOVE) and the process chroots into it — this thread here, the container's
 * first process itself (it chdir'd into the root before the move: ../lifecycle/create.ts).
 *
 * Weaker than pivot_root: the host's root filesystem stays mounted beneath the container's in its
 * mount namespace (chroot(2) only changes where "/" resolves for one process; the mount table
 * keeps both). A program with CAP_SYS_ADMIN that unmounts "/" uncovers it, and every process that
 * enters the namespace afterwards — setns(2) lands on the namespace root's topmost mount, as
 * `exec` does — finds itself in the host's "/". After pivot_root the old root is gone from the
 * namespace: there is nothing beneath to uncover (test/runc-root-fds.test.ts shows both).
 */
export function moveRootInto(root: string, pid: number): void {
  const outside = readMountinfoEntries(pid)
    .map((entry) => entry.target)
    .filter((target) => target !== '/' && target !== root && !target.startsWith(`${root}/`) && !root.startsWith(`${target}/`))
    .sort((a, b) => b.length - a.length);
  for (const target of outside) {
    try {
      umount(target, MNT_DETACH);
    } catch (error) {
      // gone with a parent detached before it, or stacked under another
      if (!hasErrno(error, 'EINVAL') && !hasErrno(error, 'ENOENT')) throw error;
    }
  }
  chdir(root);
  mount(root, '/', null, MS_MOVE);
  chroot('.');
  chdir('/');
}

/**
 * After pivot_root, before the root may turn read-only: the program's working directory. The
 * child's chdir cannot fail loudly — it runs no code of its own, and a failed chdir would leave
 * the program in "/" — so a directory the image lacks is made here (0755, owned by the
 * container's root), as runc does; something else at that path is refused in one line.
 */
export function makeWorkingDirectory(spec: OciSpec): void {
  const cwd = spec.process?.cwd ?? '/';
  const userns = (spec.linux?.namespaces ?? []).some((entry) => entry.type === 'user');
  const uid = userns ? hostIdFor(spec.linux?.uidMappings ?? [], 0) ?? 0 : 0;
  const gid = userns ? hostIdFor(spec.linux?.gidMappings ?? [], 0) ?? 0 : 0;
  let path = '';
  for (const part of cwd.split('/').filter(Boolean)) {
    path += `/${part}`;
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      if (!hasErrno(error, 'ENOENT')) throw error;
      try {
        mkdirSync(path, 0o755);
      } catch (made) {
        throw configFieldError(['process', 'cwd'], `cannot be made in the container: mkdir ${path} gave ${(made as { code?: string }).code ?? 'an error'}`);
      }
      chownSync(path, uid, gid);
      continue;
    }
    if (!stats.isDirectory()) throw configFieldError(['process', 'cwd'], `is not a directory in the container (${path} is not one)`);
  }
}

/** Step 5, after pivot_root and once /proc exists; the calling thread's "/" is the container's. */
export function restrictPaths(spec: OciSpec): void {
  for (const path of spec.linux?.maskedPaths ?? []) {
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) mount('tmpfs', path, 'tmpfs', MS_RDONLY);
    else mount('/dev/null', path, null, MS_BIND);
  }
  for (const path of spec.linux?.readonlyPaths ?? []) {
    if (!existsSync(path)) continue;
    mount(path, path, null, MS_BIND | MS_REC);
    mount(null, path, null, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC);
  }
  if (spec.root?.readonly) mount(null, '/', null, MS_REMOUNT | MS_BIND | MS_RDONLY);
  // Last: an unbindable root would refuse the bind mounts of the read-only paths above.
  const { newRoot } = rootPropagation(spec);
  if (newRoot !== null) mount(null, '/', null, newRoot);
}
