/*
 * The strace log reader behind the "trace" check: the forms strace really writes — with and
 * without -f's PID column, with -tt timestamps, a call split by another thread into
 * "<unfinished ...>" and "<... resumed>" halves, and failed calls, which do not count.
 */
import { expect, test } from 'vitest';
import { parseTrace } from '../agent/labs/checks/trace';

test('PID columns, timestamps, split calls and failures', () => {
  const log = [
    '10625 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_NEWNS|CLONE_NEWPID|SIGCHLD <unfinished ...>',
    '10626 setns(19, CLONE_NEWNET)           = 0',
    '10625 <... clone resumed>)              = 10645',
    '10625 12:01:02.123456 pivot_root(".", ".") = 0',
    'sethostname("traced", 6)          = 0',
    '10645 execve("/bin/true", ["true"], 0x7f /* 3 vars */) = 0',
    '10647 execve("/bin/nope", ["nope"], 0x7f /* 3 vars */) = -1 ENOENT (No such file or directory)',
    '10645 +++ exited with 0 +++',
  ].join('\n');
  const calls = parseTrace(log);
  expect(calls.map((call) => call.syscall)).toEqual(['setns', 'clone', 'pivot_root', 'sethostname', 'execve', 'execve']);
  expect(calls[1]).toMatchObject({ args: expect.stringContaining('CLONE_NEWPID'), result: '10645' });
  expect(calls[5]!.result).toMatch(/^-1 ENOENT/);
});
