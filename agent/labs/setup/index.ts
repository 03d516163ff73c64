/*
 * Setup: what the agent does to prepare a lab's scenario — run containers (RunOptions exactly as
 * `container.run` takes them), run commands inside them, write files, and break things on purpose.
 * Setup runs top to bottom and stops at the first failure with a one-line error; the engine then
 * tears down what was made, so a failed start leaves nothing behind.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunOptions } from '../../protocol';
import { badInput } from '../../errors';
import { execCapture, fill, type LabContext } from '../context';
import type { SetupAction } from '../format';
import { injectFault } from './network-faults';
import { waitUntilStopped } from './wait';

/**
 * RunOptions with the lab's templates filled. A container that names no bridge goes on the
 * runtime's default network, like a learner's own `run` — pods' sandboxes included.
 */
export function labRunOptions(options: RunOptions, context: LabContext): RunOptions {
  const filled: RunOptions = { ...options };
  if (options.hostname !== undefined) filled.hostname = fill(options.hostname, context);
  if (options.args) filled.args = options.args.map((arg) => fill(arg, context));
  if (options.volumes) {
    filled.volumes = options.volumes.map((volume) => (volume.hostPath ? { ...volume, hostPath: fill(volume.hostPath, context) } : volume));
  }
  return filled;
}

async function perform(action: SetupAction, context: LabContext): Promise<void> {
  if ('run' in action) {
    await context.runtime.run(labRunOptions(action.run, context));
    if (action.waitUntil === 'stopped') await waitUntilStopped(context.runtime, action.run.name, 20_000);
    return;
  }
  if ('exec' in action) {
    // `privileged` keeps root's full power (no capability drop, no seccomp) for setup steps that
    // do what the container itself may not — mounting a /proc for a chroot jail, say.
    const command = ['sh', '-c', fill(action.exec.command, context)];
    const result = await execCapture(context.runtime, action.exec.container, command, 20_000, action.exec.privileged === true);
    if (result.code !== 0) {
      throw badInput(`setup: "${action.exec.command}" in ${action.exec.container} exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
    }
    return;
  }
  if ('writeFile' in action) {
    const { container, content, mode } = action.writeFile;
    const path = fill(action.writeFile.path, context);
    const target = container ? join(`/proc/${context.runtime.inspect(container).pid ?? 0}/root`, path) : path;
    if (!container && !target.startsWith(context.workdir)) throw badInput(`setup: host files are written only under {{workdir}}, not ${path}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, fill(content, context));
    if (mode) chmodSync(target, parseInt(mode, 8));
    return;
  }
  injectFault(action.fault, context);
}

export async function performSetup(actions: readonly SetupAction[], context: LabContext): Promise<void> {
  mkdirSync(context.workdir, { recursive: true, mode: 0o755 });
  for (const action of actions) await perform(action, context);
}
