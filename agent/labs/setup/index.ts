/*
 * Setup: what the agent does to prepare a lab's scenario — run containers (RunOptions exactly as
 * `container.run` takes them), run commands inside them, write files, build small images (`image`),
 * and break things on purpose.
 * Setup runs top to bottom and stops at the first failure with a one-line error; the engine then
 * tears down what was made, so a failed start leaves nothing behind. The actions come with the
 * attempt's values filled in (../template.ts).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { badInput } from '../../errors';
import { execCapture, execTarget, type LabContext } from '../context';
import type { SetupAction } from '../format';
import { runOnHost } from '../host-command';
import { injectFault } from './network-faults';
import { startLabRegistry } from '../daemons/registry';
import { startLabContainerd } from '../daemons/containerd';
import { labDaemonDirectory } from '../daemons/directory';
import { makeLabNodes } from '../nodes';
import { waitUntilStopped } from './wait';
import { ensureBusyboxImage } from '../../runtime/image/busybox';

async function perform(action: SetupAction, context: LabContext): Promise<void> {
  if ('run' in action) {
    // A container that names no bridge goes on the runtime's default network, like a learner's own `run`.
    await context.runtime.run(action.run);
    if (action.waitUntil === 'stopped') await waitUntilStopped(context.runtime, action.run.name, 20_000);
    return;
  }
  if ('exec' in action) {
    // `privileged` keeps root's full power (no capability drop, no seccomp) for setup steps that
    // do what the container itself may not — mounting a /proc for a chroot jail, say.
    const command = ['sh', '-c', action.exec.command];
    const result = await execCapture(context.runtime, execTarget(context, action.exec.container), command, 20_000, action.exec.privileged === true);
    if (result.code !== 0) {
      throw badInput(`setup: "${action.exec.command}" in ${action.exec.container} exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
    }
    return;
  }
  if ('writeFile' in action) {
    const { container, content, mode } = action.writeFile;
    const path = action.writeFile.path;
    const target = container ? join(`/proc/${context.runtime.inspect(container).pid ?? 0}/root`, path) : path;
    if (!container && !target.startsWith(context.workdir)) throw badInput(`setup: host files are written only under {{workdir}}, not ${path}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    if (mode) chmodSync(target, parseInt(mode, 8));
    return;
  }
  if ('image' in action) {
    // Built here, offline: the image's layers are tars the agent writes (../../image/build.ts).
    await context.runtime.images.build(action.image);
    return;
  }
  if ('registry' in action) {
    await startLabRegistry(action.registry, labDaemonDirectory(context, 'registry'), context.runtime);
    return;
  }
  if ('containerd' in action) {
    await startLabContainerd(action.containerd, labDaemonDirectory(context, 'containerd'));
    return;
  }
  if ('rootfs' in action) {
    // A plain directory tree, no overlay: what `chroot` needs and nothing more.
    if (!action.rootfs.path.startsWith(`${context.workdir}/`)) throw badInput(`setup: a root directory is made only under {{workdir}}, not ${action.rootfs.path}`);
    mkdirSync(dirname(action.rootfs.path), { recursive: true });
    execFileSync('cp', ['-a', ensureBusyboxImage(context.stateRoot).path, action.rootfs.path]);
    for (const directory of ['proc', 'sys', 'tmp', 'dev']) mkdirSync(join(action.rootfs.path, directory), { recursive: true });
    return;
  }
  if ('host' in action) {
    await runOnHost(action.host, 'setup: ');
    return;
  }
  if ('freeze' in action) {
    // Frozen from outside, as a node's stray script would: the file, not the runtime's pause, so
    // the container still reads "running" and only its stillness gives it away.
    const cgroup = context.runtime.inspect(action.freeze.container).cgroup;
    const file = cgroup?.files.freezer ?? cgroup?.files.freeze;
    if (!file) throw badInput(`setup: "${action.freeze.container}" has no freezer`);
    writeFileSync(file, cgroup!.files.freezer ? 'FROZEN' : '1');
    return;
  }
  if ('pod' in action) {
    // As `containers-lab apply -f` makes it; the YAML stays in {{workdir}} for the learner to read.
    const { yaml, path } = action.pod;
    if (path !== undefined) {
      if (!path.startsWith(`${context.workdir}/`)) throw badInput(`setup: Pod YAML is kept only under {{workdir}}, not ${path}`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, yaml);
    }
    await context.pods().apply(yaml, path ?? 'pod.yaml');
    await context.pods().settled();
    return;
  }
  if ('nodes' in action) {
    // Machines of their own on the lab host, each a network namespace with its own agent.
    await makeLabNodes(action.nodes, context);
    return;
  }
  injectFault(action.fault, context);
}

export async function performSetup(actions: readonly SetupAction[], context: LabContext): Promise<void> {
  mkdirSync(context.workdir, { recursive: true, mode: 0o755 });
  for (const action of actions) await perform(action, context);
}
