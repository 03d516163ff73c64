/*
 * run [create's flags] [--detach] ID: create and start in one go. In the foreground (the
 * default) this process stays the container's parent: it forwards the signals it gets to the
 * container's first process, collects its exit status and exits with it — 128+N for a signal —
 * then deletes the container unless --keep. With --detach it returns once the container runs.
 */
import { CREATE_FLAGS, createFromBundle, optionsFrom } from './create';
import { flag, parseFlags, requireId } from './flags';
import { removeContainer } from './delete';
import { forwardSignals, waitForChild } from './signals';
import { startContainer } from './start';
import type { Invocation } from './verb';

export async function run(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [...CREATE_FLAGS, { name: 'detach', alias: 'd', kind: 'bool' }, { name: 'keep', kind: 'bool' }]);
  const id = requireId('run', parsed.positionals);
  const detach = flag.bool(parsed, 'detach');
  const { root } = invocation;
  const prepared = createFromBundle(root, id, optionsFrom(parsed, detach), invocation.log);
  const pid = prepared.state.pid!;
  const stopForwarding = detach ? () => {} : forwardSignals(pid);
  startContainer(root, id);
  root.unlock(id);
  if (detach) return 0;
  const status = await waitForChild(pid);
  stopForwarding();
  if (!flag.bool(parsed, 'keep')) {
    root.lock(id);
    await removeContainer(root, root.load(id));
    root.removeLock(id);
  }
  return status;
}
