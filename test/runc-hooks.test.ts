/*
 * OCI hooks through containers-lab-runc, as separate processes the way containerd's shim calls it.
 * Every hook is /bin/sh writing what it got — the state JSON on its stdin, its argv and env — and
 * the namespaces it ran in, read by the kernel from its own /proc/self/ns, into files the test
 * reads back: the order of the six phases, createContainer and startContainer inside the
 * container's mount and PID namespaces (startContainer in its root, before the program), the rest
 * in the runtime's. A failing or timed-out hook of the first four phases leaves nothing; a failing
 * poststart or poststop hook is a warning.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reap } from '../agent/kernel/processes';
import type { OciHook, OciSpec } from '../agent/protocol';
import { cgroupDirsNamed, hostMountsMentioning, nsLink, processExists } from './helpers/kernel-witness';
import { becomeSubreaper, ensureRuncBuilt, makeBundle, runc } from './helpers/runc';

const PREFIX = `runchk${process.pid}`;
let work: string;
let root: string;
const ids: string[] = [];

function newId(name: string): string {
  const id = `${PREFIX}-${name}`;
  ids.push(id);
  return id;
}

/** A hook that records, in `dir` (as the hook sees it), what it was given and where it ran. */
function recorder(phase: string, dir: string, extra = ''): OciHook {
  const script = [
    `echo ${phase} >> ${dir}/order`,
    `cat > ${dir}/${phase}.json`,
    `readlink /proc/self/ns/mnt > ${dir}/${phase}.mnt`,
    `readlink /proc/self/ns/pid > ${dir}/${phase}.pid`,
    `echo "$0 $HOOK_PHASE" > ${dir}/${phase}.argv`,
    extra,
  ].filter(Boolean).join('; ');
  return { path: '/bin/sh', args: ['sh', '-c', script, `arg-${phase}`], env: [`HOOK_PHASE=${phase}`, 'PATH=/bin:/usr/bin:/sbin:/usr/sbin'], timeout: 20 };
}

