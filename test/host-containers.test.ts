/*
 * Every container on the host, whoever made it (host.containers, agent/inspect/host/), with real
 * makers: Debian's runc (its default root and a --root of the test's own, running and created),
 * containerd + ctr (a private daemon, its shim driving runc), an `unshare --fork --pid
 * --mount-proc sleep`, and one of the agent's own containers. Each must be found with its maker,
 * and what is said of it must be the kernel's: /proc/<pid>/ns/* inodes, /proc/<pid>/cgroup, the
 * parent chain, what is mounted at its `/`. Afterwards none of them is found and nothing is left.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HostContainer, HostContainers } from '../agent/protocol';
import { NAMESPACE_TYPES } from '../agent/protocol';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import { ensureBusyboxImage } from '../agent/runtime/image/busybox';
import { processStartTime } from '../agent/inspect/host/makers';
import { cgroupDirsNamed, hostMountsMentioning, nsInode, processExists } from './helpers/kernel-witness';
import { startPrivateContainerd, type PrivateContainerd } from './helpers/private-containerd';
import { useRuntime } from './helpers/runtime-fixture';
import { onPath } from './helpers/tools';
import { waitFor } from './helpers/wait';

const tag = `hv${randomBytes(3).toString('hex')}`;
const fixture = useRuntime(`${tag}-own`);
const hasContainerd = onPath('containerd') && onPath('ctr');
const scratch = mkdtempSync(`/tmp/${tag}-`);
const ownRoot = join(scratch, 'runc-root');
const fakeRoot = join(scratch, 'fake-root');
const ids = { runc: `${tag}-runc`, created: `${tag}-created`, ctr: `${tag}-ctr`, own: `${tag}-own` };

let containerd: PrivateContainerd | null = null;
let unshare: ChildProcess | null = null;
const pids: Record<'runc' | 'created' | 'ctr' | 'unshare' | 'own', number> = { runc: 0, created: 0, ctr: 0, unshare: 0, own: 0 };
let found: HostContainers;
let busyboxRootfs = '';

function runc(args: string[]): string {
  const result = spawnSync('runc', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  if (result.status !== 0) throw new Error(`runc ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/**
 * `runc run -d` and `runc create`: the container's process inherits runc's stdio and keeps them
 * open, so a pipe would never close (spawnSync would wait out its timeout). Its output goes to a
 * file instead, read back when runc fails.
 */
function runcStartingContainer(args: string[]): void {
  const log = join(scratch, `runc-${args.at(-1)}.log`);
  const fd = openSync(log, 'w');
  try {
    const result = spawnSync('runc', args, { stdio: ['ignore', fd, fd], timeout: 30_000 });
    if (result.status !== 0) throw new Error(`runc ${args.join(' ')}: ${readFileSync(log, 'utf8').trim() || result.error?.message}`);
  } finally {
    closeSync(fd);
  }
}

function bundle(name: string, rootfs: string): string {
  const spec = configFromRunOptions({ name, args: ['sleep', '300'], net: 'none' }, { rootfs });
  spec.root!.readonly = true;
  const directory = join(scratch, name);
  mkdirSync(directory);
  writeFileSync(join(directory, 'config.json'), JSON.stringify(spec));
  return directory;
}

/** The kernel's host namespaces, read here without the agent: PID 1's, or kthreadd's where PID 1 hides them. */
function witnessHostInode(type: string): number {
  try {
    return nsInode(1, type);
  } catch {
    return nsInode(2, type);
  }
}

function cgroupLines(pid: number): Record<string, string> {
  const lines: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line)!;
    lines[controllers === '' ? 'unified' : controllers!] = path!;
  }
  return lines;
}

/** The kernel's view of one container must be what the entry says. */
function expectKernelView(entry: HostContainer | undefined, pid: number): HostContainer {
  expect(entry, `no entry for PID ${pid}`).toBeDefined();
  for (const type of NAMESPACE_TYPES) expect(entry!.namespaces[type], type).toBe(nsInode(pid, type));
  expect(entry!.sharedWithHost).toEqual(NAMESPACE_TYPES.filter((type) => nsInode(pid, type) === witnessHostInode(type)));
  expect(entry!.cgroups).toEqual(cgroupLines(pid));
  expect(entry!.parents.at(-1)?.pid).toBe(1);
  expect(entry!.parents[0]?.pid).toBe(Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]));
  expect(entry!.processes.find((process) => process.pid === pid)?.nspid).toBe(entry!.sharedWithHost.includes('pid') ? pid : 1);
  return entry!;
}

/** Kills the sleep (PID 1 of its namespace: the rest of the namespace goes with it), then unshare. */
async function stopUnshare(): Promise<void> {
  if (!unshare || unshare.exitCode !== null || unshare.signalCode !== null) return;
  const exited = new Promise((resolve) => unshare!.once('exit', resolve));
  if (pids.unshare > 0 && processExists(pids.unshare)) process.kill(pids.unshare, 'SIGKILL');
  unshare.kill('SIGKILL');
  await exited;
}

