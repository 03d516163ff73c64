/*
 * The device cgroup: which device files a container may create and open.
 *
 * Unit level: the default rules run writes into config.json, their checks, the v1 lines, and the
 * eBPF program the rules compile to — its bytes decoded and run by a small interpreter below on
 * the questions the kernel asks (type, major:minor, access).
 * Real kernel: a default container may mknod a node for /dev/kvm, /dev/net/tun, /dev/fuse but not
 * open it (EPERM, as in Docker), while /dev/null and /dev/zero work; the kernel's own view —
 * devices.list of the v1 devices cgroup and BPF_PROG_QUERY on the container's cgroup2 directory;
 * each mechanism alone (this hybrid host has both); --config documents that open everything or
 * just tun.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CgroupLimits, ContainerRecord, OciDeviceCgroup, OciSpec } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openCgroupHost, type Cgroup } from '../agent/runtime/cgroups';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import { validateConfig } from '../agent/oci/validate';
import {
  ACCESS_BITS, DEFAULT_DEVICE_RULES, describeDeviceRule, deviceRulesFromConfig, foldDeviceRules, v1Line, type DeviceRule,
} from '../agent/runtime/cgroups/device-rules';
import { compileDeviceFilter, compileDeviceProgram, deviceProgramsOf, OP } from '../agent/runtime/cgroups/device-filter';
import { LabError } from '../agent/errors';
import { execCollect } from './helpers/exec';
import { cgroupDirsNamed } from './helpers/kernel-witness';
import { useRuntime } from './helpers/runtime-fixture';

const UNLIMITED: CgroupLimits = { memoryBytes: null, cpuQuotaUs: null, cpuPeriodUs: 100_000, pids: null };
const BUSYBOX = existsSync('/bin/busybox') ? '/bin/busybox' : 'busybox';
const EPERM = /can't (?:open|create) '?[^':]+'?: Operation not permitted/;

const specWith = (devices: OciDeviceCgroup[] | undefined): OciSpec => {
  const spec = configFromRunOptions({ net: 'none', args: ['sleep', '60'] }, { rootfs: '/unused' });
  if (devices === undefined) delete spec.linux!.resources!.devices;
  else spec.linux!.resources!.devices = devices;
  return spec;
};
const rulesOf = (devices: OciDeviceCgroup[]): DeviceRule[] => deviceRulesFromConfig(specWith(devices))!;
const DEFAULTS = rulesOf([...DEFAULT_DEVICE_RULES]);
const TUN: OciDeviceCgroup = { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' };

// ---------------------------------------------------------------------------------------------
// A tiny eBPF interpreter for the instructions the compiler emits, over struct bpf_cgroup_dev_ctx.

type Access = 'r' | 'w' | 'm' | 'rw';
function runProgram(bytes: Buffer, type: 'b' | 'c', major: number, minor: number, access: Access): 0 | 1 {
  const accessBits = [...access].reduce((bits, letter) => bits | ACCESS_BITS[letter as 'r' | 'w' | 'm'], 0);
  const ctx = [(accessBits << 16) | (type === 'b' ? 1 : 2), major, minor];
  const regs = new Array<number>(11).fill(0);
  const count = bytes.length / 8;
  for (let pc = 0, steps = 0; ; pc++, steps++) {
    if (pc < 0 || pc >= count || steps > count) throw new Error(`pc ${pc} left the program`);
    const code = bytes[pc * 8]!;
    const dst = bytes[pc * 8 + 1]! & 0x0f;
    const src = bytes[pc * 8 + 1]! >> 4;
    const off = bytes.readInt16LE(pc * 8 + 2);
    const imm = bytes.readInt32LE(pc * 8 + 4);
    if (off < 0) throw new Error(`backward jump at ${pc}`);
    switch (code) {
      case OP.LDX_MEM_W:
        if (src !== 1 || off % 4 !== 0 || off > 8) throw new Error(`load outside the context at ${pc}`);
        regs[dst] = ctx[off / 4]!;
        break;
      case OP.AND32_K: regs[dst] = (regs[dst]! & imm) >>> 0; break;
      case OP.RSH32_K: regs[dst] = regs[dst]! >>> imm; break;
      case OP.MOV32_K: regs[dst] = imm >>> 0; break;
      case OP.MOV32_X: regs[dst] = regs[src]! >>> 0; break;
      case OP.JEQ_K: if (regs[dst] === imm) pc += off; break;
      case OP.JNE_K: if (regs[dst] !== imm) pc += off; break;
      case OP.JNE_X: if (regs[dst] !== regs[src]) pc += off; break;
      case OP.EXIT: return regs[0] === 0 ? 0 : 1;
      default: throw new Error(`unknown opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
}

const allows = (rules: DeviceRule[], type: 'b' | 'c', major: number, minor: number, access: Access): boolean =>
  runProgram(compileDeviceFilter(rules), type, major, minor, access) === 1;

describe('device rules in config.json', () => {
  test('run writes Docker’s defaults: deny all, mknod, null/zero/full/random/urandom, tty/console/ptmx, pts — not tun', () => {
    const spec = configFromRunOptions({ name: 'dev' }, { rootfs: '/unused' });
    expect(spec.linux!.resources!.devices).toEqual(DEFAULT_DEVICE_RULES);
    expect(validateConfig(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    expect(deviceRulesFromConfig(spec)!.map(describeDeviceRule)).toEqual([
      'deny a', 'allow c *:* m', 'allow b *:* m',
      'allow c 1:3 rwm', 'allow c 1:5 rwm', 'allow c 1:7 rwm', 'allow c 1:8 rwm', 'allow c 1:9 rwm',
      'allow c 5:0 rwm', 'allow c 5:1 rwm', 'allow c 5:2 rwm', 'allow c 136:* rwm',
    ]);
    expect(DEFAULTS.map(v1Line)).toContain('c 136:* rwm');
    expect(deviceRulesFromConfig(specWith(undefined))).toBeNull();
    // run asks for no device node of its own: nothing is added to the rules above.
    expect(spec.linux!.devices).toBeUndefined();
  });

  test('each linux.devices node (not a FIFO) is allowed rwm after the document\'s rules, as runc does', () => {
    const spec = specWith([{ allow: false, access: 'rwm' }]);
    spec.linux!.devices = [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229 }, { path: '/dev/loop7', type: 'b', major: 7, minor: 7 },
      { path: '/dev/u', type: 'u', major: 4, minor: 64 }, { path: '/dev/pipe', type: 'p' },
    ];
    expect(deviceRulesFromConfig(spec)!.map(describeDeviceRule)).toEqual(['deny a', 'allow c 10:229 rwm', 'allow b 7:7 rwm', 'allow c 4:64 rwm']);
  });

  test('bad rules are refused with one line naming the field', () => {
    const cases: [OciDeviceCgroup, RegExp][] = [
      [{ allow: true, type: 'u', access: 'rwm' }, /^linux\.resources\.devices\[0\]\.type "u": use a \(all devices\), c \(char\) or b \(block\)$/],
      [{ allow: true, type: 'c', major: 1 }, /\.access nothing: use some of r \(read\), w \(write\), m \(mknod\)/],
      [{ allow: true, type: 'c', access: 'rx' }, /\.access "rx"/],
      [{ allow: true, type: 'c', major: -1, access: 'r' }, /\.major -1: use a whole number from 0 to 4095/],
      [{ allow: true, type: 'c', major: 1, minor: 2 ** 20, access: 'r' }, /\.minor 1048576: use a whole number from 0 to 1048575/],
      [{ allow: false, major: 10, access: 'rwm' }, /type a \(all devices\) resets the whole list/],
      [{ allow: false, access: 'w' }, /type a \(all devices\) resets the whole list/],
      [{ allow: true, type: 'c', access: 'x'.repeat(100_000) }, /\.access "x{40}…"/],
    ];
    for (const [rule, message] of cases) {
      let error: unknown;
      try {
        rulesOf([rule]);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(LabError);
      expect((error as LabError).kind).toBe('bad-input');
      expect((error as LabError).message).toMatch(message);
      expect((error as LabError).message).not.toContain('\n');
    }
    expect(rulesOf([{ allow: true, type: 'c', access: 'mwr' }])[0]!.access).toBe('rwm');
  });

  test('folding follows the v1 kernel: "a" resets, exceptions merge, a rule agreeing with the default takes access back', () => {
    expect(foldDeviceRules(DEFAULTS)).toMatchObject({ defaultAllow: false });
    expect(foldDeviceRules(DEFAULTS).exceptions).toHaveLength(11);
    const merged = foldDeviceRules(rulesOf([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }]));
    expect(merged.exceptions).toEqual([{ type: 'c', major: 1, minor: 3, access: ACCESS_BITS.r | ACCESS_BITS.w }]);
    const takenBack = foldDeviceRules(rulesOf([{ allow: false, access: 'rwm' }, TUN, { ...TUN, allow: false, access: 'rw' }]));
    expect(takenBack.exceptions).toEqual([{ type: 'c', major: 10, minor: 200, access: ACCESS_BITS.m }]);
    expect(foldDeviceRules(rulesOf([...DEFAULT_DEVICE_RULES, { allow: true, access: 'rwm' }]))).toEqual({ defaultAllow: true, exceptions: [] });
  });
});

describe('the eBPF program the rules compile to', () => {
  test('defaults: 64 instructions, prologue loads the context, ends in exit; bytes are compiled once', () => {
    const program = compileDeviceProgram(DEFAULTS);
    expect(program).toHaveLength(64);
    expect(program.slice(0, 6).map((insn) => insn.code)).toEqual([OP.LDX_MEM_W, OP.AND32_K, OP.LDX_MEM_W, OP.RSH32_K, OP.LDX_MEM_W, OP.LDX_MEM_W]);
    expect(program.at(-2)).toMatchObject({ code: OP.MOV32_K, dst: 0, imm: 0 });
    expect(program.at(-1)!.code).toBe(OP.EXIT);
    expect(compileDeviceFilter(DEFAULTS)).toBe(compileDeviceFilter(rulesOf([...DEFAULT_DEVICE_RULES])));
    expect(compileDeviceProgram(rulesOf([{ allow: true, access: 'rwm' }]))).toHaveLength(8);
  });

  test('defaults decide like Docker: null/zero/pts open, kvm/tun/fuse/sda only mknod', () => {
    for (const [major, minor] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [136, 0], [136, 7]] as const) {
      expect(allows(DEFAULTS, 'c', major, minor, 'rw'), `c ${major}:${minor}`).toBe(true);
    }
    for (const [major, minor] of [[10, 232], [10, 200], [10, 229], [10, 237], [1, 1], [4, 0]] as const) {
      expect(allows(DEFAULTS, 'c', major, minor, 'r'), `c ${major}:${minor} r`).toBe(false);
      expect(allows(DEFAULTS, 'c', major, minor, 'w'), `c ${major}:${minor} w`).toBe(false);
      expect(allows(DEFAULTS, 'c', major, minor, 'm'), `c ${major}:${minor} m`).toBe(true);
    }
    expect(allows(DEFAULTS, 'b', 8, 0, 'r')).toBe(false);
    expect(allows(DEFAULTS, 'b', 8, 0, 'm')).toBe(true);
    expect(allows(DEFAULTS, 'b', 1, 3, 'r')).toBe(false); // null is a char device, not a block one
  });

  test('one exception must grant all the access asked for (allow list); any overlap refuses (deny list)', () => {
    const split = rulesOf([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', access: 'r' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }]);
    expect(allows(split, 'c', 1, 3, 'r')).toBe(true);
    expect(allows(split, 'c', 1, 3, 'w')).toBe(true);
    expect(allows(split, 'c', 1, 3, 'rw')).toBe(false);
    const denyWrite = rulesOf([{ ...TUN, allow: false, access: 'w' }]);
    expect(allows(denyWrite, 'c', 10, 200, 'r')).toBe(true);
    expect(allows(denyWrite, 'c', 10, 200, 'rw')).toBe(false);
    expect(allows(denyWrite, 'c', 10, 201, 'rw')).toBe(true);
    const withTun = rulesOf([...DEFAULT_DEVICE_RULES, TUN]);
    expect(allows(withTun, 'c', 10, 200, 'rw')).toBe(true);
    expect(allows(withTun, 'c', 10, 229, 'rw')).toBe(false);
    const allowAll = rulesOf([{ allow: true, access: 'rwm' }]);
    expect(allows(allowAll, 'c', 10, 232, 'rw')).toBe(true);
    expect(allows(allowAll, 'b', 8, 0, 'rw')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The kernel.

const fixture = useRuntime('devices-test');
const runtime = (): ContainerRuntime => fixture.runtime();
const run = fixture.run;

/** Makes a node (mknod must work) and opens it read-write in the container: the shell's words on failure. */
async function mknodAndOpen(id: string, node: string, major: number, minor: number): Promise<{ made: boolean; opened: boolean; stderr: string }> {
  const script = `mkdir -p ${path.dirname(node)}; mknod ${node} c ${major} ${minor} && echo made; true 3<>${node} && echo opened`;
  const result = await execCollect(runtime(), id, ['sh', '-c', script]);
  return { made: result.stdout.includes('made'), opened: result.stdout.includes('opened'), stderr: result.stderr };
}

