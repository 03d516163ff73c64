/*
 * Namespaces joined by path through containers-lab-runc, as runc joins them (the OCI validation
 * suite's linux_ns_path and hostname tests): a mount namespace gets the container's root and
 * mounts, and a UTS namespace joined while config.json sets `hostname` gets that name — whoever
 * else is in it sees the change. The namespaces belong to a `sleep` started by the test with
 * unshare(1); the witnesses are /proc/<pid>/ns links and what the sleep itself sees.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { reap } from '../agent/kernel/processes';
import { cgroupDirsNamed, hostMountsMentioning } from './helpers/kernel-witness';
import { becomeSubreaper, ensureRuncBuilt, makeBundle, runc } from './helpers/runc';

let work: string;
let holder: ChildProcess;
beforeAll(async () => {
  ensureRuncBuilt();
  becomeSubreaper();
  work = mkdtempSync(join(tmpdir(), 'runcmore-joined-'));
  // Without --fork, unshare execs sleep in the new namespaces: the pid is the sleep's.
  holder = spawn('unshare', ['--uts', '--mount', 'sleep', '600'], { stdio: 'ignore' });
  for (let i = 0; i < 200 && readlinkSync(`/proc/${holder.pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
});
afterAll(() => {
  holder.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('joining a mount and a UTS namespace by path with a hostname: the container is in both, the name is set there, not on the host', () => {
  const pid = holder.pid!;
  expect(readlinkSync(`/proc/${pid}/ns/uts`)).not.toBe(readlinkSync('/proc/self/ns/uts'));
  const bundle = makeBundle(join(work, 'bundle'), join(work, 'images'), (spec) => {
    spec.hostname = 'joined-by-path';
    spec.process!.args = ['sh', '-c', 'hostname; awk \'$5 == "/proc" { print $9 }\' /proc/self/mountinfo'];
    spec.linux!.namespaces = spec.linux!.namespaces!.map((entry) =>
      entry.type === 'uts' || entry.type === 'mount' ? { ...entry, path: `/proc/${pid}/ns/${entry.type === 'mount' ? 'mnt' : 'uts'}` } : entry);
  });
  const root = join(work, 'root');
  const id = `runcmore-joined-${process.pid}`;
  const output = join(work, 'out');
  const pidFile = join(work, 'pid');
  const created = runc(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id], { output });
  expect(created.stderr).toBe('');
  expect(created.status).toBe(0);
  const containerPid = Number(readFileSync(pidFile, 'utf8'));
  expect(readlinkSync(`/proc/${containerPid}/ns/mnt`)).toBe(readlinkSync(`/proc/${pid}/ns/mnt`));
  expect(readlinkSync(`/proc/${containerPid}/ns/uts`)).toBe(readlinkSync(`/proc/${pid}/ns/uts`));
  // Its own PID namespace still: not joined.
  expect(readlinkSync(`/proc/${containerPid}/ns/pid`)).not.toBe(readlinkSync(`/proc/${pid}/ns/pid`));
  // The sleep shares the name, and (pivoted with the namespace) the container's root.
  expect(execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname'], { encoding: 'utf8' }).trim()).toBe('joined-by-path');
  expect(readlinkSync(`/proc/${pid}/root`)).toBe('/');
  expect(readFileSync(`/proc/${pid}/root/bin/busybox`).equals(readFileSync(join(bundle, 'rootfs/bin/busybox')))).toBe(true);
  expect(hostname()).not.toBe('joined-by-path');
  // The mounts were made in the joined namespace, none in the host's.
  expect(hostMountsMentioning(bundle)).toEqual([]);

  expect(runc(root, ['start', id]).status).toBe(0);
  expect(reap(containerPid, true)).toEqual({ code: 0, signal: null });
  expect(readFileSync(output, 'utf8')).toBe('joined-by-path\nproc\n');
  expect(runc(root, ['delete', id]).status).toBe(0);
  expect(cgroupDirsNamed(id)).toEqual([]);
});

test('a hostname with no UTS namespace at all is still refused in one line', () => {
  const bundle = makeBundle(join(work, 'no-uts'), join(work, 'images'), (spec) => {
    spec.hostname = 'nowhere';
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((entry) => entry.type !== 'uts');
  });
  const result = runc(join(work, 'root'), ['run', '--bundle', bundle, `runcmore-joined-nouts-${process.pid}`]);
  expect(result).toMatchObject({ status: 1, stderr: 'config.json: /hostname needs a UTS namespace in linux.namespaces (its own, or one joined by path)\n' });
});
