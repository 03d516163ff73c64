/*
 * Check "trace": the system calls that make a container, as `strace -f` recorded them while the
 * learner ran one. Every kernel object the runtime makes is a system call away: clone/unshare
 * with CLONE_NEW* flags (namespaces), setns (joining one), mount and pivot_root (the root),
 * sethostname (UTS), write to cgroup files, execve (the container's process). The check reads the
 * learner's log: each call asked for must appear and have succeeded (not "= -1 E…"), with its
 * arguments matching when asked. strace -f writes a call another thread interrupts in two halves
 * ("<unfinished …>", "<… clone resumed>"); they are joined first.
 */
import { readFileSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf } from './outcome';

export interface TracedCall {
  syscall: string;
  args: string;
  result: string;
}

/** The calls of an strace log (with or without -f's PID column), halves joined. */
export function parseTrace(text: string): TracedCall[] {
  const calls: TracedCall[] = [];
  const pending = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const match = /^(?:\[pid\s+)?(\d+)?\]?\s*(.*)$/.exec(raw.trim());
    const [pid, rest] = [match?.[1] ?? '', match?.[2] ?? ''];
    // -t/-tt/-ttt put the time first: 12:01:02, 12:01:02.123456 or 1700000000.123456.
    let line = rest.replace(/^(?:\d{2}:\d{2}:\d{2}|\d{9,})(?:\.\d+)?\s+/, '');
    if (line.endsWith('<unfinished ...>')) {
      pending.set(pid, line.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      line = (pending.get(pid) ?? '') + resumed[1];
      pending.delete(pid);
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(.*)$/.exec(line);
    if (call) calls.push({ syscall: call[1]!, args: call[2]!, result: call[3]!.trim() });
  }
  return calls;
}

const succeeded = (call: TracedCall): boolean => !/^(-1|\?)/.test(call.result);

export function checkTrace(params: CheckParamsByKind['trace'], _context: LabContext): void {
  let text: string;
  try {
    text = readFileSync(params.path, 'utf8');
  } catch {
    return failIf(true, `no trace at ${params.path}`);
  }
  const calls = parseTrace(text);
  failIf(calls.length === 0, `${params.path} holds no system calls in strace's format`);
  if (params.command !== undefined) {
    const command = new RegExp(params.command);
    failIf(!calls.some((call) => call.syscall === 'execve' && succeeded(call) && command.test(call.args)), `no execve in ${params.path} ran ${params.command}`);
  }
  const missing = params.calls.filter((wanted) => {
    // `clone|clone3`: either name will do (glibc's clone() is clone3 on newer systems).
    const name = new RegExp(`^(?:${wanted.syscall})$`);
    const args = wanted.args === undefined ? null : new RegExp(wanted.args);
    return !calls.some((call) => name.test(call.syscall) && succeeded(call) && (args === null || args.test(call.args)));
  });
  failIf(missing.length > 0, `${params.path} has no successful ${missing.map((call) => (call.args ? `${call.syscall}(…${call.args}…)` : call.syscall)).join(', ')}`);
}
