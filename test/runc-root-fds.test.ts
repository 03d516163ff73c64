/*
 * Two of runc's create/run flags through containers-lab-runc, checked with the kernel's view:
 * --no-pivot (the root's mount moved over "/" and chrooted into: the container's mountinfo as with
 * pivot_root, but the host's root stays mounted beneath it — a program with CAP_SYS_ADMIN that
 * unmounts "/" uncovers it for the next process entering the namespace) and --preserve-fds N (the
 * caller's descriptor 3 — a pipe — read inside the container).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMountinfo, type MountinfoEntry } from '../agent/inspect/mountinfo';
import { closeFd, pipe } from '../agent/kernel/files';
import { reap } from '../agent/kernel/processes';
import { cgroupDirsNamed, hostMountsMentioning, nsLink } from './helpers/kernel-witness';
import { becomeSubreaper, ensureRuncBuilt, makeBundle, runc, RUNC_BUNDLE } from './helpers/runc';

const PREFIX = `runcrf${process.pid}`;
let work: string;
let root: string;
let bundle: string;
const ids: string[] = [];

function newId(name: string): string {
  const id = `${PREFIX}-${name}`;
  ids.push(id);
  return id;
}

beforeAll(() => {
  ensureRuncBuilt();
  becomeSubreaper();
  work = mkdtempSync(join(tmpdir(), 'runc-root-fds-'));
  root = join(work, 'root');
  bundle = makeBundle(join(work, 'bundle'), join(work, 'images'), (spec) => {
    spec.process!.args = ['sleep', '1000'];
  });
});

afterAll(() => {
  for (const id of ids) runc(root, ['delete', '--force', id]);
  rmSync(work, { recursive: true, force: true });
});

/** The mounts as the process sees them (the kernel's /proc/<pid>/mountinfo). */
function mountinfo(pid: number): MountinfoEntry[] {
  return parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

function createAndLoad(name: string, flags: string[]): { id: string; pid: number } {
  const id = newId(name);
  const pidFile = join(work, `${name}.pid`);
  const created = runc(root, ['create', ...flags, '--bundle', bundle, '--pid-file', pidFile, id]);
  expect(created.status, created.stderr).toBe(0);
  return { id, pid: Number(readFileSync(pidFile, 'utf8')) };
}

function removeAll(id: string, pid: number): void {
  expect(runc(root, ['kill', id, 'KILL']).status).toBe(0);
  reap(pid, true);
  expect(runc(root, ['delete', id]).status).toBe(0);
  expect(cgroupDirsNamed(id)).toEqual([]);
}

describe('create --no-pivot', () => {
  it('the rootfs is moved over "/" and chrooted into: the same root and mounts as pivoted, the host\'s other mounts detached', () => {
    const pivoted = createAndLoad('pivot', []);
    const moved = createAndLoad('nopivot', ['--no-pivot']);
    const rootfs = join(bundle, 'rootfs');
    const busybox = statSync(join(rootfs, 'bin/busybox')).ino;
    for (const { pid } of [pivoted, moved]) {
      // Already in create: the first process's root is the bundle's rootfs, in a mount namespace of its own.
      expect(statSync(`/proc/${pid}/root/bin/busybox`).ino).toBe(busybox);
      expect(nsLink(pid, 'mnt')).not.toBe(nsLink('self', 'mnt'));
    }
    // Both: one "/" as the container sees it, the bundle's rootfs (bind mounted onto itself), read-only.
    for (const { pid } of [pivoted, moved]) {
      const slash = mountinfo(pid).filter((entry) => entry.target === '/');
      expect(slash.map((entry) => entry.root)).toEqual([rootfs]);
      expect(slash[0]!.mountOptions.split(',')).toContain('ro');
    }
    // The host's other mounts were detached before the move (runc's msMoveRoot): the same mounts as pivoted.
    expect(mountinfo(moved.pid).map((entry) => entry.target)).toEqual(mountinfo(pivoted.pid).map((entry) => entry.target))
    // The program runs chrooted in it; exec into the container lands there too.
    expect(runc(root, ['start', moved.id]).status).toBe(0);
    expect(statSync(`/proc/${moved.pid}/root/bin/busybox`).ino).toBe(busybox);
    const exec = runc(root, ['exec', moved.id, 'sh', '-c', 'stat -c %i /bin/busybox; cat /proc/self/mountinfo | wc -l']);
    expect(exec.status, exec.stderr).toBe(0);
    expect(exec.stdout.split('\n')[0]).toBe(String(busybox));
    for (const { id, pid } of [pivoted, moved]) removeAll(id, pid);
    expect(hostMountsMentioning(rootfs)).toEqual([]);
  });

  it('why it is weaker: with CAP_SYS_ADMIN the program unmounts its root, and the next process to enter the mount namespace lands on the host\'s root, kept beneath; after pivot_root there is none', () => {
    const escape = makeBundle(join(work, 'escape'), join(work, 'images'), (spec) => {
      const caps = spec.process!.capabilities!;
      for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_ADMIN'];
      spec.process!.args = ['sh', '-c', 'umount -l / 2>/dev/null; touch /unmounted; exec sleep 1000'];
    });
    /** The root directory an exec'd process finds (setns(2) into a mount namespace lands on its root's topmost mount). */
    const enteredRoot = (flags: string[], name: string): { status: number | null; stdout: string; stderr: string } => {
      const id = newId(name);
      const pidFile = join(work, `${name}.pid`);
      expect(runc(root, ['create', ...flags, '--bundle', escape, '--pid-file', pidFile, id]).status).toBe(0);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(runc(root, ['start', id]).status).toBe(0);
      for (let i = 0; i < 300 && !existsSync(`/proc/${pid}/root/unmounted`); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      const result = runc(root, ['exec', id, '/bin/sh', '-c', 'cd /; echo *']);
      removeAll(id, pid);
      return result;
    };
    const hostRoot = readdirSync('/').filter((name) => !name.startsWith('.')).sort(); // as the shell's * lists it
    expect(hostRoot).not.toEqual(readdirSync(join(escape, 'rootfs')).sort());
    // pivot_root: the namespace's root was the container's own; with it unmounted there is nothing to run at all.
    expect(enteredRoot([], 'escape-pivot')).toMatchObject({ status: 1, stdout: '', stderr: 'cannot execute "/bin/sh" in container "runcrf' + process.pid + '-escape-pivot"\n' });
    // --no-pivot: the host's root filesystem was beneath all along; the exec'd shell is the host's, in the host's "/".
    const entered = enteredRoot(['--no-pivot'], 'escape-nopivot');
    expect(entered.status, entered.stderr).toBe(0);
    expect(entered.stdout.trim().split(' ').sort()).toEqual(hostRoot);
  });
});

describe('create/run --preserve-fds', () => {
  /** runc as the caller with `extra` as its descriptors 3, 4, …; the container's exit code and output. */
  function runWith(args: string[], extra: number[]): { status: number | null; stdout: string; stderr: string } {
    const out = join(work, `out-${Date.now()}`);
    const err = join(work, `err-${Date.now()}`);
    const outFd = openSync(out, 'w');
    const errFd = openSync(err, 'w');
    try {
      const result = spawnSync('node', [RUNC_BUNDLE, '--root', root, ...args], { stdio: ['ignore', outFd, errFd, ...extra], timeout: 60_000 });
      return { status: result.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
  }

  it('the caller\'s descriptor 3 (a pipe) is descriptor 3 of the container\'s program; without the flag it is not there', () => {
    const [readEnd, writeEnd] = pipe();
    try {
      writeSync(writeEnd, 'through descriptor 3\n');
      closeFd(writeEnd);
      const pipeLink = readlinkSync(`/proc/self/fd/${readEnd}`);
      const readerBundle = makeBundle(join(work, 'reader'), join(work, 'images'), (spec) => {
        spec.process!.args = ['sh', '-c', 'readlink /proc/self/fd/3; cat <&3'];
      });
      const id = newId('preserve');
      const result = runWith(['run', '--preserve-fds', '1', '--bundle', readerBundle, id], [readEnd]);
      expect(result, result.stderr).toMatchObject({ status: 0, stdout: `${pipeLink}\nthrough descriptor 3\n` });
      expect(cgroupDirsNamed(id)).toEqual([]);

      const without = runWith(['run', '--bundle', readerBundle, newId('nopreserve')], [readEnd]);
      expect(without.status).not.toBe(0);
      expect(without.stdout).not.toContain('through');
      expect(without.stdout).not.toContain('pipe:');
    } finally {
      closeFd(readEnd);
    }
  });

  it('exec --preserve-fds: a further process in a running container gets the caller\'s descriptor 3 too', () => {
    const { id, pid } = createAndLoad('exec-preserve', []);
    expect(runc(root, ['start', id]).status).toBe(0);
    const [readEnd, writeEnd] = pipe();
    try {
      writeSync(writeEnd, 'to the exec\'d process\n');
      closeFd(writeEnd);
      const result = runWith(['exec', '--preserve-fds', '1', id, 'sh', '-c', 'cat <&3'], [readEnd]);
      expect(result, result.stderr).toMatchObject({ status: 0, stdout: 'to the exec\'d process\n' });
      expect(runWith(['exec', id, 'sh', '-c', 'cat <&3'], [readEnd]).status).not.toBe(0);
    } finally {
      closeFd(readEnd);
    }
    removeAll(id, pid);
  });

  it('refuses a count naming descriptors the caller did not pass, or no number, in one line, leaving nothing', () => {
    const [readEnd, writeEnd] = pipe();
    try {
      const id = newId('notpassed');
      const result = runWith(['create', '--preserve-fds', '3', '--bundle', bundle, id], [readEnd]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^--preserve-fds 3: descriptor 4 is (not open|not one the caller passed \(it is the runtime's own\))\n$/);
      expect(runc(root, ['state', id]).status).toBe(1);
      expect(runWith(['create', '--preserve-fds', 'x', '--bundle', bundle, newId('nan')], [])).toMatchObject({
        status: 1, stderr: 'invalid value "x" for flag --preserve-fds: not a number\n',
      });
    } finally {
      closeFd(readEnd);
      closeFd(writeEnd);
    }
  });
});