const entryFor = (pid: number): HostContainer | undefined => found.containers.find((container) => container.pid === pid);

/** runc makes its default root on first use: it goes again if this test is what made it. */
const runcRootExisted = existsSync('/run/runc');

beforeAll(async () => {
  chmodSync(scratch, 0o755);
  const rootfs = ensureBusyboxImage(scratch).path;
  busyboxRootfs = rootfs;
  // runc with its default root (/run/runc), running; and with a root of the test's own, created only
  runcStartingContainer(['run', '-d', '--bundle', bundle(ids.runc, rootfs), ids.runc]);
  pids.runc = (JSON.parse(runc(['state', ids.runc])) as { pid: number }).pid;
  runcStartingContainer(['--root', ownRoot, 'create', '--bundle', bundle(ids.created, rootfs), ids.created]);
  pids.created = (JSON.parse(runc(['--root', ownRoot, 'state', ids.created])) as { pid: number }).pid;

  unshare = spawn('unshare', ['--fork', '--pid', '--mount-proc', 'sleep', '300'], { stdio: 'ignore' });
  const children = `/proc/${unshare.pid}/task/${unshare.pid}/children`;
  pids.unshare = Number(await waitFor(() => (existsSync(children) ? readFileSync(children, 'utf8').trim() : ''), (text) => text !== '' && readFileSync(`/proc/${text}/comm`, 'utf8').trim() === 'sleep'));

  pids.own = (await fixture.run({ name: ids.own })).pid!;

  if (hasContainerd) {
    containerd = await startPrivateContainerd(join(scratch, 'containerd'), tag);
    await containerd.ctrAsync(['run', '-d', '--runc-binary', '/usr/sbin/runc', '--runc-root', join(scratch, 'ctr-runc'), containerd.image, ids.ctr, 'sleep', '300']);
    pids.ctr = Number(/^\S+\s+(\d+)\s+RUNNING/m.exec(containerd.ctr(['tasks', 'ls']))![1]);
  }
  found = fixture.runtime().hostContainers([ownRoot]);
}, 120_000);

