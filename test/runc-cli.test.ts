/*
 * containers-lab-runc's command line, verb by verb, as separate processes the way containerd's
 * shim calls it: create leaves the first process waiting on the exec FIFO and exits; that process
 * is re-parented to this test process (a subreaper, as the shim is), which collects its exit
 * status; start releases it; state/kill/delete as runc's, with runc's errors and exit codes for
 * operations the current state does not allow. The kernel is asked each time (namespaces, root,
 * parent, cgroup), and nothing is left behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reap } from '../agent/kernel/processes';
import { validateState } from '../agent/oci/validate';
import { cgroupDirsNamed, nsInode, processExists } from './helpers/kernel-witness';
import { becomeSubreaper, ensureRuncBuilt, makeBundle, runc, RUNC_BUNDLE } from './helpers/runc';

const PREFIX = `runch${process.pid}`;
let work: string;
let root: string;
let bundle: string;
const ids: string[] = [];

function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function state(id: string): { status: string; pid: number; bundle: string; rootfs: string; id: string } {
  const result = runc(root, ['state', id]);
  expect(result.status, result.stderr).toBe(0);
  const doc = JSON.parse(result.stdout);
  // The runtime-spec's schema knows no "paused"; runc reports it all the same (so does this runtime).
  validateState(doc.status === 'paused' ? { ...doc, status: 'running' } : doc);
  return doc;
}

function newId(name: string): string {
  const id = `${PREFIX}-${name}`;
  ids.push(id);
  return id;
}

beforeAll(() => {
  ensureRuncBuilt();
  becomeSubreaper();
  work = mkdtempSync(join(tmpdir(), 'runc-cli-'));
  root = join(work, 'root');
  bundle = makeBundle(join(work, 'bundle'), join(work, 'images'), (spec) => {
    spec.process!.args = ['sh', '-c', 'echo hello from $(hostname); sleep 1000'];
  });
});

afterAll(() => {
  for (const id of ids) runc(root, ['delete', '--force', id]);
  rmSync(work, { recursive: true, force: true });
});

describe('containers-lab-runc lifecycle', () => {
  it('create → created, waiting on its FIFO, re-parented to the subreaper; start runs it; kill; state stopped; delete leaves nothing', () => {
    const id = newId('life');
    const output = join(work, 'life.out');
    const pidFile = join(work, 'life.pid');
    const created = runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id], { output });
    expect(created.status, created.stderr).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(1);
    // The kernel: create has exited, its child is ours now, in namespaces of its own, rooted in the bundle's rootfs.
    expect(ppidOf(pid)).toBe(process.pid);
    for (const type of ['pid', 'mnt', 'net', 'ipc', 'uts']) expect(nsInode(pid, type)).not.toBe(nsInode('self', type));
    expect(statSync(`/proc/${pid}/root/bin/busybox`).ino).toBe(statSync(join(bundle, 'rootfs/bin/busybox')).ino);
    expect(readlinkSync(`/proc/${pid}/fd/1`)).toBe(output);
    expect(existsSync(join(root, 'containers', id, 'exec.fifo'))).toBe(true);
    const before = state(id);
    expect(before).toMatchObject({ id, status: 'created', pid, bundle, rootfs: join(bundle, 'rootfs') });
    expect(readFileSync(output, 'utf8')).toBe('');
    const cgroups = cgroupDirsNamed(id);
    expect(cgroups.length).toBeGreaterThan(0);
    expect(readFileSync(join(cgroups[0]!, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(pid));

    // Invalid in "created": pause and a second create of the id.
    expect(runc(root, ['create', '--bundle', bundle, id])).toMatchObject({ status: 1, stderr: `container with id exists: ${id}\n` });

    expect(runc(root, ['start', id]).status).toBe(0);
    expect(existsSync(join(root, 'containers', id, 'exec.fifo'))).toBe(false);
    expect(state(id).status).toBe('running');
    for (let i = 0; i < 200 && !readFileSync(output, 'utf8').includes('hello'); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    expect(readFileSync(output, 'utf8')).toBe('hello from runc\n');
    expect(runc(root, ['start', id])).toMatchObject({ status: 1, stderr: 'cannot start an already running container\n' });
    expect(runc(root, ['delete', id])).toMatchObject({ status: 1, stderr: `cannot delete container ${id} that is not stopped: running\n` });
    expect(runc(root, ['kill', id, 'NOSUCH'])).toMatchObject({ status: 1, stderr: 'unknown signal "NOSUCH"\n' });

    // PID 1 of a PID namespace ignores TERM without a handler; KILL by name ends it.
    expect(runc(root, ['kill', id, 'KILL']).status).toBe(0);
    expect(reap(pid, true)).toEqual({ code: 137, signal: 9 });
    expect(state(id)).toMatchObject({ status: 'stopped', pid: 0 });
    expect(runc(root, ['kill', id, '9'])).toMatchObject({ status: 1, stderr: 'container not running\n' });
    expect(runc(root, ['start', id])).toMatchObject({ status: 1, stderr: 'cannot start a container that has stopped\n' });

    expect(runc(root, ['delete', id]).status).toBe(0);
    expect(runc(root, ['state', id])).toMatchObject({ status: 1, stderr: 'container does not exist\n' });
    expect(cgroupDirsNamed(id)).toEqual([]);
    expect(existsSync(join(root, 'containers', id))).toBe(false);
    expect(existsSync(join(root, 'locks', id))).toBe(false);
  });

  it('run: the container\'s exit code is the command\'s, its output the caller\'s stdout; the container is gone after', () => {
    const id = newId('run');
    const runBundle = makeBundle(join(work, 'run-bundle'), join(work, 'images'), (spec) => {
      spec.process!.args = ['sh', '-c', 'echo out; echo err >&2; exit 7'];
    });
    const result = runc(root, ['run', '--bundle', runBundle, id]);
    expect(result.status).toBe(7);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toBe('err\n');
    expect(runc(root, ['state', id]).status).toBe(1);
    expect(cgroupDirsNamed(id)).toEqual([]);
  });

  it('delete of a created container kills the waiting process; delete --force ends a running one', () => {
    const id = newId('del');
    const pidFile = join(work, 'del.pid');
    expect(runc(root, ['create', '-b', bundle, '--pid-file', pidFile, id]).status).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(runc(root, ['delete', id]).status).toBe(0);
    expect(reap(pid, true)?.signal).toBe(9);
    expect(processExists(pid)).toBe(false);

    const forced = newId('force');
    expect(runc(root, ['create', '-b', bundle, '--pid-file', pidFile, forced]).status).toBe(0);
    const forcedPid = Number(readFileSync(pidFile, 'utf8'));
    expect(runc(root, ['start', forced]).status).toBe(0);
    expect(runc(root, ['delete', '--force', forced]).status).toBe(0);
    expect(reap(forcedPid, true)?.signal).toBe(9);
    expect(cgroupDirsNamed(forced)).toEqual([]);
    // --force on an id that does not exist is no error (runc's), without it one.
    expect(runc(root, ['delete', '--force', `${PREFIX}-nothing`]).status).toBe(0);
    expect(runc(root, ['delete', `${PREFIX}-nothing`])).toMatchObject({ status: 1, stderr: 'container does not exist\n' });
  });

  it('two creates of one id at once: exactly one wins, the other is runc\'s error', async () => {
    const id = newId('race');
    const one = (): Promise<{ code: number | null; stderr: string }> => new Promise((resolve) => {
      const child = spawn('node', [RUNC_BUNDLE, '--root', root, 'create', '-b', bundle, id], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    const results = await Promise.all([one(), one()]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    expect(results.find((r) => r.code === 1)!.stderr).toBe(`container with id exists: ${id}\n`);
    const pid = state(id).pid;
    expect(runc(root, ['delete', id]).status).toBe(0);
    reap(pid, true);
  });

  it('bad input: one line, exit 1, nothing made', () => {
    expect(runc(root, ['create', '-b', join(work, 'missing'), newId('nobundle')])).toMatchObject({ status: 1, stderr: 'JSON specification file config.json not found\n' });
    expect(runc(root, ['state', '../x'])).toMatchObject({ status: 1, stderr: 'invalid id format: ../x\n' });
    expect(runc(root, ['frobnicate'])).toMatchObject({ status: 1, stderr: "No help topic for 'frobnicate'\n" });
    expect(runc(root, ['create', '--bogus', 'x'])).toMatchObject({ status: 1, stderr: 'flag provided but not defined: -bogus\n' });
    expect(runc(root, ['--systemd-cgroup', 'state', 'x']).stderr).toMatch(/^--systemd-cgroup: systemd is not running on this host/);
    expect(runc(root, ['--log-format', 'xml', 'state', 'x'])).toMatchObject({ status: 1, stderr: 'invalid log-format: xml\n' });
    // --log --log-format json: the error as an entry containerd's shim reads.
    const log = join(work, 'log.json');
    expect(runc(root, ['--log', log, '--log-format', 'json', 'state', `${PREFIX}-none`]).status).toBe(1);
    const entry = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').pop()!);
    expect(entry).toMatchObject({ level: 'error', msg: 'container does not exist' });
    expect(existsSync(join(root, 'containers', `${PREFIX}-nobundle`))).toBe(false);
    // nor the id's lock file (each refused create left one behind)
    expect(existsSync(join(root, 'locks', `${PREFIX}-nobundle`))).toBe(false);
  });

  it('create checks the program in the container\'s root, as runc\'s init does: a missing one is create\'s error, with nothing left; one a bind mount brings is found', () => {
    // Host files the container sees only through a bind mount: not in its root filesystem's layers.
    const tools = join(work, 'tools');
    mkdirSync(tools, { recursive: true });
    writeFileSync(join(tools, 'hello'), '#!/bin/sh\necho hello from a bind mount\n', { mode: 0o755 });
    writeFileSync(join(tools, 'plain'), 'not a program\n', { mode: 0o644 });
    const withArgs = (name: string, args: string[]): string => makeBundle(join(work, `program-${name}`), join(work, 'images'), (spec) => {
      spec.process!.args = args;
      spec.mounts!.push({ destination: '/opt/tools', type: 'bind', source: tools, options: ['rbind', 'ro'] });
    });
    const refused = (name: string, args: string[], why: string): void => {
      const id = newId(`program-${name}`);
      expect(runc(root, ['create', '--bundle', withArgs(name, args), id])).toMatchObject({ status: 1, stderr: `cannot execute "${args[0]}" in container "${id}": ${why}\n` });
      expect(existsSync(join(root, 'containers', id))).toBe(false);
      expect(existsSync(join(root, 'locks', id))).toBe(false);
      expect(cgroupDirsNamed(id)).toEqual([]);
    };
    refused('missing', ['/no/such/program'], 'no such file in its root filesystem');
    refused('directory', ['/opt/tools'], 'it is a directory');
    refused('not-executable', ['/opt/tools/plain'], 'it has no execute permission');
    // Hostile: a program path with a newline is still one line, quoted and escaped.
    const hostileId = newId('program-newline');
    expect(runc(root, ['create', '--bundle', withArgs('newline', ['/no/such\nwarning: forged']), hostileId]))
      .toMatchObject({ status: 1, stderr: `cannot execute "/no/such\\nwarning: forged" in container "${hostileId}": no such file in its root filesystem\n` });
    expect(cgroupDirsNamed(hostileId)).toEqual([]);
    const id = newId('program-bound');
    const created = runc(root, ['create', '--bundle', withArgs('bound', ['/opt/tools/hello']), id]);
    expect(created.status, created.stderr).toBe(0);
    expect(state(id).status).toBe('created');
    expect(runc(root, ['delete', '--force', id]).status).toBe(0);
    expect(cgroupDirsNamed(id)).toEqual([]);
  });

  it('a property runtime-spec 1.1 does not define is ignored with a warning in the log, as the spec says a runtime must; one it defines but cannot do is still refused', () => {
    const unknowns = makeBundle(join(work, 'unknowns'), join(work, 'images'), (spec) => {
      Object.assign(spec, { unknown: 'x' });
      Object.assign(spec.process!, { shell: 'sh' });
      spec.process!.args = ['true'];
    });
    const id = newId('unknowns');
    const log = join(work, 'unknowns.log');
    const created = runc(root, ['create', '--bundle', unknowns, id], { global: ['--log', log, '--log-format', 'json'] });
    expect(created.status, created.stderr).toBe(0);
    const warnings = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: string; msg: string }).filter((entry) => entry.level === 'warning');
    expect(warnings.map((entry) => entry.msg).sort()).toEqual([
      'process.shell is not part of runtime-spec 1.1 for Linux: ignored, as the spec says a runtime must',
      'unknown is not part of runtime-spec 1.1 for Linux: ignored, as the spec says a runtime must',
    ]);
    expect(state(id).status).toBe('created');
    expect(runc(root, ['delete', '--force', id]).status).toBe(0);
    const rdt = makeBundle(join(work, 'rdt'), join(work, 'images'), (spec) => { Object.assign(spec.linux!, { intelRdt: { closID: 'x' } }); });
    const refusedId = newId('rdt');
    expect(runc(root, ['create', '--bundle', rdt, refusedId])).toMatchObject({ status: 1, stderr: 'config.json: /linux/intelRdt is not supported by this runtime\n' });
    expect(existsSync(join(root, 'containers', refusedId))).toBe(false);
  });

  it('spec writes runc\'s default config.json, and refuses to overwrite one', () => {
    const dir = join(work, 'spec');
    expect(runc(root, ['spec', '--bundle', work]).status).toBe(0);
    const doc = JSON.parse(readFileSync(join(work, 'config.json'), 'utf8'));
    expect(doc.process.args).toEqual(['sh']);
    expect(doc.root).toEqual({ path: 'rootfs', readonly: true });
    expect(runc(root, ['spec', '--bundle', work])).toMatchObject({ status: 1, stderr: 'File config.json exists. Remove it first\n' });
    rmSync(join(work, 'config.json'));
    void dir;
  });

  it('exec, ps, list, pause/resume: in the container\'s namespaces and cgroup; the freezer; invalid states are errors', () => {
    const id = newId('ops');
    const pidFile = join(work, 'ops.pid');
    expect(runc(root, ['create', '-b', bundle, '--pid-file', pidFile, id], { output: join(work, 'ops.out') }).status).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(runc(root, ['exec', id, 'true'])).toMatchObject({ status: 1, stderr: 'cannot exec in a stopped container\n' });
    expect(runc(root, ['pause', id])).toMatchObject({ status: 1, stderr: 'container not running\n' });
    expect(runc(root, ['start', id]).status).toBe(0);

    const exec = runc(root, ['exec', '--user', '1000:1000', '--env', 'X=42', id, 'sh', '-c', 'echo $X $(id -u):$(id -g); readlink /proc/self/ns/pid; exit 5']);
    expect(exec.status).toBe(5);
    expect(exec.stdout).toBe(`42 1000:1000\n${readlinkSync(`/proc/${pid}/ns/pid`)}\n`);
    const ps = runc(root, ['ps', '--format', 'json', id]);
    expect(ps.status).toBe(0);
    const cgroupProcs = readFileSync(join(cgroupDirsNamed(id)[0]!, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number).sort((a, b) => a - b);
    expect(JSON.parse(ps.stdout)).toEqual(cgroupProcs);
    expect(JSON.parse(ps.stdout)).toContain(pid);
    const listed = JSON.parse(runc(root, ['list', '--format', 'json']).stdout) as { id: string; status: string }[];
    expect(listed.find((entry) => entry.id === id)?.status).toBe('running');
    expect(runc(root, ['list', '-q']).stdout.split('\n')).toContain(id);

    expect(runc(root, ['resume', id])).toMatchObject({ status: 1, stderr: 'container not paused\n' });
    expect(runc(root, ['pause', id]).status).toBe(0);
    expect(state(id).status).toBe('paused');
    // The kernel: the first process is stopped in the freezer (state D or the freezer's FROZEN).
    const freezer = cgroupDirsNamed(id).find((dir) => existsSync(join(dir, 'freezer.state')));
    if (freezer) expect(readFileSync(join(freezer, 'freezer.state'), 'utf8').trim()).toBe('FROZEN');
    else expect(readFileSync(join(cgroupDirsNamed(id).find((dir) => existsSync(join(dir, 'cgroup.freeze')))!, 'cgroup.freeze'), 'utf8').trim()).toBe('1');
    expect(runc(root, ['exec', id, 'true'])).toMatchObject({ status: 1, stderr: 'cannot exec in a paused container\n' });
    expect(runc(root, ['delete', id])).toMatchObject({ status: 1, stderr: `cannot delete container ${id} that is not stopped: paused\n` });
    expect(runc(root, ['resume', id]).status).toBe(0);
    expect(state(id).status).toBe('running');
    expect(runc(root, ['kill', '--all', id, 'SIGKILL']).status).toBe(0);
    expect(reap(pid, true)?.signal).toBe(9);
    expect(runc(root, ['delete', id]).status).toBe(0);
    expect(cgroupDirsNamed(id)).toEqual([]);
  });

  it('update sets cgroup limits (the kernel\'s files say so); events --stats reads them; features is a document', () => {
    const id = newId('upd');
    const pidFile = join(work, 'upd.pid');
    expect(runc(root, ['create', '-b', bundle, '--pid-file', pidFile, id]).status).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const updated = runc(root, ['update', '--resources', '-', id], { input: JSON.stringify({ memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 } }) });
    expect(updated.status, updated.stderr).toBe(0);
    const dirs = cgroupDirsNamed(id);
    const memoryFile = dirs.map((dir) => [join(dir, 'memory.limit_in_bytes'), join(dir, 'memory.max')]).flat().find((file) => existsSync(file))!;
    expect(Number(readFileSync(memoryFile, 'utf8'))).toBe(64 * 1024 * 1024);
    const pidsFile = dirs.map((dir) => join(dir, 'pids.max')).find((file) => existsSync(file))!;
    expect(readFileSync(pidsFile, 'utf8').trim()).toBe('42');
    // One limit by flag: the other stays.
    expect(runc(root, ['update', '--pids-limit', '7', id]).status).toBe(0);
    expect(readFileSync(pidsFile, 'utf8').trim()).toBe('7');
    expect(Number(readFileSync(memoryFile, 'utf8'))).toBe(64 * 1024 * 1024);
    expect(runc(root, ['update', '--resources', '-', id], { input: JSON.stringify({ hugepageLimits: [] }) })).toMatchObject({ status: 1, stderr: 'update: linux.resources.hugepageLimits is not supported by this runtime (memory, cpu quota/period, pids are)\n' });
    const stats = JSON.parse(runc(root, ['events', '--stats', id]).stdout);
    expect(stats).toMatchObject({ type: 'stats', id, data: { memory: { usage: { limit: 64 * 1024 * 1024 } }, pids: { current: 1, limit: 7 } } });
    const features = JSON.parse(runc(root, ['features']).stdout);
    expect(features.linux.namespaces).toContain('pid');
    expect(features.mountOptions).toContain('nosuid');
    expect(runc(root, ['delete', id]).status).toBe(0);
    reap(pid, true);
  });

  it('create --console-socket: the terminal\'s multiplexer goes over the socket (SCM_RIGHTS); the program\'s stdio are that terminal', async () => {
    const id = newId('tty');
    const socketPath = join(work, 'console.sock');
    const ttyBundle = makeBundle(join(work, 'tty-bundle'), join(work, 'images'), (spec) => {
      spec.process!.terminal = true;
      spec.process!.args = ['sh', '-c', 'tty; exit 0'];
    });
    // A receiver as containerd's shim is one: it accepts, takes the descriptor, reads the terminal.
    const receiver = spawn('python3', ['-c', [
      'import socket, sys, os, time',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)',
      'c, _ = s.accept(); msg, fds, _, _ = socket.recv_fds(c, 1024, 4)',
      'out = b""',
      'while True:',
      '    try: chunk = os.read(fds[0], 4096)',
      '    except OSError: break',
      '    if not chunk: break',
      '    out += chunk',
      'print(msg.decode(), repr(out.decode()), flush=True)',
    ].join('\n'), socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    receiver.stdout!.on('data', (data: Buffer) => (said += data.toString()));
    for (let i = 0; i < 500 && !said.includes('ready'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const pidFile = join(work, 'tty.pid');
    const created = runc(root, ['create', '-b', ttyBundle, '--console-socket', socketPath, '--pid-file', pidFile, id]);
    expect(created.status, created.stderr).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/pts/0');
    expect(runc(root, ['start', id]).status).toBe(0);
    await new Promise((resolve) => receiver.once('exit', resolve));
    expect(said).toContain("/dev/pts/0 '/dev/pts/0\\r\\n'");
    expect(reap(pid, true)).toEqual({ code: 0, signal: null });
    expect(runc(root, ['delete', id]).status).toBe(0);
    expect(runc(root, ['create', '-b', bundle, '--console-socket', socketPath, newId('notty')])).toMatchObject({ status: 1, stderr: 'cannot use console socket if runc will not detach or allocate tty\n' });
  });
});
