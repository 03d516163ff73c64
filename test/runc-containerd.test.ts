/*
 * containerd runs containers with containers-lab-runc: Debian's containerd 1.6, started by this
 * test with a config, root, state and gRPC socket of its own (CRI disabled), imports an OCI image
 * archive the test builds (busybox as one layer); `ctr run --runc-binary <our runtime>` then goes
 * through containerd's runc shim, which calls the runtime as runc (create --bundle --pid-file,
 * start, state, kill, delete, exec --process, pause/resume) and reaps the container as its
 * subreaper. Checked: exit codes, output, ctr task ls/exec/kill/pause/resume, the kernel's view
 * (the shim → container parent chain, the cgroup freezer), and nothing left behind.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusyboxImage } from '../agent/runtime/image/busybox';
import { cgroupDirsNamed } from './helpers/kernel-witness';
import { OciLayout } from './helpers/oci-layout';
import { ensureRuncBuilt, RUNC_BUNDLE } from './helpers/runc';
import { goArch } from './helpers/runnable-images';
import { onPath } from './helpers/tools';
import { waitFor } from './helpers/wait';

const tools = onPath('containerd') && onPath('ctr') && onPath('containerd-shim-runc-v2');
const FIX = "apt-get install containerd (scripts/setup-host.sh does)";
if (!tools && process.env.CI === 'true') throw new Error(`containerd, ctr or containerd-shim-runc-v2 missing: ${FIX}`);

const IMAGE = 'docker.io/lab/busybox:latest';
const PREFIX = `rcd${process.pid}`;
let work: string;
let socket: string;
let runtimeBin: string;
let runcRoot: string;
let containerd: ChildProcess | null = null;
const ids: string[] = [];

function ctr(args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('ctr', ['-a', socket, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `ctr run` with our runtime, as a user types it. */
function ctrRun(id: string, command: readonly string[], extra: readonly string[] = []): ReturnType<typeof ctr> {
  ids.push(id);
  return ctr(['run', '--rm', '--runc-binary', runtimeBin, '--runc-root', runcRoot, ...extra, IMAGE, id, ...command]);
}

/**
 * `ctr run --tty` as a user types it at a terminal: under script(1), which gives ctr a pty of its
 * own and copies `input` to it as keystrokes. The shim passes `create --console-socket`, receives
 * the container terminal's multiplexer over it and copies between the two.
 */
function ctrRunTty(id: string, runtime: string, input: string): { status: number | null; output: string } {
  ids.push(id);
  const command = ['ctr', '-a', socket, 'run', '--rm', '--tty', '--runc-binary', runtime, '--runc-root', runcRoot, IMAGE, id, 'sh'].join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', input, timeout: 60_000 });
  return { status: result.status, output: result.stdout };
}

/** The OCI archive containerd imports: busybox as one layer, named by io.containerd.image.name. */
function buildArchive(dir: string): string {
  const layout = new OciLayout(join(dir, 'layout'));
  const layer = layout.addLayer(ensureBusyboxImage(join(dir, 'images')).path);
  const image = layout.addImage({ layers: [layer], architecture: goArch() });
  layout.tag(image.manifest, 'latest');
  const index = JSON.parse(readFileSync(join(dir, 'layout', 'index.json'), 'utf8'));
  index.manifests[0].annotations['io.containerd.image.name'] = IMAGE;
  writeFileSync(join(dir, 'layout', 'index.json'), JSON.stringify(index));
  const archive = join(dir, 'image.tar');
  execFileSync('tar', ['-C', join(dir, 'layout'), '-cf', archive, '.']);
  return archive;
}

/** ctr leaves the cgroup parent it names ("default", the namespace) in every hierarchy: empty ones go. */
let defaultCgroupsBefore: string[] = [];
function removeEmptyDefaultCgroups(): void {
  for (const dir of cgroupDirsNamed('default').filter((dir) => !defaultCgroupsBefore.includes(dir))) {
    try {
      rmdirSync(dir); // only an empty cgroup can be removed
    } catch {
      // in use
    }
  }
}