const devicesList = (record: ContainerRecord): string[] =>
  readFileSync(path.join(record.cgroup!.directories.devices!, 'devices.list'), 'utf8').trim().split('\n');

describe('a default container', () => {
  let record: ContainerRecord;
  beforeAll(async () => {
    record = runtime().inspect((await run({ name: 'dev-default' })).id);
  });

  test('may mknod /dev/kvm, /dev/net/tun, /dev/fuse, /dev/loop-control but not open them (EPERM)', async () => {
    for (const [node, major, minor] of [['/dev/kvm', 10, 232], ['/dev/net/tun', 10, 200], ['/dev/fuse', 10, 229], ['/dev/loop-control', 10, 237]] as const) {
      const result = await mknodAndOpen(record.id, node, major, minor);
      expect(result.made, `${node}: ${result.stderr}`).toBe(true);
      expect(result.opened, node).toBe(false);
      expect(result.stderr).toMatch(EPERM);
    }
  });

  test('/dev/null, /dev/zero, /dev/urandom and its terminal work', async () => {
    const result = await execCollect(runtime(), record.id, ['sh', '-c', 'echo gone > /dev/null && head -c 5 /dev/zero | wc -c && head -c 3 /dev/urandom | wc -c && tty'], { tty: true });
    expect(result.stdout.replace(/\r/g, '').trim().split('\n').map((line) => line.trim())).toEqual(['5', '3', '/dev/pts/0']);
    expect(result.code).toBe(0);
  });

  test('the kernel holds the rules: devices.list (v1) and an eBPF program on the cgroup2 directory', () => {
    const unified = record.cgroup!.directories.unified!;
    // The record carries the kernel's own view too: the v1 list as read, the attached program's id.
    expect(record.cgroup!.devices).toEqual({
      mechanisms: ['devices.list', 'ebpf'],
      rules: DEFAULTS.map(describeDeviceRule),
      list: devicesList(record),
      programs: deviceProgramsOf(unified),
    });
    expect(record.cgroup!.files.devices).toBe(path.join(record.cgroup!.directories.devices!, 'devices.list'));
    expect(devicesList(record).sort()).toEqual(DEFAULTS.slice(1).map(v1Line).sort());
    expect(unified.startsWith(openCgroupHost().layout.v2!.mountPoint)).toBe(true);
    expect(deviceProgramsOf(unified)).toHaveLength(1);
    // The container's processes are members there too: the program applies to them.
    const v2Line = readFileSync(`/proc/${record.pid}/cgroup`, 'utf8').split('\n').find((line) => line.startsWith('0::'))!;
    expect(v2Line.endsWith(`/containers-lab/${record.id}`)).toBe(true);
  });
});