function read(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

function bundleWith(name: string, hooks: (rootfs: string) => OciSpec['hooks'], args = ['sleep', '1000']): string {
  const dir = join(work, name);
  return makeBundle(dir, join(work, 'images'), (spec) => {
    spec.process!.args = args;
    // startContainer and the program write into it
    spec.root!.readonly = false;
    spec.hooks = hooks(join(dir, 'rootfs'));
  });
}

function leavesNothing(id: string): void {
  expect(existsSync(join(root, 'containers', id))).toBe(false);
  expect(cgroupDirsNamed(id)).toEqual([]);
  expect(runc(root, ['state', id])).toMatchObject({ status: 1, stderr: 'container does not exist\n' });
}

beforeAll(() => {
  // seen by a hook that names no env (the runtime passes its own on)
  process.env.RUNC_HOOKS_TEST = 'from the caller';
  ensureRuncBuilt();
  becomeSubreaper();
  work = mkdtempSync(join(tmpdir(), 'runc-hooks-'));
  root = join(work, 'root');
});

afterAll(() => {
  for (const id of ids) runc(root, ['delete', '--force', id]);
  rmSync(work, { recursive: true, force: true });
});

describe('OCI hooks', () => {
  it('six phases in the spec\'s order, each with the state on stdin, its args and env, in the namespaces the spec names', () => {
    const id = newId('all');
    const bundle = bundleWith('all', (rootfs) => ({
      // Host-side phases write into the bundle's rootfs by its host path; startContainer, inside the container, by "/".
      prestart: [recorder('prestart', rootfs)],
      createRuntime: [recorder('createRuntime', rootfs)],
      createContainer: [recorder('createContainer', rootfs)],
      startContainer: [recorder('startContainer', '')],
      poststart: [recorder('poststart', rootfs)],
      // no env: the runtime's own environment, as runc does it
      poststop: [recorder('poststop', rootfs), { path: '/bin/sh', args: ['sh', '-c', `echo "$RUNC_HOOKS_TEST" > ${rootfs}/inherited`] }],
    }), ['sh', '-c', 'cat /startContainer.json > /program-saw; exec sleep 1000']);
    const rootfs = join(bundle, 'rootfs');
    const pidFile = join(work, 'all.pid');
    const created = runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id]);
    expect(created.status, created.stderr).toBe(0);
    const pid = Number(read(pidFile));
    expect(read(join(rootfs, 'order')).split('\n')).toEqual(['prestart', 'createRuntime', 'createContainer']);
    for (const phase of ['prestart', 'createRuntime', 'createContainer']) {
      expect(JSON.parse(read(join(rootfs, `${phase}.json`)))).toMatchObject({ ociVersion: '1.0.2-dev', id, status: 'created', pid, bundle });
      expect(read(join(rootfs, `${phase}.argv`))).toBe(`arg-${phase} ${phase}`);
    }
    // The kernel's word: the runtime's phases in the host's mount namespace, createContainer in the container's.
    expect(read(join(rootfs, 'createRuntime.mnt'))).toBe(nsLink('self', 'mnt'));
    expect(read(join(rootfs, 'prestart.mnt'))).toBe(nsLink('self', 'mnt'));
    expect(read(join(rootfs, 'createRuntime.pid'))).toBe(nsLink('self', 'pid'));
    expect(read(join(rootfs, 'createContainer.mnt'))).toBe(nsLink(pid, 'mnt'));
    expect(read(join(rootfs, 'createContainer.mnt'))).not.toBe(nsLink('self', 'mnt'));
    expect(read(join(rootfs, 'createContainer.pid'))).toBe(nsLink(pid, 'pid'));
    expect(existsSync(join(rootfs, 'startContainer.json'))).toBe(false);

    const started = runc(root, ['start', id]);
    expect(started.status, started.stderr).toBe(0);
    expect(read(join(rootfs, 'order')).split('\n')).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart']);
    expect(JSON.parse(read(join(rootfs, 'startContainer.json')))).toMatchObject({ id, status: 'created', pid, bundle });
    expect(JSON.parse(read(join(rootfs, 'poststart.json')))).toMatchObject({ id, status: 'running', pid, bundle });
    // startContainer ran inside the container — its namespaces, its root ("/" was the rootfs) — before the program.
    expect(read(join(rootfs, 'startContainer.mnt'))).toBe(nsLink(pid, 'mnt'));
    expect(read(join(rootfs, 'startContainer.pid'))).toBe(nsLink(pid, 'pid'));
    expect(read(join(rootfs, 'poststart.mnt'))).toBe(nsLink('self', 'mnt'));
    for (let i = 0; i < 300 && !existsSync(join(rootfs, 'program-saw')); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    expect(JSON.parse(read(join(rootfs, 'program-saw')))).toMatchObject({ id, status: 'created' });

    expect(runc(root, ['kill', id, 'KILL']).status).toBe(0);
    reap(pid, true);
    const deleted = runc(root, ['delete', id]);
    expect(deleted.status, deleted.stderr).toBe(0);
    expect(read(join(rootfs, 'order')).split('\n').at(-1)).toBe('poststop');
    const poststop = JSON.parse(read(join(rootfs, 'poststop.json')));
    expect(poststop).toMatchObject({ id, status: 'stopped', bundle });
    expect(poststop.pid).toBeUndefined();
    expect(read(join(rootfs, 'poststop.mnt'))).toBe(nsLink('self', 'mnt'));
    expect(read(join(rootfs, 'inherited'))).toBe('from the caller');
    leavesNothing(id);
  });

  it('in a user namespace, createContainer and startContainer join it too (the kernel\'s /proc/self/ns/user)', () => {
    const id = newId('userns');
    const dir = join(work, 'userns');
    const bundle = makeBundle(dir, join(work, 'images'), (spec) => {
      spec.process!.args = ['sleep', '1000'];
      spec.root!.readonly = false;
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      const host = join(dir, 'rootfs', 'tmp');
      const probe = (phase: string, at: string): OciHook => ({ path: '/bin/sh', args: ['sh', '-c', `readlink /proc/self/ns/user > ${at}/${phase}.user; readlink /proc/self/ns/mnt > ${at}/${phase}.mnt`] });
      spec.hooks = { createContainer: [probe('createContainer', host)], startContainer: [probe('startContainer', '/tmp')] };
    });
    const tmp = join(bundle, 'rootfs', 'tmp');
    const pidFile = join(work, 'userns.pid');
    const created = runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id]);
    expect(created.status, created.stderr).toBe(0);
    const pid = Number(read(pidFile));
    expect(nsLink(pid, 'user')).not.toBe(nsLink('self', 'user'));
    expect(read(join(tmp, 'createContainer.user'))).toBe(nsLink(pid, 'user'));
    expect(read(join(tmp, 'createContainer.mnt'))).toBe(nsLink(pid, 'mnt'));
    const started = runc(root, ['start', id]);
    expect(started.status, started.stderr).toBe(0);
    expect(read(join(tmp, 'startContainer.user'))).toBe(nsLink(pid, 'user'));
    expect(read(join(tmp, 'startContainer.mnt'))).toBe(nsLink(pid, 'mnt'));
    expect(runc(root, ['kill', id, 'KILL']).status).toBe(0);
    reap(pid, true);
    expect(runc(root, ['delete', id]).status).toBe(0);
    leavesNothing(id);
  });

  it.each(['prestart', 'createRuntime', 'createContainer'] as const)('a failing %s hook aborts create and leaves nothing (no process, cgroup, mount, state)', (phase) => {
    const id = newId(`fail-${phase.toLowerCase()}`);
    const bundle = bundleWith(`fail-${phase}`, (rootfs) => ({
      createRuntime: [recorder('createRuntime', rootfs, phase === 'createRuntime' ? 'echo no network for you >&2; exit 3' : '')],
      [phase]: [recorder(phase, rootfs, 'echo no network for you >&2; exit 3')],
      poststart: [recorder('poststart', rootfs)],
    }));
    const rootfs = join(bundle, 'rootfs');
    const result = runc(root, ['create', '--bundle', bundle, id]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`${phase} hook #0 (/bin/sh): exit status 3: no network for you\n`);
    const pid = JSON.parse(read(join(rootfs, `${phase}.json`))).pid as number;
    expect(processExists(pid)).toBe(false);
    expect(hostMountsMentioning(rootfs)).toEqual([]);
    expect(existsSync(join(rootfs, 'poststart.json'))).toBe(false);
    leavesNothing(id);
  });

  it('a hook past its timeout is killed and create fails; a relative path or an executable that is not there fails create too', () => {
    const id = newId('timeout');
    const hookPid = join(work, 'timeout-hook.pid');
    // The hook's shell starts a sleep of its own: both go at the timeout.
    const bundle = bundleWith('timeout', () => ({ createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${hookPid}; sleep 30; true`], timeout: 1 }] }));
    const began = Date.now();
    const result = runc(root, ['create', '--bundle', bundle, id]);
    expect(result).toMatchObject({ status: 1, stderr: 'createRuntime hook #0 (/bin/sh): timed out after 1s\n' });
    expect(Date.now() - began).toBeLessThan(20_000);
    leavesNothing(id);
    const group = Number(read(hookPid));
    const inGroup = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return { pid: Number(entry), state, ppid: Number(ppid), pgrp: Number(pgrp) };
      } catch {
        return null;
      }
    }).filter((entry) => entry?.pgrp === group);
    // The hook's sleep was killed too; orphaned, it came to this subreaper (the shim's part) to be reaped.
    for (const entry of inGroup) {
      expect(entry).toMatchObject({ state: 'Z', ppid: process.pid });
      expect(reap(entry!.pid, true)?.signal).toBe(9);
    }

    const relative = newId('relative');
    expect(runc(root, ['create', '--bundle', bundleWith('relative', () => ({ poststop: [{ path: 'bin/true' }] })), relative])).toMatchObject({
      status: 1, stderr: 'config.json: /hooks/poststop/0/path "bin/true" must be an absolute path\n',
    });
    leavesNothing(relative);

    const missing = newId('missing');
    const missingBundle = bundleWith('missing', () => ({ createContainer: [{ path: '/no/such/hook' }] }));
    expect(runc(root, ['create', '--bundle', missingBundle, missing])).toMatchObject({
      status: 1, stderr: 'createContainer hook #0 (/no/such/hook): cannot execute it (missing, or not an executable)\n',
    });
    leavesNothing(missing);
  });

  it('a failing startContainer hook stops and deletes the container before its program runs', () => {
    const id = newId('failstart');
    const bundle = bundleWith('failstart', () => ({ startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }] }), ['sh', '-c', 'touch /program-ran; exec sleep 1000']);
    const pidFile = join(work, 'failstart.pid');
    expect(runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id]).status).toBe(0);
    const pid = Number(read(pidFile));
    expect(runc(root, ['start', id])).toMatchObject({ status: 1, stderr: 'startContainer hook #0 (/bin/sh): exit status 4\n' });
    expect(reap(pid, true)?.signal).toBe(9);
    expect(existsSync(join(bundle, 'rootfs', 'program-ran'))).toBe(false);
    leavesNothing(id);
  });

  it('failing poststart and poststop hooks are warnings: start and delete succeed, the lifecycle goes on', () => {
    const id = newId('warn');
    const failing = (code: number): OciHook => ({ path: '/bin/sh', args: ['sh', '-c', `echo broken >&2; exit ${code}`] });
    const bundle = bundleWith('warn', (rootfs) => ({
      poststart: [failing(5), recorder('poststart', rootfs)],
      poststop: [failing(6), recorder('poststop', rootfs)],
    }));
    const rootfs = join(bundle, 'rootfs');
    const logFile = join(work, 'warn-log.json');
    const pidFile = join(work, 'warn.pid');
    expect(runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id]).status).toBe(0);
    const pid = Number(read(pidFile));
    const started = runc(root, ['start', id], { global: ['--log', logFile, '--log-format', 'json'] });
    expect(started).toMatchObject({ status: 0, stderr: 'warning: poststart hook #0 (/bin/sh): exit status 5: broken\n' });
    expect(JSON.parse(read(logFile))).toMatchObject({ level: 'warning', msg: 'poststart hook #0 (/bin/sh): exit status 5: broken' });
    // the next hook still ran, and the container runs
    expect(JSON.parse(read(join(rootfs, 'poststart.json')))).toMatchObject({ status: 'running' });
    expect(processExists(pid)).toBe(true);
    expect(runc(root, ['kill', id, 'KILL']).status).toBe(0);
    reap(pid, true);
    expect(runc(root, ['delete', id])).toMatchObject({ status: 0, stderr: 'warning: poststop hook #0 (/bin/sh): exit status 6: broken\n' });
    expect(JSON.parse(read(join(rootfs, 'poststop.json')))).toMatchObject({ status: 'stopped' });
    leavesNothing(id);
  });
});