afterAll(async () => {
  spawnSync('runc', ['delete', '--force', ids.runc]);
  spawnSync('runc', ['--root', ownRoot, 'delete', '--force', ids.created]);
  await stopUnshare();
  await containerd?.stop();
  if (!runcRootExisted) spawnSync('rmdir', ['/run/runc']);
  rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('host.containers finds every container on the host with its maker', () => {
  test('runc (default root /run/runc): maker runc, its bundle and state, the rootfs is the bundle\'s', () => {
    const entry = expectKernelView(entryFor(pids.runc), pids.runc);
    expect(entry).toMatchObject({ maker: 'runc', runtime: null, id: ids.runc, name: ids.runc, status: 'running', command: 'sleep', bundle: join(scratch, ids.runc), stateDir: `/run/runc/${ids.runc}` });
    // runc bind-mounts the bundle's rootfs onto itself and pivots into it: mountinfo shows that directory
    // (relative to its filesystem's root, so a suffix of the path when /tmp is a mount of its own)
    expect(entry.rootfs!.root.length).toBeGreaterThan(1);
    expect(busyboxRootfs.endsWith(entry.rootfs!.root)).toBe(true);
    expect(entry.sharedWithHost).toEqual(['user']);
  });

  test('runc --root of its own, created and not started: status created (its exec.fifo waits)', () => {
    const entry = expectKernelView(entryFor(pids.created), pids.created);
    expect(entry).toMatchObject({ maker: 'runc', id: ids.created, status: 'created', stateDir: join(ownRoot, ids.created) });
    expect(existsSync(join(ownRoot, ids.created, 'exec.fifo'))).toBe(true);
  });

  test('unshare --fork --pid --mount-proc sleep: nothing claims it (unknown), PID 1 of its own PID namespace, unshare its parent', () => {
    const entry = expectKernelView(entryFor(pids.unshare), pids.unshare);
    expect(entry).toMatchObject({ maker: 'unknown', id: String(pids.unshare), name: 'sleep', command: 'sleep', status: 'running' });
    expect(entry.parents[0]).toEqual({ pid: unshare!.pid, command: 'unshare' });
    expect(Object.keys(entry.namespaces).filter((type) => !entry.sharedWithHost.includes(type as never)).sort()).toEqual(['mnt', 'pid']);
    // unshare itself is in the new mount namespace too (it unshared before forking): an entry of its own
    expect(entryFor(unshare!.pid!)).toMatchObject({ maker: 'unknown', key: `mnt:${nsInode(unshare!.pid!, 'mnt')}` });
  });

  test("the agent's own container: maker containers-lab, its id and name, its overlay, the agent its parent", () => {
    const entry = expectKernelView(entryFor(pids.own), pids.own);
    const record = fixture.runtime().inspect(ids.own);
    expect(entry).toMatchObject({ maker: 'containers-lab', id: record.id, name: ids.own, status: 'running' });
    expect(entry.rootfs).toMatchObject({ fstype: 'overlay', upper: record.rootfs!.upper });
    expect(entry.parents[0]!.pid).toBe(process.pid);
    expect(entry.sharedWithHost).toEqual(record.sharedWithHost);
  });

  test.skipIf(!hasContainerd)('containerd + ctr run: maker containerd, runtime runc, its namespace and id, the shim its parent', () => {
    const entry = expectKernelView(entryFor(pids.ctr), pids.ctr);
    expect(entry).toMatchObject({ maker: 'containerd', runtime: 'runc', id: ids.ctr, name: `${tag}/${ids.ctr}`, namespace: tag, status: 'running', command: 'sleep' });
    expect(entry.parents[0]!.command).toBe('containerd-shim-runc-v2');
    expect(readFileSync(`/proc/${entry.parents[0]!.pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['-namespace', tag, '-id', ids.ctr]));
    expect(entry.stateDir).toBe(join(scratch, 'ctr-runc', tag, ids.ctr));
    expect(entry.bundle).toMatch(new RegExp(`/io\\.containerd\\.runtime\\.v2\\.task/${tag}/${ids.ctr}$`));
    expect(entry.rootfs).toMatchObject({ fstype: 'overlay' });
    expect(entry.rootfs!.upper!.startsWith(join(scratch, 'containerd', 'root'))).toBe(true);
    expect(entry.cgroup!.endsWith(`/${tag}/${ids.ctr}`)).toBe(true);
  });

  test('a runtime record is trusted only for the process it names: a reused PID (another start time) is not claimed', () => {
    const record = (start: number): void => {
      rmSync(fakeRoot, { recursive: true, force: true });
      mkdirSync(join(fakeRoot, 'fake'), { recursive: true });
      writeFileSync(join(fakeRoot, 'fake', 'state.json'), JSON.stringify({ id: 'fake', init_process_pid: pids.unshare, init_process_start: start, config: { labels: ['bundle=/nowhere'] } }));
    };
    const start = processStartTime(pids.unshare)!;
    record(start + 1);
    expect(fixture.runtime().hostContainers([fakeRoot]).containers.find((c) => c.pid === pids.unshare)?.maker).toBe('unknown');
    record(start);
    expect(fixture.runtime().hostContainers([fakeRoot]).containers.find((c) => c.pid === pids.unshare)).toMatchObject({ maker: 'runc', id: 'fake', bundle: '/nowhere' });
    rmSync(fakeRoot, { recursive: true, force: true });
  });

  test('a relative runtime root is refused in one line; a root that does not exist is just empty', () => {
    expect(() => fixture.runtime().hostContainers(['run/runc'])).toThrow(/^runtime root "run\/runc" is not an absolute path$/);
    expect(fixture.runtime().hostContainers([join(scratch, 'no-such-root')]).containers.map((c) => c.pid)).toEqual(expect.arrayContaining([pids.runc, pids.own]));
  });

  test('once they are removed none is found, and nothing of them is left', async () => {
    runc(['delete', '--force', ids.runc]);
    runc(['--root', ownRoot, 'delete', '--force', ids.created]);
    await stopUnshare();
    await fixture.runtime().remove(ids.own, true);
    if (containerd) {
      await containerd.stop();
      containerd = null;
    }
    const all = Object.values(pids).filter((pid) => pid > 0);
    await waitFor(() => all.filter(processExists), (left) => left.length === 0);
    expect(all.filter(processExists)).toEqual([]);
    const after = fixture.runtime().hostContainers([ownRoot]);
    // by identity, not PID: other tests on this machine may be given one of these PIDs again meanwhile
    const keys = all.map((pid) => entryFor(pid)?.key).filter((key): key is string => key !== undefined);
    expect(after.containers.filter((c) => keys.includes(c.key) || c.name.includes(tag) || c.id.includes(tag))).toEqual([]);
    expect(Object.values(ids).flatMap((id) => cgroupDirsNamed(id))).toEqual([]);
    expect(cgroupDirsNamed(tag)).toEqual([]);
    expect(existsSync(`/run/runc/${ids.runc}`)).toBe(false);
    expect(existsSync(join(ownRoot, ids.created))).toBe(false);
    expect(existsSync(`/run/containerd/runc/${tag}`)).toBe(false);
    expect(hostMountsMentioning(scratch)).toEqual([]);
  }, 60_000);
});
