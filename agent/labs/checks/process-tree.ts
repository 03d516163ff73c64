/*
 * Check "process-tree": the shape of the processes in the container's cgroup — what runs as the
 * container's PID 1 (NSpid 1 in its PID namespace) and which children it has. Commands come from
 * /proc/<pid>/cmdline, parents from /proc/<pid>/status PPid (host PIDs).
 *
 * A program is the same program however it was named: `/bin/sleep 3600` and `sleep 3600` run the
 * same file, so argv[0] is compared by its base name (`commandLine`).
 */
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running } from './outcome';

/** A command line with argv[0] by its base name: "/bin/sh -c x" → "sh -c x". */
export function commandLine(command: string): string {
  const [program = '', ...rest] = command.split(' ');
  return [program.slice(program.lastIndexOf('/') + 1), ...rest].join(' ');
}

export function checkProcessTree(params: CheckParamsByKind['process-tree'], context: LabContext): void {
  const record = running(context, params.container);
  const first = record.processes.find((process) => process.pid === record.pid);
  const listing = record.processes.map((process) => `${process.nspid}:${process.command}`).join(', ');
  failIf(!first, `the container's first process ${record.pid} is not in its cgroup`);
  if (params.pid1 !== undefined) failIf(!new RegExp(params.pid1).test(commandLine(first!.command)), `PID 1 runs "${first!.command}"`);
  if (params.children) {
    const pattern = new RegExp(params.children.command);
    const children = record.processes.filter((process) => process.ppid === record.pid && pattern.test(commandLine(process.command)));
    failIf(children.length < params.children.atLeast, `PID 1 has ${children.length} matching children (processes: ${listing})`);
  }
}
