/*
 * Check "command": behaviour, not configuration. Where a task asks that something be refused (a
 * system call filtered by seccomp, a change that needs a capability, a write to a read-only root),
 * a flag in /proc can be set while the behaviour is not there — an allow-all seccomp filter still
 * shows "Seccomp: 2". So this check does what the task says must (not) work: it runs the command in
 * the container as the container itself would — its namespaces, cgroup, capabilities and seccomp
 * filter, not the agent's powers — and looks at how it ended.
 */
import type { CheckParamsByKind } from '../format';
import { execCapture, execTarget, type LabContext } from '../context';
import { failIf, running } from './outcome';

const lastLine = (text: string): string => text.trim().split('\n').pop()?.slice(0, 120) ?? '';

export async function checkCommand(params: CheckParamsByKind['command'], context: LabContext): Promise<void> {
  running(context, params.container);
  const result = await execCapture(context.runtime, execTarget(context, params.container), ['sh', '-c', params.run]);
  const output = `${result.stdout}${result.stderr}`;
  const said = lastLine(output) ? ` ("${lastLine(output)}")` : '';
  if (params.fails !== undefined) failIf((result.code !== 0) !== params.fails, `\`${params.run}\` in "${params.container}" ${result.code === 0 ? 'succeeded' : `failed with exit code ${result.code}`}${said}`);
  if (params.exitCode !== undefined) failIf(result.code !== params.exitCode, `\`${params.run}\` in "${params.container}" exited ${result.code}${said}`);
  if (params.output !== undefined) failIf(!new RegExp(params.output, 'i').test(output), `\`${params.run}\` in "${params.container}" said "${lastLine(output)}"`);
}
