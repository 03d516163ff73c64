/*
 * Host inspection against the kernel's own view and util-linux as independent witnesses:
 * namespace inodes equal stat(/proc/<pid>/ns/<type>).st_ino, the namespace table equals
 * `lsns -J`, and mountinfo parsing equals `findmnt -J` (including escaped paths).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseMountinfo, readMountinfo, readMountinfoEntries, unescapeMountinfo } from '../agent/inspect/mountinfo';
import { readNamespaceInodes, snapshotProcesses } from '../agent/inspect/processes';
import { NAMESPACE_TYPES, type HostNamespace } from '../agent/protocol';

const children: ChildProcess[] = [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-inspect-test-'));
afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  fs.rmSync(scratch, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `command` and waits until the process has exec'd `sleep` (its namespaces are final). */
async function startUntilSleeping(command: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  for (let tries = 0; tries < 200; tries++) {
    if (fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep') return child;
    await sleep(10);
  }
  throw new Error(`${command} did not reach sleep`);
}

function kernelInode(pid: number | 'self', type: string): number {
  return fs.statSync(`/proc/${pid}/ns/${type}`).ino;
}

function cgroupsFromFile(pid: number): Record<string, string> {
  const cgroups: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, controllers, cgroupPath] = /^\d+:([^:]*):(.*)$/.exec(line)!;
    cgroups[controllers === '' ? 'unified' : controllers!] = cgroupPath!;
  }
  return cgroups;
}

describe('process snapshot', () => {
  test('contains this process with the kernel’s namespace inodes, ppid, uid, command and cgroups', () => {
    const { processes } = snapshotProcesses();
    const self = processes.find((entry) => entry.pid === process.pid);
    expect(self).toBeDefined();
    for (const type of NAMESPACE_TYPES) expect(self!.namespaces[type], type).toBe(kernelInode('self', type));
    expect(self!.ppid).toBe(process.ppid);
    expect(self!.uid).toBe(process.getuid!());
    expect(self!.command).toBe(fs.readFileSync('/proc/self/comm', 'utf8').trim());
    expect(self!.cgroups).toEqual(cgroupsFromFile(process.pid));
    expect(readNamespaceInodes(process.pid)).toEqual(self!.namespaces);
  });

  test('a process in new net/uts/ipc namespaces shows its own inodes and namespaces of one process', async () => {
    const child = await startUntilSleeping('unshare', ['--net', '--uts', '--ipc', 'sleep', '600']);
    const pid = child.pid!;
    const { processes, namespaces } = snapshotProcesses();
    const entry = processes.find((candidate) => candidate.pid === pid)!;
    expect(entry).toMatchObject({ pid, ppid: process.pid, uid: 0, command: 'sleep' });
    for (const type of NAMESPACE_TYPES) expect(entry.namespaces[type], type).toBe(kernelInode(pid, type));
    for (const type of ['net', 'uts', 'ipc'] as const) {
      expect(entry.namespaces[type]).not.toBe(kernelInode('self', type));
      const namespace = namespaces.find((candidate) => candidate.inode === entry.namespaces[type]);
      expect(namespace).toEqual({ inode: entry.namespaces[type], type, processes: 1, pid, command: 'sleep' });
    }
    for (const type of ['mnt', 'pid', 'user', 'cgroup'] as const) expect(entry.namespaces[type]).toBe(kernelInode('self', type));
  });

  test('a process in a new PID namespace is seen by its host PID', async () => {
    // --kill-child: the sleeper dies with unshare instead of outliving the test, orphaned.
    const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'sleep', '600'], { stdio: 'ignore' });
    children.push(child);
    // With --fork the sleeper is unshare's child (PID 1 of the new namespace); pgrep finds it.
    let sleeperPid = 0;
    for (let tries = 0; tries < 200 && !sleeperPid; tries++) {
      await sleep(10);
      sleeperPid = Number(spawnSync('pgrep', ['-P', String(child.pid), '-x', 'sleep'], { encoding: 'utf8' }).stdout.trim());
    }
    const { processes } = snapshotProcesses();
    const sleeper = processes.find((candidate) => candidate.pid === sleeperPid);
    expect(sleeper).toMatchObject({ ppid: child.pid, command: 'sleep' });
    expect(sleeper!.namespaces.pid).toBe(kernelInode(sleeper!.pid, 'pid'));
    expect(sleeper!.namespaces.pid).not.toBe(kernelInode('self', 'pid'));
    expect(fs.readFileSync(`/proc/${sleeper!.pid}/status`, 'utf8')).toMatch(new RegExp(`^NSpid:\\s+${sleeper!.pid}\\s+1$`, 'm'));
  });

  test('processes exiting during the scan are skipped silently', async () => {
    const churn = spawn('sh', ['-c', 'while :; do /bin/true; done'], { stdio: 'ignore' });
    children.push(churn);
    await sleep(50);
    for (let round = 0; round < 20; round++) expect(() => snapshotProcesses()).not.toThrow();
    churn.kill('SIGKILL');
    expect(readNamespaceInodes(2 ** 22 + 1)).toBeNull(); // above PID_MAX_LIMIT: never a process
  });

  test('the namespace table equals lsns -J (type, inode, process count, lowest PID)', async () => {
    type Row = { inode: number; type: string; processes: number; pid: number };
    const key = (rows: Row[]) =>
      JSON.stringify([...rows].sort((a, b) => a.inode - b.inode).map((row) => [row.inode, row.type, row.processes, row.pid]));
    const ours = (): string => key(snapshotProcesses().namespaces.map(({ inode, type, processes, pid }: HostNamespace) => ({ inode, type, processes, pid })));
    type LsnsRow = { ns: number; type: string; nprocs: number; pid: number; children?: LsnsRow[] };
    // lsns nests namespaces whose first process is a child of another's under "children".
    const flatten = (rows: LsnsRow[]): LsnsRow[] => rows.flatMap((row) => [row, ...flatten(row.children ?? [])]);
    const ownInodes = new Set(NAMESPACE_TYPES.map((type) => kernelInode('self', type)));
    const theirs = (): string => {
      const output = JSON.parse(spawnSync('lsns', ['-J'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout) as { namespaces: LsnsRow[] };
      return key(
        flatten(output.namespaces)
          // lsns also lists time namespaces, which the lab does not show…
          .filter((ns) => ns.type !== 'time')
          // …and counts itself, a child of this process in all of its namespaces.
          .map((ns) => ({ inode: ns.ns, type: ns.type, processes: ns.nprocs - (ownInodes.has(ns.ns) ? 1 : 0), pid: ns.pid })),
      );
    };
    // Other test files start and stop processes meanwhile: compare in a quiet moment, when our
    // snapshot is the same just before and just after lsns.
    let last = '';
    for (let attempt = 0; attempt < 30; attempt++) {
      const before = ours();
      const reference = theirs();
      const after = ours();
      if (before === after && before === reference) return;
      last = `ours ${before}\nlsns ${reference}\nours ${after}`;
      await sleep(100);
    }
    throw new Error(`snapshot never matched lsns -J:\n${last}`);
  });
});

