/*
 * run [create's flags] [--detach] ID: create and start in one go. In the foreground (the
 * default) this process stays the container's parent: it forwards the signals it gets to the
 * container's first process, collects its exit status and exits with it — 128+N for a signal —
 * then deletes the container unless --keep. With --detach it returns once the container runs.
 */
import { constants } from 'node:os';
import { reap, signalProcess } from '../kernel/processes';
import { CREATE_FLAGS, createFromBundle, optionsFrom } from './create';
import { flag, parseFlags, requireId } from './flags';
import { removeContainer } from './delete';
import { startContainer } from './start';
import type { Invocation } from './verb';

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function run(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [...CREATE_FLAGS, { name: 'detach', alias: 'd', kind: 'bool' }, { name: 'keep', kind: 'bool' }]);
  const id = requireId('run', parsed.positionals);
  const detach = flag.bool(parsed, 'detach');
  const { root } = invocation;
  const prepared = createFromBundle(root, id, optionsFrom(parsed, detach));
  const pid = prepared.state.pid!;
  const forward = (signal: NodeJS.Signals): void => {
    signalProcess(pid, constants.signals[signal]);
  };
  if (!detach) for (const signal of FORWARDED) process.on(signal, forward);
  startContainer(root, id);
  root.unlock(id);
  if (detach) return 0;
  const status = await new Promise<number>((resolve) => {
    const collect = (): void => {
      const exited = reap(pid, false);
      if (!exited) return;
      process.off('SIGCHLD', collect);
      clearInterval(backstop);
      resolve(exited.code);
    };
    process.on('SIGCHLD', collect);
    // SIGCHLD may have come before the listener: look once now, and now and then after.
    const backstop = setInterval(collect, 1000);
    collect();
  });
  for (const signal of FORWARDED) process.off(signal, forward);
  if (!flag.bool(parsed, 'keep')) {
    root.lock(id);
    await removeContainer(root, root.load(id));
    root.removeLock(id);
  }
  return status;
}
