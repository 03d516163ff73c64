/*
 * Device access: which device files a container may create (mknod) and open.
 *
 * A device file is only a name for a number: `ls -l /dev/null` shows "c 1, 3" — a character
 * device, major 1 (the kernel's "mem" driver), minor 3 (null). Anyone who may call mknod(2)
 * (root with CAP_MKNOD, which Docker's default capabilities include) can make a node for *any*
 * number — `mknod /dev/kvm c 10 232` — and opening it reaches the host's driver. A small /dev
 * tmpfs does not stop that, and nodev only on its own mount (the container's / and /dev are not
 * nodev); the device cgroup does. For every
 * mknod and open of a device node the kernel asks the cgroup of the calling process whether this
 * type, major:minor and access (r read, w write, m mknod) is allowed, and answers EPERM if not.
 *
 * The rules come from config.json's linux.resources.devices and are applied in order, exactly
 * as the v1 kernel folds them: `deny a` (all) empties the list and makes "deny" the default,
 * each `allow c 1:3 rwm` adds an exception to that default, a later rule can take access back.
 * A container without the field gets no rules: every device is reachable (the OCI document is
 * the whole truth). `run` writes the default below into every document it makes — Docker's:
 * what containerd writes into config.json (WithDefaultUnixDevices) plus the two mknod rules runc
 * adds itself. tun (c 10:200) is left out, as runc 1.2 first did (later runc versions put it back
 * for old setups that rely on it); a document that needs it says so.
 *
 *   deny  a                     everything, then allow back:
 *   allow c *:* m, b *:* m      mknod of any node (runc's rule: a node alone is harmless — opening
 *                               it needs r or w — and installers and image layers make nodes)
 *   allow c 1:3 1:5 1:7 1:8 1:9 rwm   null, zero, full, random, urandom
 *   allow c 5:0 5:1 5:2 rwm     tty, console, ptmx
 *   allow c 136:* rwm           the pseudo-terminals in /dev/pts
 *
 * How the kernel enforces them differs per cgroup version (see ./index.ts):
 *   v1  the devices controller: write "a" into devices.deny, then one rule per write(2) into
 *       devices.allow or devices.deny. `cat <devices hierarchy>/…/containers-lab/<id>/devices.list`
 *       shows what is allowed (just "a *:* rwm" whenever the default is allow, even if some
 *       exceptions deny).
 *   v2  has no devices controller: the runtime attaches an eBPF program of type
 *       BPF_PROG_TYPE_CGROUP_DEVICE to the container's cgroup (./device-filter.ts). See it with
 *       `bpftool cgroup list /sys/fs/cgroup/…/containers-lab/<id>` (and `bpftool prog dump
 *       xlated id N`), where bpftool is installed.
 * On a hybrid host (v1 controllers plus a cgroup2 mount) the container's cgroup exists in both and
 * both mechanisms apply: the kernel runs the cgroup's eBPF programs first, then the v1 list.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput, LabError, quote } from '../../errors';
import { hasErrno } from '../../kernel/errors';
import type { CgroupDevicesRecord, CgroupRecord, OciDeviceCgroup, OciSpec } from '../../protocol';

export type DeviceType = 'a' | 'b' | 'c';

/** One rule of linux.resources.devices, checked and in the kernel's terms. */
export interface DeviceRule {
  allow: boolean;
  /** a = all devices: the rule resets the list (major, minor and access do not apply). */
  type: DeviceType;
  /** null = any ("*"). */
  major: number | null;
  minor: number | null;
  /** Some of "rwm", always in that order. */
  access: string;
}

/** The access bits of the kernel's device check (BPF_DEVCG_ACC_* in <linux/bpf.h>). */
export const ACCESS_BITS: Readonly<Record<'m' | 'r' | 'w', number>> = { m: 1, r: 2, w: 4 };
export const ALL_ACCESS = ACCESS_BITS.m | ACCESS_BITS.r | ACCESS_BITS.w;

const charDevice = (major: number, minor?: number): OciDeviceCgroup =>
  minor === undefined ? { allow: true, type: 'c', major, access: 'rwm' } : { allow: true, type: 'c', major, minor, access: 'rwm' };

