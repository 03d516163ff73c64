/*
 * Device files: the container's /dev.
 *
 * /dev in a container is a small tmpfs holding only the harmless devices programs expect: null,
 * zero, full, random, urandom and tty. Creating device nodes with mknod(2) is not allowed inside a
 * user namespace, so, like rootless runtimes, the agent bind-mounts the host's device files onto
 * empty files instead — a bind mount of a device is the same device. Terminals come from the
 * container's own devpts instance (/dev/pts, /dev/ptmx → pts/ptmx), so its ttys are its own.
 */
import { closeSync, existsSync, openSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { MS_BIND } from '../kernel/constants';
import { mount } from '../kernel/mounts';

export const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

const LINKS: [string, string][] = [
  ['ptmx', 'pts/ptmx'],
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

/** Populates `devDir` (the container's /dev tmpfs, seen from the host side of its mount namespace). */
export function populateDev(devDir: string): void {
  for (const device of DEVICES) {
    const target = join(devDir, device);
    closeSync(openSync(target, 'a', 0o666));
    mount(`/dev/${device}`, target, null, MS_BIND);
  }
  for (const [name, target] of LINKS) {
    if (!existsSync(join(devDir, name))) symlinkSync(target, join(devDir, name));
  }
}
