/*
 * A runtime can only hand on the capabilities it holds: its own bounding set (this test's host,
 * for one, lacks CAP_SYS_RESOURCE). A config.json that asks for more used to pass `create` with
 * the first process's capset(2) failing unseen — its inheritable and ambient sets empty, silently
 * not what config.json says. Now:
 *
 *   containers-lab-runc, a set with a capability the runtime lacks   create refused in one line, nothing left
 *   containers-lab-runc exec --cap <one it lacks>                    refused in one line, the container unharmed
 *   containers-lab-runc, every set = the runtime's bounding set      CapInh/CapPrm/CapEff/CapBnd/CapAmb inside = config.json's
 *   containers-lab run --privileged                                  CapEff = the runtime's own CapBnd
 *   containers-lab run --cap-add <one it lacks>                      refused in one line, nothing left
 *   containers-lab-runc, effective beyond permitted                  create refused in one line (the kernel's sets, read at create)
 *   after execve                                                     an inheritable set that did not take is reported
 *
 * "A capability the runtime lacks" is picked from this host: on a host whose root holds every
 * capability the kernel knows there is none, and the refusal cases are skipped (saying so);
 * the unit test in config-fields.test.ts covers the refusal's wording on any host.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ContainerRecord, OciSpec } from '../agent/protocol';
import { CAPABILITY_NAMES } from '../agent/protocol/capabilities';
import { heldCapabilities } from '../agent/runtime/held-capabilities';
import { securityMismatch } from '../agent/runtime/process/security-plan';
import { runCli } from './helpers/cli';
import { cgroupDirsNamed, hostMountsMentioning, leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { makeBundle, runc, useRuncScratch } from './helpers/runc';

const held = heldCapabilities();
/** Capabilities this kernel knows (cap_last_cap) that the runtime — this test process, as root — does not hold. */
const knownToKernel = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
const lacking = CAPABILITY_NAMES.filter((name, index) => index <= knownToKernel && !held.includes(name));
const NO_LACKING = 'skipped: this host grants the runtime every capability the kernel knows (CapBnd full), so none can be refused';

const scratch = useRuncScratch('runc-caps-held-');