/** What `run` writes into config.json (see the table above). */
export const DEFAULT_DEVICE_RULES: readonly Readonly<OciDeviceCgroup>[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  charDevice(1, 3), // /dev/null
  charDevice(1, 5), // /dev/zero
  charDevice(1, 7), // /dev/full
  charDevice(1, 8), // /dev/random
  charDevice(1, 9), // /dev/urandom
  charDevice(5, 0), // /dev/tty
  charDevice(5, 1), // /dev/console
  charDevice(5, 2), // /dev/ptmx
  charDevice(136), //  /dev/pts/*
];

export function defaultDeviceRules(): OciDeviceCgroup[] {
  return DEFAULT_DEVICE_RULES.map((rule) => ({ ...rule }));
}

/** A device number has 12 bits of major and 20 of minor (MAJOR/MINOR in <linux/kdev_t.h>). */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

function deviceNumber(value: unknown, field: 'major' | 'minor', where: string): number | null {
  if (value === undefined) return null;
  const max = field === 'major' ? MAX_MAJOR : MAX_MINOR;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw badInput(`${where}.${field} ${quote(value)}: use a whole number from 0 to ${max}, or leave it out for any`);
  }
  return value;
}

function parseRule(entry: OciDeviceCgroup, where: string): DeviceRule {
  if (typeof entry !== 'object' || entry === null || typeof entry.allow !== 'boolean') throw badInput(`${where}: give "allow": true or false`);
  const type = entry.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') throw badInput(`${where}.type ${quote(type)}: use a (all devices), c (char) or b (block)`);
  const access = entry.access;
  // runc refuses an empty access too: the kernel would read it as "no access", a silent no-op.
  if (typeof access !== 'string' || !/^[rwm]+$/.test(access)) throw badInput(`${where}.access ${quote(access)}: use some of r (read), w (write), m (mknod), e.g. "rwm"`);
  const canonical = ['r', 'w', 'm'].filter((letter) => access.includes(letter)).join('');
  const major = deviceNumber(entry.major, 'major', where);
  const minor = deviceNumber(entry.minor, 'minor', where);
  if (type === 'a' && (major !== null || minor !== null || canonical !== 'rwm')) {
    // The kernel reads "a" as "the whole list" and ignores the rest: say so rather than pretend.
    throw badInput(`${where}: type a (all devices) resets the whole list: leave major and minor out and use access "rwm"`);
  }
  return { allow: entry.allow, type, major, minor, access: canonical };
}

/**
 * The document's device rules, checked, then one allow rule per node of linux.devices; null when
 * it has no rules (then no device rule applies).
 */
export function deviceRulesFromConfig(spec: OciSpec): DeviceRule[] | null {
  const entries: unknown = spec.linux?.resources?.devices;
  if (entries === undefined) return null;
  if (!Array.isArray(entries)) throw badInput('linux.resources.devices: give a list of device rules');
  const rules = entries.map((entry: OciDeviceCgroup, index) => parseRule(entry, `linux.resources.devices[${index}]`));
  // As runc: a node the document lists in linux.devices (../device-nodes.ts) is meant to be used,
  // so "allow <type> major:minor rwm" follows the document's own rules (a FIFO needs no rule).
  for (const node of spec.linux?.devices ?? []) {
    if (node.type === 'p') continue;
    rules.push({ allow: true, type: node.type === 'b' ? 'b' : 'c', major: node.major ?? null, minor: node.minor ?? null, access: 'rwm' });
  }
  return rules;
}

/** The rule in the v1 files' syntax: "a", "c 1:3 rwm", "c 136:* rwm". */
export function v1Line(rule: DeviceRule): string {
  if (rule.type === 'a') return 'a';
  return `${rule.type} ${rule.major ?? '*'}:${rule.minor ?? '*'} ${rule.access}`;
}

/** "deny a", "allow c 1:3 rwm": how the record shows a rule. */
export function describeDeviceRule(rule: DeviceRule): string {
  return `${rule.allow ? 'allow' : 'deny'} ${v1Line(rule)}`;
}