describe('mountinfo', () => {
  test('parses a line with octal escapes, optional fields and super options', () => {
    const [entry] = parseMountinfo(
      '36 35 98:0 /mnt\\0401 /mnt/with\\040space\\134and\\011tab rw,noatime master:1 shared:7 - ext3 /dev/my\\040disk rw,errors=continue\n',
    );
    expect(entry).toEqual({
      mountId: 36,
      parentId: 35,
      device: '98:0',
      root: '/mnt 1',
      target: '/mnt/with space\\and\ttab',
      mountOptions: 'rw,noatime',
      optionalFields: ['master:1', 'shared:7'],
      fstype: 'ext3',
      source: '/dev/my disk',
      superOptions: 'rw,errors=continue',
      options: 'rw,noatime,errors=continue',
    });
    const [plain] = parseMountinfo('22 27 0:21 / /proc rw,relatime - proc proc rw');
    expect(plain).toMatchObject({ target: '/proc', optionalFields: [], fstype: 'proc', source: 'proc', options: 'rw,relatime' });
    expect(unescapeMountinfo('a\\012b')).toBe('a\nb');
  });

  test('/proc/self/mountinfo parses to what findmnt -J shows', () => {
    const findmnt = JSON.parse(
      spawnSync('findmnt', ['-J', '--list', '--kernel', '-o', 'ID,PARENT,SOURCE,TARGET,FSTYPE,OPTIONS,FSROOT'], { encoding: 'utf8' }).stdout,
    ) as { filesystems: { id: number; parent: number; source: string; target: string; fstype: string; options: string; fsroot: string }[] };
    const ours = readMountinfo('self');
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.map((mount) => mount.mountId)).toEqual(findmnt.filesystems.map((fs_) => fs_.id));
    for (const [index, mount] of ours.entries()) {
      const reference = findmnt.filesystems[index]!;
      expect({ ...mount }).toEqual({
        mountId: reference.id,
        parentId: reference.parent,
        // findmnt appends "[root]" to the source of bind mounts (nsfs roots hold brackets themselves: net:[4026532177])
        source: reference.source.endsWith(`[${reference.fsroot}]`) ? reference.source.slice(0, -reference.fsroot.length - 2) : reference.source,
        target: reference.target,
        fstype: reference.fstype,
        options: reference.options,
        root: reference.fsroot,
      });
    }
  });

  test("another process's mount namespace, with a space and a backslash in a mount point", async () => {
    const mountPoint = path.join(scratch, 'with space\\and backslash');
    fs.mkdirSync(mountPoint);
    // The tmpfs exists only in the child's private mount namespace and vanishes with it.
    const child = await startUntilSleeping('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs -o size=1m,mode=0700 cl-inspect-test "$1" && exec sleep 600',
      'sh',
      mountPoint,
    ]);
    const theirs = readMountinfoEntries(child.pid!).find((mount) => mount.target === mountPoint);
    expect(theirs).toMatchObject({ fstype: 'tmpfs', source: 'cl-inspect-test', root: '/' });
    expect(theirs!.superOptions).toContain('size=1024k');
    expect(theirs!.options).toMatch(/^rw,.*size=1024k,mode=700/);
    expect(readMountinfo('self').some((mount) => mount.target === mountPoint)).toBe(false);
    // findmnt in the child's namespace agrees on the decoded path.
    const witness = spawnSync('nsenter', ['-t', String(child.pid), '-m', 'findmnt', '-J', '-o', 'TARGET,SOURCE', '--target', mountPoint], {
      encoding: 'utf8',
    });
    expect(JSON.parse(witness.stdout).filesystems[0]).toEqual({ target: mountPoint, source: 'cl-inspect-test' });
  });

  test('a process that does not exist is reported by PID', () => {
    expect(() => readMountinfo(2 ** 22 + 1)).toThrow(`process ${2 ** 22 + 1} not found`);
  });
});
