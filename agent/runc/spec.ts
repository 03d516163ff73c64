/*
 * spec [--bundle DIR]: writes a starting config.json into the bundle directory (default: the
 * current one), refusing to overwrite one — runc's default document: `sh` on a terminal, a
 * read-only "rootfs", new pid/network/ipc/uts/mount namespaces, three capabilities, no new
 * privileges, the usual /proc, /dev, /sys mounts, masked and read-only paths, every device denied.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { OciSpec } from '../protocol';
import { RuncError } from './errors';
import { flag, parseFlags } from './flags';
import type { Invocation } from './verb';

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultSpec(): OciSpec {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  } as OciSpec;
}

export async function spec(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [{ name: 'bundle', alias: 'b', kind: 'string' }, { name: 'rootless', kind: 'bool' }]);
  if (flag.bool(parsed, 'rootless')) throw new RuncError('--rootless: this runtime runs as root only');
  const path = join(resolve(flag.string(parsed, 'bundle') ?? process.cwd()), 'config.json');
  if (existsSync(path)) throw new RuncError('File config.json exists. Remove it first');
  writeFileSync(path, `${JSON.stringify(defaultSpec(), null, '\t')}\n`);
  return 0;
}
