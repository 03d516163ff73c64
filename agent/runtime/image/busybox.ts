/*
 * The busybox image: a read-only lower layer built once from the host's static busybox.
 *
 * A container image is, at bottom, a directory tree that becomes the container's `/`. Every
 * container of an image shares that tree read-only as the *lower* layer of an overlay mount;
 * each container's writes go to its own *upper* directory, so the image itself never changes.
 *
 * Busybox makes the smallest useful image: one statically linked program that is `sh`, `ls`,
 * `ps`, `ip`, `ping` and ~270 other tools, choosing which by the name it was started under
 * (argv[0]). The layer is that binary at /bin/busybox, one symlink per tool (bin/ls → busybox),
 * the few /etc files programs expect (passwd, group, hostname, hosts, resolv.conf), and empty
 * mount points (/proc, /sys, /dev, /tmp) the runtime mounts over.
 *
 * It is built in a temporary directory and renamed into place: rename(2) is atomic, so the
 * layer either exists complete or not at all, and of two agents building at once the first
 * rename wins while the second finds the directory taken and discards its own copy.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LabError, badInput } from '../../errors';
import { readElfFacts } from './elf';

export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const INSTALL_HINT = "install Debian's busybox-static (apt-get install busybox-static)";
const BUILD_PREFIX = '.busybox-build-';

export interface BusyboxImage {
  name: 'busybox';
  /** The layer's root directory: the overlay's lower dir. */
  path: string;
}

export interface BusyboxImageStatus extends BusyboxImage {
  ready: boolean;
}

function imageDir(stateRoot: string): string {
  return path.join(stateRoot, 'images', 'busybox');
}

export function busyboxImageStatus(stateRoot: string): BusyboxImageStatus {
  const rootfs = path.join(imageDir(stateRoot), 'rootfs');
  return { name: 'busybox', path: rootfs, ready: fs.existsSync(rootfs) };
}

/**
 * Finds the host's busybox and proves it can run in an empty root: static, and for this CPU.
 * `candidates` is where to look, first match wins (tests pass their own).
 */
export function findStaticBusybox(candidates: string | string[] = BUSYBOX_CANDIDATES): string {
  const paths = typeof candidates === 'string' ? [candidates] : candidates;
  const found = paths.find((candidate) => fs.existsSync(candidate));
  if (found === undefined) {
    throw new LabError('unsupported', `busybox not found at ${paths.join(' or ')}: ${INSTALL_HINT}`);
  }
  const facts = fs.statSync(found).isFile() ? readElfFacts(found) : null;
  if (!facts) throw badInput(`${found} is not an ELF executable: ${INSTALL_HINT}`);
  if (facts.interpreter !== null) {
    throw new LabError(
      'unsupported',
      `busybox at ${found} is dynamically linked (it needs ${facts.interpreter}, which a container does not have): ${INSTALL_HINT}`,
    );
  }
  if (facts.arch !== process.arch) {
    throw new LabError('unsupported', `busybox at ${found} is built for ${facts.arch}, this host is ${process.arch}: ${INSTALL_HINT}`);
  }
  return found;
}

/**
 * Builds the layer if it is missing and returns it; safe to call from several agents at once.
 * `busybox` overrides where to look for the host binary.
 */
export function ensureBusyboxImage(stateRoot: string, busybox: string | string[] = BUSYBOX_CANDIDATES): BusyboxImage {
  const status = busyboxImageStatus(stateRoot);
  if (status.ready) return { name: 'busybox', path: status.path };

  const binary = findStaticBusybox(busybox);
  const imagesDir = path.dirname(imageDir(stateRoot));
  // World-traversable: in a user namespace the container's root is an unprivileged host uid that
  // must still reach its lower layer.
  fs.mkdirSync(imagesDir, { recursive: true, mode: 0o755 });
  removeAbandonedBuilds(imagesDir);

  const build = fs.mkdtempSync(path.join(imagesDir, `${BUILD_PREFIX}${process.pid}-`));
  try {
    const appletCount = buildLayer(path.join(build, 'rootfs'), binary);
    const metadata = { name: 'busybox', source: binary, applets: appletCount, builtAt: new Date().toISOString() };
    fs.writeFileSync(path.join(build, 'image.json'), `${JSON.stringify(metadata, null, 2)}\n`);
    fs.chmodSync(build, 0o755);
    try {
      fs.renameSync(build, imageDir(stateRoot));
    } catch (error) {
      // Another builder got there first: its layer is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
  return { name: 'busybox', path: busyboxImageStatus(stateRoot).path };
}

/** Build directories of agents that died mid-build (their PID no longer exists). */
function removeAbandonedBuilds(imagesDir: string): void {
  for (const entry of fs.readdirSync(imagesDir)) {
    if (!entry.startsWith(BUILD_PREFIX)) continue;
    const pid = Number(entry.slice(BUILD_PREFIX.length).split('-')[0]);
    if (pid !== process.pid && !fs.existsSync(`/proc/${pid}`)) {
      fs.rmSync(path.join(imagesDir, entry), { recursive: true, force: true });
    }
  }
}

function makeDir(root: string, relative: string, mode: number): void {
  const dir = path.join(root, relative);
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode); // explicit: mkdir's mode is filtered by the agent's umask
}

function writeFile(root: string, relative: string, text: string, mode = 0o644): void {
  const file = path.join(root, relative);
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
}

/** Fills `rootfs` with busybox, its applet links and /etc; returns the number of applets. */
function buildLayer(rootfs: string, binary: string): number {
  makeDir(rootfs, '.', 0o755);
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'dev', 'proc', 'sys', 'home', 'var', 'run']) {
    makeDir(rootfs, dir, 0o755);
  }
  makeDir(rootfs, 'tmp', 0o1777);
  makeDir(rootfs, 'var/tmp', 0o1777);
  // 0755, not Debian's 0700: inside a user namespace the container's root is not the host's
  // root and could not even enter a 0700 directory the host's root owns.
  makeDir(rootfs, 'root', 0o755);

  fs.copyFileSync(binary, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);

  // Each line is a path such as "usr/bin/wget". Relative symlinks resolve the same from the host
  // (for inspection) and from inside the container after pivot_root.
  const applets = execFileSync(binary, ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('/') && !line.split('/').includes('..'));
  let count = 0;
  for (const applet of applets) {
    if (applet === 'bin/busybox') continue;
    const link = path.join(rootfs, applet);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const target = path.relative(path.dirname(link), path.join(rootfs, 'bin/busybox'));
    try {
      fs.symlinkSync(target, link);
      count++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }

  writeFile(rootfs, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  // gid 5 "tty" is the group /dev/pts is mounted with (gid=5), as on Debian.
  writeFile(rootfs, 'etc/group', 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  writeFile(rootfs, 'etc/hostname', 'busybox\n');
  writeFile(rootfs, 'etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  writeFile(rootfs, 'etc/resolv.conf', '');
  return count;
}