/** The five Cap* lines of a /proc/<pid>/status text, as hex masks. */
function capFields(status: string): Record<string, string> {
  return Object.fromEntries([...status.matchAll(/^(Cap\w+):\s*([0-9a-f]+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

function maskOf(names: readonly string[]): string {
  const bits = names.reduce((mask, name) => mask | (1n << BigInt(CAPABILITY_NAMES.indexOf(name as (typeof CAPABILITY_NAMES)[number]))), 0n);
  return bits.toString(16).padStart(16, '0');
}

/** The container records under a --root (its containers/ directory; absent before the first container). */
function containersIn(root: string): string[] {
  try {
    return readdirSync(join(root, 'containers'));
  } catch {
    return [];
  }
}

function allFive(spec: OciSpec, names: readonly string[]): void {
  spec.process!.capabilities = { bounding: [...names], effective: [...names], permitted: [...names], inheritable: [...names], ambient: [...names] };
}

test.skipIf(lacking.length === 0)(`containers-lab-runc: a config.json asking for a capability the runtime lacks is refused at create in one line, nothing left${lacking.length ? '' : ` (${NO_LACKING})`}`, () => {
  const root = join(scratch(), 'root-refused');
  // As the validation suite's process_capabilities asks: every capability the kernel knows, in all five sets.
  const bundle = makeBundle(join(scratch(), 'refused'), join(scratch(), 'images'), (spec) => allFive(spec, CAPABILITY_NAMES.slice(0, knownToKernel + 1)));
  const id = `caps-refused-${process.pid}`;
  const created = runc(root, ['create', '--bundle', bundle, id]);
  expect(created.status).not.toBe(0);
  const lines = created.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  const named = lacking.length === 1 ? `${lacking[0]} is` : `${lacking.slice(0, -1).join(', ')} and ${lacking.at(-1)} are`;
  expect(lines[0]).toContain(`config.json: /process/capabilities/bounding ${named} not in this runtime's bounding set (the host does not grant ${lacking.length === 1 ? 'it' : 'them'})`);
  // Nothing made: no state, no cgroup, no mount; `list` knows no container.
  expect(containersIn(root)).toEqual([]);
  expect(cgroupDirsNamed(id)).toEqual([]);
  expect(hostMountsMentioning(bundle)).toEqual([]);
  expect(runc(root, ['list', '--quiet']).stdout.trim()).toBe('');
  // Only the one set: the same capability in the inheritable set alone is refused there.
  const onlyInheritable = makeBundle(join(scratch(), 'refused-inh'), join(scratch(), 'images'), (spec) => {
    spec.process!.capabilities = { ...spec.process!.capabilities, inheritable: [lacking[0]!] };
  });
  const second = runc(root, ['run', '--bundle', onlyInheritable, `${id}-inh`]);
  expect(second.status).not.toBe(0);
  expect(second.stderr.trim()).toBe(`config.json: /process/capabilities/inheritable ${lacking[0]} is not in this runtime's bounding set (the host does not grant it)`);
  expect(containersIn(root)).toEqual([]);
  expect(cgroupDirsNamed(`${id}-inh`)).toEqual([]);
});

test.skipIf(lacking.length === 0)(`containers-lab-runc exec --cap of one the runtime lacks: refused in one line, the container unharmed${lacking.length ? '' : ` (${NO_LACKING})`}`, () => {
  const root = join(scratch(), 'root-exec');
  const bundle = makeBundle(join(scratch(), 'exec'), join(scratch(), 'images'), (spec) => { spec.process!.args = ['sleep', '60']; });
  const id = `caps-exec-${process.pid}`;
  try {
    expect(runc(root, ['run', '--detach', '--bundle', bundle, id]).status).toBe(0);
    const refused = runc(root, ['exec', '--cap', lacking[0]!, id, 'true']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr.trim()).toBe(`config.json: /process/capabilities/bounding ${lacking[0]} is not in this runtime's bounding set (the host does not grant it)`);
    expect(runc(root, ['exec', '--cap', 'CAP_NET_ADMIN', id, 'true']).status).toBe(0);
    expect(JSON.parse(runc(root, ['state', id]).stdout)).toMatchObject({ status: 'running' });
  } finally {
    runc(root, ['delete', '--force', id]);
  }
  expect(containersIn(root)).toEqual([]);
  expect(cgroupDirsNamed(id)).toEqual([]);
});

test('containers-lab-runc: every set = the runtime\'s own bounding set runs, and the kernel shows exactly config.json\'s five sets', () => {
  const root = join(scratch(), 'root-full');
  const bundle = makeBundle(join(scratch(), 'full'), join(scratch(), 'images'), (spec) => {
    allFive(spec, held);
    spec.process!.args = ['cat', '/proc/self/status'];
  });
  const id = `caps-full-${process.pid}`;
  const result = runc(root, ['run', '--bundle', bundle, id]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const mask = maskOf(held);
  // As root, execve keeps all five equal to what was set (effective = permitted = bounding ∪ inheritable).
  expect(capFields(result.stdout)).toEqual({ CapInh: mask, CapPrm: mask, CapEff: mask, CapBnd: mask, CapAmb: mask });
  expect(cgroupDirsNamed(id)).toEqual([]);

  // A smaller selection, different per set, as a non-root user: the sets are what was asked.
  const partial = makeBundle(join(scratch(), 'partial'), join(scratch(), 'images'), (spec) => {
    spec.process!.user = { uid: 1000, gid: 1000 };
    spec.process!.capabilities = {
      bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'], permitted: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_KILL'],
      inheritable: ['CAP_CHOWN', 'CAP_KILL'], ambient: ['CAP_KILL'],
    };
    spec.process!.args = ['cat', '/proc/self/status'];
  });
  const small = runc(root, ['run', '--bundle', partial, `${id}-partial`]);
  expect(small.stderr).toBe('');
  expect(small.status).toBe(0);
  // A non-root user's execve: permitted and effective become the ambient set.
  expect(capFields(small.stdout)).toEqual({
    CapInh: maskOf(['CAP_CHOWN', 'CAP_KILL']), CapPrm: maskOf(['CAP_KILL']), CapEff: maskOf(['CAP_KILL']),
    CapBnd: maskOf(['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']), CapAmb: maskOf(['CAP_KILL']),
  });
});

test('containers-lab-runc: an effective set beyond the permitted one (capset refuses it) fails create in one line, nothing left; ambient beyond inheritable is left out, as runc does', () => {
  // Not a host question: capset(2) refuses an effective set outside the permitted one. The first
  // process parks on its exec FIFO only after setting its sets, and create reads what the kernel holds.
  const root = join(scratch(), 'root-inconsistent');
  const bundle = makeBundle(join(scratch(), 'inconsistent'), join(scratch(), 'images'), (spec) => {
    spec.process!.user = { uid: 1000, gid: 1000 };
    spec.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL'], effective: ['CAP_KILL', 'CAP_CHOWN'] };
  });
  const id = `caps-inconsistent-${process.pid}`;
  const created = runc(root, ['create', '--bundle', bundle, id]);
  expect(created.status).not.toBe(0);
  expect(created.stderr.trim().split('\n')).toHaveLength(1);
  expect(created.stderr).toMatch(/^unable to apply capabilities: effective capabilities are \S+, not CAP_CHOWN,CAP_KILL$/m);
  expect(containersIn(root)).toEqual([]);
  expect(cgroupDirsNamed(id)).toEqual([]);
  expect(hostMountsMentioning(bundle)).toEqual([]);

  // An ambient capability must be permitted and inheritable too; runc's own default config.json
  // asks for three ambient ones and no inheritable ones, and runc 1.1 runs it with CapAmb 0. So here.
  const lenient = makeBundle(join(scratch(), 'ambient'), join(scratch(), 'images'), (spec) => {
    spec.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN'] };
    spec.process!.args = ['cat', '/proc/self/status'];
  });
  const ran = runc(root, ['run', '--bundle', lenient, `${id}-ambient`]);
  expect(ran.stderr).toBe('');
  expect(ran.status).toBe(0);
  expect(capFields(ran.stdout).CapAmb).toBe(maskOf(['CAP_KILL']));
});

test('containers-lab-runc: parking after the capability sets keeps the descriptor clean-up before the seccomp filter: a profile refusing close_range runs', () => {
  // The validation suite's own default profile lists no close_range: the wait moved, the clean-up must not.
  const root = join(scratch(), 'root-seccomp');
  const bundle = makeBundle(join(scratch(), 'seccomp'), join(scratch(), 'images'), (spec) => {
    spec.process!.args = ['cat', '/proc/self/status'];
    spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
  });
  const result = runc(root, ['run', '--bundle', bundle, `caps-seccomp-${process.pid}`]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^Seccomp:\s+2$/m);
  expect(capFields(result.stdout).CapBnd).toBe(maskOf(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']));
});

test('after execve, an inheritable set that did not take is reported (the check start makes on the running process)', async () => {
  // A real process (this test's child, with an empty inheritable set) against a plan that wanted one.
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => child.once('spawn', resolve));
    const own = capFields(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    expect(own.CapInh).toBe('0000000000000000');
    const plan = { noNewPrivileges: false, seccomp: null };
    expect(securityMismatch(child.pid!, { ...plan, capabilities: { bounding: [...held], inheritable: ['CAP_KILL'] } }))
      .toBe('inheritable capabilities are none, not CAP_KILL');
    expect(securityMismatch(child.pid!, { ...plan, capabilities: { bounding: [...held], inheritable: [] } })).toBeNull();
  } finally {
    child.kill('SIGKILL');
  }
});

test(`containers-lab run: --privileged holds the runtime's own bounding set; --cap-add of one it lacks is refused in one line${lacking.length ? '' : ` (that half ${NO_LACKING})`}`, async () => {
  const root = mkdtempSync('/tmp/cl-caps-held-cli-');
  const cli = (...argv: string[]) => runCli(['--root', root, '--socket', `${root}/no-agent.sock`, ...argv]);
  const made: { id: string; pid: number | null }[] = [];
  try {
    const privileged = await cli('run', '-d', '--name', 'caps-privileged', '--net', 'none', '--privileged', 'busybox', '--', 'sleep', '60');
    expect(privileged.code, privileged.stderr).toBe(0);
    const record = JSON.parse((await cli('inspect', '--json', 'caps-privileged')).stdout) as ContainerRecord;
    made.push({ id: record.id, pid: record.pid });
    const inside = capFields(readFileSync(`/proc/${record.pid}/status`, 'utf8'));
    const own = capFields(readFileSync('/proc/self/status', 'utf8'));
    expect(inside.CapEff).toBe(own.CapBnd);
    expect(inside.CapBnd).toBe(own.CapBnd);
    expect((await cli('rm', '-f', 'caps-privileged')).code).toBe(0);
    if (lacking.length) {
      const short = lacking[0]!.replace(/^CAP_/, '');
      const refused = await cli('run', '-d', '--name', 'caps-lacking', '--net', 'none', '--cap-add', short, 'busybox', '--', 'sleep', '60');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr.trim()).toMatch(new RegExp(`${short} cannot be added: ${lacking[0]} is not in this runtime's bounding set \\(the host does not grant it\\)$`));
      expect(JSON.parse((await cli('ps', '-a', '--json')).stdout)).toEqual([]);
    }
    expect(leftovers(root, made)).toEqual(NONE_LEFT);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
