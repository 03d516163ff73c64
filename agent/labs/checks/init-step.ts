/*
 * Check "init-step": an init step (Kubernetes' initContainers) runs to completion *before* the main
 * process starts. The file it leaves could also have been written later — by `exec`, or by the
 * main process itself — and would look the same on disk. So the check replays the step: it makes a
 * scratch container with the same init command and, as its main process, only a test of the file
 * (`grep -qF`). If the file holds the content the moment the main process starts, the init step
 * made it. The scratch container has no network and is removed before the check returns.
 */
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { waitUntilStopped } from '../setup/wait';
import { CHECK_SCRATCH_PREFIX } from '../teardown';
import { CheckFailed, existing, failIf } from './outcome';

let replays = 0;

export async function checkInitStep(params: CheckParamsByKind['init-step'], context: LabContext): Promise<void> {
  const record = existing(context, params.container);
  if (!record.init) throw new CheckFailed(`"${params.container}" has no init step (containers-lab run --init …)`);
  failIf(record.init.exitCode !== 0, `the init step of "${params.container}" ${record.init.exitCode === null ? 'has not run' : `exited ${record.init.exitCode}`}`);
  const name = `${CHECK_SCRATCH_PREFIX}${context.attempt.token}-${++replays}`;
  try {
    await context.runtime.run({ name, net: 'none', init: record.init.args, args: ['grep', '-qF', params.contains, params.path] });
    await waitUntilStopped(context.runtime, name, 20_000);
    const replay = context.runtime.inspect(name);
    const step = `the init step \`${record.init.args.join(' ')}\``;
    failIf(replay.init?.exitCode !== 0, `${step}, replayed, exited ${replay.init?.exitCode ?? 'without a code'}`);
    failIf(replay.exitCode !== 0, `${step}, replayed, does not leave ${params.path} holding ${params.contains}: something else wrote it after the main process started`);
  } finally {
    await context.runtime.remove(name, true).catch(() => undefined);
  }
}
