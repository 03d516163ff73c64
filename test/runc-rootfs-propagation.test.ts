/*
 * linux.rootfsPropagation through containers-lab-runc, as runc gives it: the container's root
 * mount is shared (a peer group of its own), a slave of the host's mounts, or unbindable. The
 * witnesses are the kernel's: the root's line in the container's /proc/self/mountinfo
 * ("shared:N", "master:N", "unbindable"), what a bind mount of "/" made inside the container sees,
 * a mount the host makes beneath the bundle after `create`, and the host's own mount table after.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { OciSpec } from '../agent/protocol';
import { cgroupDirsNamed, hostMountsMentioning } from './helpers/kernel-witness';
import { becomeSubreaper, ensureRuncBuilt, makeBundle, runc } from './helpers/runc';

let work: string;
beforeAll(() => {
  ensureRuncBuilt();
  becomeSubreaper();
  work = mkdtempSync(join(tmpdir(), 'runcmore-rootprop-'));
});
afterAll(() => {
  for (const line of hostMountsMentioning(work).reverse()) execFileSync('umount', ['-l', line.split(' ')[4]!]);
  rmSync(work, { recursive: true, force: true });
});

/** The root's mountinfo line, then what the script prints. Mounting needs CAP_SYS_ADMIN (runc's default spec lacks it). */
const ROOT_LINE = 'awk \'$5 == "/"\' /proc/self/mountinfo';

function bundleWith(name: string, propagation: string | undefined, script: string, parent = work): string {
  const bundle = makeBundle(join(parent, name), join(work, 'images'), (spec: OciSpec) => {
    spec.process!.args = ['sh', '-c', `${ROOT_LINE}; ${script}`];
    const caps = spec.process!.capabilities!;
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_ADMIN'];
    if (propagation !== undefined) spec.linux!.rootfsPropagation = propagation;
  });
  // The root stays read-only (runc's default): the mount points are made here.
  for (const dir of ['t', 'm', 'fromhost']) mkdirSync(join(bundle, 'rootfs', dir), { recursive: true });
  return bundle;
}

function run(name: string, bundle: string): string[] {
  const id = `runcmore-rootprop-${name}-${process.pid}`;
  const result = runc(join(work, 'root'), ['run', '--bundle', bundle, id]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(cgroupDirsNamed(id)).toEqual([]);
  return result.stdout.trim().split('\n');
}

// Inside: bind "/" to /t (rbind, as the OCI suite does), then a tmpfs on /m with a file; is it at /t/m too?
const BIND_THEN_MOUNT = 'mount -o rbind / /t && mount -t tmpfs -o size=1k none /m && touch /m/x && if [ -e /t/m/x ]; then echo seen; else echo unseen; fi';

test('"shared": the root is shared in a peer group of its own — a mount under "/" appears in a bind of "/"; nothing reaches the host', () => {
  const [root, verdict] = run('shared', bundleWith('shared', 'shared', BIND_THEN_MOUNT));
  expect(root).toMatch(/ shared:\d+ /);
  expect(verdict).toBe('seen');
  expect(hostMountsMentioning(work)).toEqual([]);
});

test('"private" and no rootfsPropagation: the root is private — the bind of "/" does not see the mount', () => {
  for (const propagation of ['private', undefined]) {
    const name = propagation ?? 'default';
    const [root, verdict] = run(name, bundleWith(name, propagation, BIND_THEN_MOUNT));
    expect(root).not.toMatch(/ (shared|master):\d+ | unbindable /);
    expect(verdict).toBe('unseen');
  }
  expect(hostMountsMentioning(work)).toEqual([]);
});

test('"unbindable": the root is unbindable — binding "/" is refused (EINVAL)', () => {
  const [root, verdict] = run('unbindable', bundleWith('unbindable', 'unbindable', 'mount -o bind / /t 2>/dev/null && echo bound || echo refused'));
  expect(root).toMatch(/ unbindable /);
  expect(verdict).toBe('refused');
  expect(hostMountsMentioning(work)).toEqual([]);
});

test('"slave": a mount the host makes beneath the root after create reaches the container ("private": it does not); nothing flows back', () => {
  // The bundle lives on a shared tmpfs of the test's own: the host side of the propagation.
  const shared = join(work, 'shared-tmpfs');
  mkdirSync(shared);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'none', shared]);
  execFileSync('mount', ['--make-shared', shared]);
  try {
    const seen: Record<string, string[]> = {};
    for (const propagation of ['slave', 'private']) {
      const script = 'cat /fromhost/marker 2>/dev/null || echo nothing; mount -t tmpfs -o size=1k none /m';
      const bundle = bundleWith(propagation, propagation, script, shared);
      const id = `runcmore-rootprop-host-${propagation}-${process.pid}`;
      const output = join(work, `${propagation}.out`);
      writeFileSync(output, '');
      expect(runc(join(work, 'root'), ['create', '--bundle', bundle, id], { output }).status).toBe(0);
      const fromHost = join(bundle, 'rootfs', 'fromhost');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1k', 'none', fromHost]);
      writeFileSync(join(fromHost, 'marker'), `from the host\n`);
      try {
        expect(runc(join(work, 'root'), ['start', id]).status).toBe(0);
        for (let i = 0; i < 500 && readFileSync(output, 'utf8').split('\n').length < 3; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        seen[propagation] = readFileSync(output, 'utf8').trim().split('\n');
      } finally {
        execFileSync('umount', [fromHost]);
      }
      for (let i = 0; i < 500 && runc(join(work, 'root'), ['delete', id]).status !== 0; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      expect(cgroupDirsNamed(id)).toEqual([]);
    }
    expect(seen.slave![0]).toMatch(/ master:\d+ /);
    expect(seen.slave![1]).toBe('from the host');
    expect(seen.private![0]).not.toMatch(/ (shared|master):\d+ /);
    expect(seen.private![1]).toBe('nothing');
    // The containers' own tmpfs on /m stayed theirs: only the test's tmpfs remains on the host.
    expect(hostMountsMentioning(work).map((line) => line.split(' ')[4])).toEqual([shared]);
  } finally {
    execFileSync('umount', ['-l', shared]);
  }
});
