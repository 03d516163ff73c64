/*
 * No seccomp profile may end the agent. The container's first process shares the agent's memory
 * until it has exec'd (agent/kernel/child-program.ts); a profile that refused its execve and its
 * exit used to let it run on past its last step into glibc's exit() — the agent's atexit handlers,
 * on the agent's memory — and the agent died (SIGSEGV) or spun forever. Now the runtime's own last
 * calls are always allowed, the chain ends in a loop of exit_group, and the agent asks the filter
 * in advance (as the kernel will) whether the runtime's own calls after the install get through,
 * refusing in one line a profile that would leave a process half set up or unable to start.
 *
 * The sweep runs through a real `containers-lab serve` process, many times per profile, and asks
 * the kernel afterwards: the agent is alive and serves, nothing is left in a cgroup.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { OciSeccomp } from '../agent/protocol';
import { compileSeccomp, seccompVerdict, letsThrough, ALWAYS_ALLOWED } from '../agent/runtime/seccomp';
import { SYSCALL_TABLE } from '../agent/kernel/syscall-table.generated';
import { supportedArch } from '../agent/kernel/constants';
import { NONE_LEFT } from './helpers/kernel-witness';
import { removeAllAndStop, startService, type RunningService } from './helpers/service';

const arch = supportedArch();
const nr = (name: string): number => SYSCALL_TABLE[arch][name]!;

describe('the compiler', () => {
  test('names are looked up as names: "constructor", "__proto__" and unknown names are one-line errors; another ABI\'s names are skipped', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'no_such_call']) {
      expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [name], action: 'SCMP_ACT_ERRNO' }] })).toThrow(`seccomp: unknown system call name "${name}" (no architecture has it)`);
    }
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [42 as unknown as string], action: 'SCMP_ACT_ERRNO' }] })).toThrow('unknown system call name number');
    const otherArchOnly = Object.keys(SYSCALL_TABLE[arch === 'x64' ? 'arm64' : 'x64']).find((name) => !Object.hasOwn(SYSCALL_TABLE[arch], name))!;
    const filter = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [otherArchOnly, 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] });
    expect(letsThrough(seccompVerdict(filter, nr('mkdirat')))).toBe(false);
  });

  test('whatever the profile says, exit, exit_group and rt_sigprocmask get through; the rest as it says', () => {
    const filter = compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: [...ALWAYS_ALLOWED, 'execve'], action: 'SCMP_ACT_KILL' }] });
    for (const name of ALWAYS_ALLOWED) expect(letsThrough(seccompVerdict(filter, nr(name))), name).toBe(true);
    expect(letsThrough(seccompVerdict(filter, nr('execve')))).toBe(false);
    expect(letsThrough(seccompVerdict(filter, nr('getpid')))).toBe(false);
  });

  test('the verdict follows argument conditions as the kernel would', () => {
    const filter = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] }] });
    expect(letsThrough(seccompVerdict(filter, nr('kill'), [1n, 10n]))).toBe(false);
    expect(letsThrough(seccompVerdict(filter, nr('kill'), [1n, 15n]))).toBe(true);
  });
});

describe('hostile profiles against a running agent', () => {
  let work: string;
  let service: RunningService;
  const run = (name: string, seccomp: OciSeccomp, noNewPrivileges: boolean) =>
    service.client.call('container.run', { name, net: 'none', seccomp, ...(noNewPrivileges ? { noNewPrivileges } : {}), args: ['true'] });

  beforeAll(async () => {
    work = mkdtempSync('/tmp/cl-seccomp-hostile-');
    mkdirSync(join(work, 'run'), { mode: 0o700 });
    service = await startService(join(work, 'state'), join(work, 'run', 'agent.sock'));
  });

  afterAll(async () => {
    expect(await removeAllAndStop(service, join(work, 'state'))).toEqual(NONE_LEFT);
    rmSync(work, { recursive: true, force: true });
  });

  const deny = (names: string[], action: OciSeccomp['defaultAction'] = 'SCMP_ACT_ERRNO'): OciSeccomp => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names, action }] });
  const PROFILES: [string, OciSeccomp][] = [
    ['execve and exit_group refused (the crash of issue 13)', deny(['execve', 'exit_group'])],
    ['everything refused', { defaultAction: 'SCMP_ACT_ERRNO' }],
    ['everything kills', { defaultAction: 'SCMP_ACT_KILL_PROCESS' }],
    ['everything traps', { defaultAction: 'SCMP_ACT_TRAP' }],
    ['exit, exit_group, rt_sigprocmask, write refused', deny(['exit', 'exit_group', 'rt_sigprocmask', 'write'])],
    ['the uid switch refused', deny(['setresuid', 'setresgid', 'setgroups'])],
    ['the capability calls refused', deny(['capset', 'prctl'])],
    ['execve kills', deny(['execve'], 'SCMP_ACT_KILL')],
  ];

  for (const [what, profile] of PROFILES) {
    test(`${what}: refused in one line or run, never the agent's end (×6, with and without no_new_privs)`, async () => {
      for (let round = 0; round < 6; round += 1) {
        const noNewPrivileges = round % 2 === 1;
        const name = `hostile-${PROFILES.findIndex(([label]) => label === what)}-${round}`;
        const outcome = await run(name, profile, noNewPrivileges).then(() => 'ran', (error: Error) => error.message);
        if (outcome !== 'ran') {
          expect(outcome.split('\n')).toHaveLength(1);
          expect(outcome).toMatch(/seccomp profile refuses|cannot execute/);
        }
        expect(service.unexpectedExit()).toBeNull();
      }
      // Still itself: it serves a plain container from start to end.
      const plain = await service.client.call('container.run', { name: `after-${PROFILES.findIndex(([label]) => label === what)}`, net: 'none', args: ['true'] });
      expect(plain.status === 'running' || plain.status === 'stopped').toBe(true);
    });
  }
});
