/*
 * A containerd of the test's own: Debian's containerd with its own config, root, state and socket
 * under a temporary directory (no TCP, the CRI plugin off), an OCI image archive the test builds
 * (busybox and `sleep`) imported with `ctr images import`, and a stop() that deletes every task,
 * container and image it made, stops the daemon and removes what `ctr run` leaves behind (the
 * empty /<namespace> cgroup directories, the namespace's runtime state directory).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeEmptyTree } from '../../agent/labs/daemons/containerd';
import { findStaticBusybox } from '../../agent/runtime/image/busybox';
import { cgroupDirsNamed } from './kernel-witness';
import { OciLayout, makeTree } from './oci-layout';
import { goArch } from './runnable-images';
import { waitFor } from './wait';

export interface PrivateContainerd {
  socket: string;
  /** The containerd namespace every ctr call uses (its cgroups are /<namespace>/<id>). */
  namespace: string;
  /** The image the archive imported: busybox with sh and sleep. */
  image: string;
  ctr(args: string[]): string;
  /** The same, without blocking: for what may take seconds (an import, `ctr run`). */
  ctrAsync(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Starts containerd under `scratch` and imports a busybox image; `namespace` should be unique to the run. */
export async function startPrivateContainerd(scratch: string, namespace: string): Promise<PrivateContainerd> {
  mkdirSync(scratch, { recursive: true });
  const socket = join(scratch, 'containerd.sock');
  writeFileSync(join(scratch, 'config.toml'), [
    'version = 2',
    `root = "${join(scratch, 'root')}"`,
    `state = "${join(scratch, 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
  ].join('\n'));
  const daemon: ChildProcess = spawn('containerd', ['--config', join(scratch, 'config.toml')], { stdio: 'ignore' });
  const ctr = (args: string[]): string => execFileSync('ctr', ['-a', socket, '-n', namespace, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const ctrAsync = (args: string[]): Promise<string> => new Promise((resolve, reject) => {
    execFile('ctr', ['-a', socket, '-n', namespace, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ctr ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
  await waitFor(() => existsSync(socket), Boolean, 20_000);
  await waitFor(() => { try { ctr(['version']); return true; } catch { return false; } }, Boolean, 20_000);

  const image = `docker.io/library/${namespace}-busybox:1`;
  const layout = new OciLayout(join(scratch, 'layout'));
  makeTree(join(scratch, 'tree'), { 'bin/sh': { symlink: 'busybox' }, 'bin/sleep': { symlink: 'busybox' } });
  copyFileSync(findStaticBusybox(), join(scratch, 'tree', 'bin', 'busybox'));
  const built = layout.addImage({ layers: [layout.addLayer(join(scratch, 'tree'))], runConfig: { Cmd: ['sleep', '300'] }, architecture: goArch() });
  layout.tag(built.manifest, '1');
  execFileSync('tar', ['-C', layout.dir, '-cf', join(scratch, 'image.tar'), '.']);
  await ctrAsync(['images', 'import', '--base-name', image.slice(0, image.lastIndexOf(':')), join(scratch, 'image.tar')]);

  const stop = async (): Promise<void> => {
    for (const line of safe(() => ctr(['tasks', 'ls', '-q'])).split('\n').filter(Boolean)) {
      safe(() => ctr(['tasks', 'kill', '-s', 'KILL', line]));
      await waitFor(() => safe(() => ctr(['tasks', 'ls'])), (text) => !new RegExp(`^${line}\\s+\\d+\\s+RUNNING`, 'm').test(text), 10_000);
      safe(() => ctr(['tasks', 'delete', line]));
    }
    for (const line of safe(() => ctr(['containers', 'ls', '-q'])).split('\n').filter(Boolean)) safe(() => ctr(['containers', 'delete', line]));
    safe(() => ctr(['images', 'rm', image]));
    daemon.kill('SIGTERM');
    if (daemon.exitCode === null && daemon.signalCode === null) await new Promise((resolve) => daemon.once('exit', resolve));
    for (const directory of cgroupDirsNamed(namespace)) removeEmptyTree(directory);
    removeEmptyTree(join('/run/containerd/runc', namespace));
    rmSync(scratch, { recursive: true, force: true });
  };
  return { socket, namespace, image, ctr, ctrAsync, stop };
}

function safe(run: () => string): string {
  try {
    return run();
  } catch {
    return '';
  }
}
