/*
 * Check "container": does a container exist, run, or has it ended — and how (exit code, OOM kill).
 * The status comes from the runtime, which learns it from the kernel (waitpid on the container's
 * first process); "OOM killed" means SIGKILL while the cgroup's oom_kill counter was non-zero.
 * `command` is matched against the main command the container was made with (its config.json's
 * process.args), so "it ran to completion" cannot be passed by running something else.
 */
import type { CheckParamsByKind } from '../format';
import { findContainer, type LabContext } from '../context';
import { failIf } from './outcome';
import { commandLine } from './process-tree';

export function checkContainer(params: CheckParamsByKind['container'], context: LabContext): void {
  const record = findContainer(context, params.container);
  if (params.state === 'absent') {
    failIf(record !== null, `container "${params.container}" still exists (${record?.status})`);
    return;
  }
  failIf(record === null, `no container named "${params.container}"`);
  const { status, exitCode, oomKilled } = record!;
  if (params.state === 'running') failIf(status !== 'running', `"${params.container}" is ${status}`);
  if (params.state === 'stopped') failIf(status !== 'stopped', `"${params.container}" is ${status}, not stopped`);
  if (params.exitCode !== undefined) {
    failIf(status !== 'stopped', `"${params.container}" has not exited yet (${status})`);
    failIf(exitCode !== params.exitCode, `"${params.container}" exited with ${exitCode ?? 'no code'}`);
  }
  if (params.command !== undefined) {
    const command = commandLine((record!.config.process?.args ?? []).join(' '));
    failIf(!new RegExp(params.command).test(command), `"${params.container}" runs "${command}"`);
  }
  if (params.oomKilled !== undefined) failIf(oomKilled !== params.oomKilled, `"${params.container}" ${oomKilled ? 'was' : 'was not'} killed by the OOM killer`);
}