describe('--config changes the rules', () => {
  test('[{allow: true, access: "rwm"}] opens everything: tun opens', async () => {
    const record = runtime().inspect((await run({ name: 'dev-all', config: specWith([{ allow: true, access: 'rwm' }]) })).id);
    expect(record.cgroup!.devices!.rules).toEqual(['allow a']);
    expect(devicesList(record)).toEqual(['a *:* rwm']);
    expect(await mknodAndOpen(record.id, '/dev/net/tun', 10, 200)).toMatchObject({ made: true, opened: true });
  });

  test('the defaults plus c 10:200 rwm open tun and nothing more', async () => {
    const record = runtime().inspect((await run({ name: 'dev-tun', config: specWith([...DEFAULT_DEVICE_RULES, TUN]) })).id);
    expect(devicesList(record)).toContain('c 10:200 rwm');
    expect(await mknodAndOpen(record.id, '/dev/net/tun', 10, 200)).toMatchObject({ made: true, opened: true });
    const fuse = await mknodAndOpen(record.id, '/dev/fuse', 10, 229);
    expect(fuse).toMatchObject({ made: true, opened: false });
    expect(fuse.stderr).toMatch(EPERM);
  });

  test('a document without device rules gets none: no program, the full v1 list', async () => {
    const record = runtime().inspect((await run({ name: 'dev-none', config: specWith(undefined) })).id);
    expect(record.cgroup!.devices).toBeNull();
    expect(deviceProgramsOf(record.cgroup!.directories.unified!)).toEqual([]);
    expect(devicesList(record)).toEqual(['a *:* rwm']);
    expect(await mknodAndOpen(record.id, '/dev/net/tun', 10, 200)).toMatchObject({ made: true, opened: true });
  });

  test('a bad rule is one line and leaves nothing', async () => {
    await expect(run({ name: 'dev-bad', config: specWith([{ allow: true, type: 'c', access: '' }]) })).rejects.toThrow(/^linux\.resources\.devices\[0\]\.access "": use some of r/);
    expect(runtime().list().some((c) => c.name === 'dev-bad')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Each mechanism alone, on a cgroup of this test's own with a host process moved into it.

describe('each mechanism on its own', () => {
  const name = (kind: string): string => `cl-devt-${process.pid}-${kind}`;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'cl-devices-'));
  const cgroups: Cgroup[] = [];
  afterAll(() => {
    for (const cgroup of cgroups) {
      cgroup.killAll();
      cgroup.destroy();
    }
    rmSync(scratch, { recursive: true, force: true });
    expect([name('v1'), name('v2'), name('v2-a'), name('v2-b'), name('v2-c')].flatMap(cgroupDirsNamed)).toEqual([]);
  });

  /** A shell the test moves into `cgroup` before it opens the host's own /dev/net/tun and /dev/null (`true` so a refused open does not end the shell). */
  async function openInside(cgroup: Cgroup): Promise<string> {
    const child = spawn(BUSYBOX, ['sh', '-c', 'read go; true 3<>/dev/net/tun && echo tun; true 4<>/dev/null && echo null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    cgroup.addProcess(child.pid!);
    child.stdin.write('go\n');
    await new Promise((resolve) => child.once('exit', resolve));
    return output;
  }

  test('cgroup v2: the eBPF program alone refuses tun and lets /dev/null through', async () => {
    const cgroup = openCgroupHost({ version: 2 }).create(name('v2'), UNLIMITED, DEFAULTS);
    cgroups.push(cgroup);
    expect(cgroup.version).toBe(2);
    expect(deviceProgramsOf(cgroup.record().directories.unified!)).toHaveLength(1);
    const output = await openInside(cgroup);
    expect(output).toMatch(EPERM);
    expect(output).not.toContain('tun\n');
    expect(output).toContain('null');
  });

  test('cgroup v2: one loaded program per rule list, attached to each cgroup that has the list, and enforced in each', async () => {
    const v2 = openCgroupHost({ version: 2 });
    const first = v2.create(name('v2-a'), UNLIMITED, DEFAULTS);
    cgroups.push(first);
    const second = v2.create(name('v2-b'), UNLIMITED, DEFAULTS);
    cgroups.push(second);
    const tunToo = v2.create(name('v2-c'), UNLIMITED, [...DEFAULTS, ...rulesOf([{ allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }])]);
    cgroups.push(tunToo);
    const [firstId] = deviceProgramsOf(first.record().directories.unified!);
    // The kernel's own ids (BPF_PROG_QUERY): the same program under both, another for another list.
    expect(deviceProgramsOf(second.record().directories.unified!)).toEqual([firstId]);
    expect(deviceProgramsOf(tunToo.record().directories.unified!)).toHaveLength(1);
    expect(deviceProgramsOf(tunToo.record().directories.unified!)).not.toEqual([firstId]);
    for (const cgroup of [first, second]) {
      const output = await openInside(cgroup);
      expect(output).toMatch(EPERM);
      expect(output).toContain('null');
    }
    expect(await openInside(tunToo)).toMatch(/^tun\nnull\n$/);
  });

  test('cgroup v1: devices.allow/deny alone (a layout without the cgroup2 mount)', async () => {
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => !line.includes(' - cgroup2 ')).join('\n');
    writeFileSync(path.join(scratch, 'mountinfo'), mountinfo);
    const host = openCgroupHost({ mountinfoPath: path.join(scratch, 'mountinfo') });
    const cgroup = host.create(name('v1'), UNLIMITED, DEFAULTS);
    cgroups.push(cgroup);
    expect(cgroup.record().directories.unified).toBeUndefined();
    const list = readFileSync(cgroup.record().files.devices!, 'utf8').trim().split('\n');
    expect(list.sort()).toEqual(DEFAULTS.slice(1).map(v1Line).sort());
    const output = await openInside(cgroup);
    expect(output).toMatch(EPERM);
    expect(output).toContain('null');
  });
});