/** A rule's access string ("rw") as ACCESS_BITS. */
export function accessBits(access: string): number {
  let bits = 0;
  for (const letter of access) bits |= ACCESS_BITS[letter as keyof typeof ACCESS_BITS] ?? 0;
  return bits;
}

export interface DeviceException {
  type: 'b' | 'c';
  major: number | null;
  minor: number | null;
  /** ACCESS_BITS of the exception. */
  access: number;
}

/** A default verdict and its exceptions: the state the v1 kernel keeps per cgroup. */
export interface DeviceAccessTable {
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

/**
 * Folds the rules in order the way the v1 kernel does (security/device_cgroup.c), so that the v2
 * program decides exactly what v1 would: "a" sets the default and empties the exceptions; a rule
 * whose verdict differs from the default adds its access to the exception with the same
 * type/major/minor (or a new one); a rule that agrees with the default removes its access from
 * that exact exception — it does not punch holes into a wildcard one. A new cgroup starts as its
 * parent: here everything allowed (the agent's own cgroup has no device rules).
 */
export function foldDeviceRules(rules: readonly DeviceRule[]): DeviceAccessTable {
  const table: DeviceAccessTable = { defaultAllow: true, exceptions: [] };
  for (const rule of rules) {
    if (rule.type === 'a') {
      table.defaultAllow = rule.allow;
      table.exceptions = [];
      continue;
    }
    const bits = accessBits(rule.access);
    const index = table.exceptions.findIndex((ex) => ex.type === rule.type && ex.major === rule.major && ex.minor === rule.minor);
    const existing = index >= 0 ? table.exceptions[index]! : null;
    if (rule.allow !== table.defaultAllow) {
      if (existing) existing.access |= bits;
      else table.exceptions.push({ type: rule.type, major: rule.major, minor: rule.minor, access: bits });
    } else if (existing) {
      existing.access &= ~bits;
      if (existing.access === 0) table.exceptions.splice(index, 1);
    }
  }
  return table;
}

/**
 * cgroup v1: one write(2) per rule into devices.deny or devices.allow of the container's devices
 * cgroup — the kernel parses each write on its own and keeps the list (see devices.list).
 */
export function applyV1DeviceRules(directory: string, rules: readonly DeviceRule[]): void {
  const fds = new Map<'devices.allow' | 'devices.deny', number>();
  try {
    for (const rule of rules) {
      const file = rule.allow ? 'devices.allow' : 'devices.deny';
      let fd = fds.get(file);
      if (fd === undefined) {
        fd = fs.openSync(path.join(directory, file), 'w');
        fds.set(file, fd);
      }
      const line = v1Line(rule);
      try {
        fs.writeSync(fd, line);
      } catch (error) {
        // EPERM: a cgroup's list can only narrow its parent's, and the parent lacks this access.
        if (!hasErrno(error, 'EPERM')) throw error;
        throw new LabError('permission', `device rule "${describeDeviceRule(rule)}" is refused by the kernel (${path.join(directory, file)}: EPERM): the parent cgroup does not allow it, and a cgroup can only narrow its parent's list`);
      }
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
}

/**
 * The device part of a container's cgroup record: the document's rules and how the kernel
 * enforces them on this cgroup (its v1 devices directory, an eBPF program on its v2 directory, or
 * both). Null when the document has no rules — or rules no container could have been made with.
 */
export function devicesRecord(config: OciSpec, cgroup: CgroupRecord): CgroupDevicesRecord | null {
  let rules: DeviceRule[] | null;
  try {
    rules = deviceRulesFromConfig(config);
  } catch {
    return null;
  }
  if (rules === null) return null;
  const mechanisms: CgroupDevicesRecord['mechanisms'] = [];
  if (cgroup.version === 1 && cgroup.directories.devices) mechanisms.push('devices.list');
  if (cgroup.directories.unified) mechanisms.push('ebpf');
  return { mechanisms, rules: rules.map(describeDeviceRule) };
}