beforeAll(async () => {
  if (!tools) return;
  ensureRuncBuilt();
  work = mkdtempSync(join(tmpdir(), 'runc-containerd-'));
  socket = join(work, 'containerd.sock');
  runcRoot = join(work, 'runc-root');
  // The runtime as containerd's shim execs it: one executable file.
  runtimeBin = join(work, 'containers-lab-runc');
  writeFileSync(runtimeBin, `#!/bin/sh\nexec ${process.execPath} ${RUNC_BUNDLE} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(work, 'config.toml'), [
    'version = 2',
    `root = "${join(work, 'root')}"`,
    `state = "${join(work, 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '',
  ].join('\n'));
  containerd = spawn('containerd', ['--config', join(work, 'config.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  containerd.stderr!.on('data', () => undefined);
  defaultCgroupsBefore = cgroupDirsNamed('default');
  await waitFor(() => existsSync(socket) && ctr(['version']).status === 0, (up) => up, 20_000);
  const imported = ctr(['images', 'import', buildArchive(work)]);
  expect(imported.status, imported.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  if (!tools) return;
  for (const id of ids) {
    ctr(['task', 'kill', '-s', 'KILL', id]);
    ctr(['task', 'delete', '-f', id]);
    ctr(['container', 'delete', id]);
  }
  ctr(['images', 'rm', IMAGE]);
  if (containerd?.pid) {
    containerd.kill('SIGTERM');
    await new Promise((resolve) => containerd!.once('exit', resolve));
  }
  removeEmptyDefaultCgroups();
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('containerd drives containers-lab-runc', () => {
  it('ctr run: output, exit code, and nothing left behind', (context) => {
    if (!tools) return context.skip(FIX);
    const id = `${PREFIX}-run`;
    const ok = ctrRun(id, ['sh', '-c', 'echo hello from $(hostname); cat /proc/1/cmdline | tr "\\0" " "']);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // A new UTS namespace starts as a copy of the host's: the host's name, as with runc.
    expect(ok.stdout).toBe(`hello from ${hostname()}\nsh -c echo hello from $(hostname); cat /proc/1/cmdline | tr "\\0" " " `);
    const failed = ctrRun(`${PREFIX}-exit`, ['sh', '-c', 'exit 7']);
    expect(failed.status).toBe(7);
    expect(ctr(['containers', 'ls', '-q']).stdout).not.toContain(PREFIX);
    expect(cgroupDirsNamed(id)).toEqual([]);
    expect(existsSync(join(runcRoot, 'default', 'containers', id))).toBe(false);
  });

  it('ctr run --tty: the shell\'s stdio are its own terminal, typed input reaches it, its exit code is ctr\'s — as with runc', (context) => {
    if (!tools) return context.skip(FIX);
    // The terminal's device: major 136 (0x88), Unix98 pty secondaries; /dev/pts/0 of the container's own devpts.
    const typed = 'tty; stat -L -c %t /proc/self/fd/0; readlink /proc/self/fd/1; echo typed-$((6*7)); exit 3\n';
    const ours = ctrRunTty(`${PREFIX}-tty`, runtimeBin, typed);
    // What the commands print, as the terminal carries it (\r\n: the pty's output processing).
    // The echo of the typed line around it may come early or late against the shell's prompt,
    // with either runtime: the lines themselves and the exit code are what must agree.
    const printed = '\r\n/dev/pts/0\r\r\n88\r\r\n/dev/pts/0\r\r\ntyped-42\r\r\n';
    expect(ours.status).toBe(3);
    expect(ours.output).toContain(printed);
    const theirs = ctrRunTty(`${PREFIX}-tty-runc`, '/usr/sbin/runc', typed);
    expect(theirs.status).toBe(3);
    expect(theirs.output).toContain(printed);
    expect(ctr(['containers', 'ls', '-q']).stdout).not.toContain(`${PREFIX}-tty`);
    expect(cgroupDirsNamed(`${PREFIX}-tty`)).toEqual([]);
    expect(existsSync(join(runcRoot, 'default', 'containers', `${PREFIX}-tty`))).toBe(false);
    expect(existsSync(join(runcRoot, 'default', `${PREFIX}-tty-runc`))).toBe(false);
  });

  it('ctr run -d, task ls/ps/exec/pause/resume/kill: the shim → container chain, the freezer, the exit status', async (context) => {
    if (!tools) return context.skip(FIX);
    const id = `${PREFIX}-task`;
    ids.push(id);
    const started = ctr(['run', '-d', '--runc-binary', runtimeBin, '--runc-root', runcRoot, IMAGE, id, 'sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done']);
    expect(started.status, started.stderr).toBe(0);
    const task = (): string => ctr(['task', 'ls']).stdout.split('\n').find((line) => line.startsWith(`${id} `)) ?? '';
    expect(task()).toMatch(/RUNNING/);
    const pid = Number(task().split(/\s+/)[1]);
    // The kernel's view: the container's first process is a child of containerd's runc shim.
    const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    expect(readFileSync(`/proc/${ppid}/comm`, 'utf8').trim()).toBe('containerd-shim');
    const exec = ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; exit 4']);
    expect(exec.status).toBe(4);
    // In the container's namespaces, as the host sees them.
    expect(exec.stdout).toBe(`${readlinkSync(`/proc/${pid}/ns/pid`)}\n${readlinkSync(`/proc/${pid}/ns/mnt`)}\n`);
    const ps = ctr(['task', 'ps', id]);
    expect(ps.status, ps.stderr).toBe(0);
    expect(ps.stdout).toContain(String(pid));

    expect(ctr(['task', 'pause', id]).status).toBe(0);
    expect(task()).toMatch(/PAUSED/);
    const freezer = cgroupDirsNamed(id).find((dir) => existsSync(join(dir, 'freezer.state')));
    if (freezer) expect(readFileSync(join(freezer, 'freezer.state'), 'utf8').trim()).toBe('FROZEN');
    expect(ctr(['task', 'resume', id]).status).toBe(0);
    expect(task()).toMatch(/RUNNING/);

    // sh traps TERM: PID 1 of its namespace, with a handler, exits 3 — seen by containerd through the shim.
    expect(ctr(['task', 'kill', id]).status).toBe(0);
    await waitFor(task, (line) => /STOPPED/.test(line), 10_000);
    expect(task()).toMatch(/STOPPED/);
    const deleted = ctr(['task', 'delete', id]);
    expect(deleted.status, deleted.stderr).toBe(0);
    expect(deleted.stdout + deleted.stderr).toMatch(/exit code 3\b/);
    expect(ctr(['container', 'delete', id]).status).toBe(0);
    expect(cgroupDirsNamed(id)).toEqual([]);
  });
});
