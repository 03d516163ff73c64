/*
 * Kernel parameters (sysctls) for one container: config.json's linux.sysctl, and its domainname.
 *
 * /proc/sys is a window onto the kernel's tunables: /proc/sys/net/ipv4/ip_forward is the sysctl
 * "net.ipv4.ip_forward" (sysctl(8) writes the path with dots; a dot inside a name, like the VLAN
 * interface "eth0.100", is written as "/": net.ipv4.conf.eth0/100.forwarding). Most of them are
 * global — one value for the whole machine — and a container must not touch those. Some belong
 * to a namespace, and a container with a namespace of its own may set them for itself alone:
 *
 *   network namespace   net.*                      (each netns has its own IP stack)
 *   IPC namespace       kernel.shmmax, .shmall, .shmmni, .shm_rmid_forced, .msgmax, .msgmnb,
 *                       .msgmni, .sem, fs.mqueue.*  (System V IPC and POSIX message queues)
 *   UTS namespace       kernel.domainname, kernel.hostname
 *
 * That is runc's list; anything else is refused in one line. Which namespace's value a write
 * changes depends on the namespaces of the *writing thread*, not on which /proc it goes through:
 * writing /proc/<pid>/root/proc/sys/net/… from the host's network namespace would change the
 * host. So the agent enters the container's namespace on its own thread (setns, see
 * ./namespaces.ts insideNamespaces), writes the host's /proc/sys there, reads the value back and
 * steps out — while the container's first process waits, before its program starts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hasErrno, KernelError } from '../kernel/errors';
import { configFieldError } from '../oci/validate';
import type { NamespaceType, OciSpec } from '../protocol';
import { insideNamespaces } from './namespaces';

type SysctlNamespace = 'net' | 'ipc' | 'uts';

export interface SysctlWrite {
  /** The field that asked for it: ["linux", "sysctl", key] or ["domainname"]. */
  at: string[];
  key: string;
  /** Below /proc/sys. */
  path: string;
  value: string;
  namespace: SysctlNamespace;
}

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/** The namespace a sysctl belongs to (runc's list), or null when it is global to the machine. */
export function sysctlNamespace(key: string): SysctlNamespace | null {
  if (key.startsWith('net.')) return 'net';
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key === 'kernel.domainname' || key === 'kernel.hostname') return 'uts';
  return null;
}

/** sysctl(8)'s notation → the path below /proc/sys: dots and slashes swap places. */
export function sysctlPath(key: string): string | null {
  const path = key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
  const parts = path.split('/');
  const safe = /^[A-Za-z0-9_.:@+-]+$/.test(key.replace(/\//g, '')) && parts.every((part) => part !== '' && part !== '.' && part !== '..');
  return safe ? path : null;
}

const NAMESPACE_NAMES: Record<SysctlNamespace, string> = { net: 'network', ipc: 'IPC', uts: 'UTS' };

/**
 * The writes linux.sysctl (and domainname) ask for, checked before anything exists. `own(type)`:
 * the container creates a namespace of that type (joined ones are a pod's: its sandbox's own
 * settings, not a member's to change).
 */
export function sysctlPlanFor(spec: OciSpec, own: (type: NamespaceType) => boolean): SysctlWrite[] {
  const writes: SysctlWrite[] = [];
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    const at = ['linux', 'sysctl', key];
    const namespace = sysctlNamespace(key);
    const path = sysctlPath(key);
    if (path === null) throw configFieldError(at, 'is not a sysctl name (dotted, as sysctl(8) writes it)');
    if (namespace === null) throw configFieldError(at, 'is not supported by this runtime: it is not in a namespace, so it would change the whole host (allowed: net.*, kernel.shm*/msg*/sem, fs.mqueue.*, kernel.domainname, kernel.hostname)');
    if (!own(namespace)) throw configFieldError(at, `needs a ${NAMESPACE_NAMES[namespace]} namespace of the container's own: otherwise it would change the host's (or a pod's) value`);
    if (namespace === 'ipc' && own('user')) throw configFieldError(at, 'is not supported by this runtime with a user namespace: the kernel lets only the namespace\'s own root write its IPC sysctls');
    if (key === 'kernel.hostname' && spec.hostname !== undefined && spec.hostname !== value) throw configFieldError(at, `conflicts with /hostname (${JSON.stringify(spec.hostname)})`);
    if (typeof value !== 'string' || value.length > 4096) throw configFieldError(at, 'must be a string of at most 4096 characters');
    writes.push({ at, key, path, value, namespace });
  }
  if (spec.domainname !== undefined && spec.domainname !== '') {
    if (!own('uts')) throw configFieldError(['domainname'], 'needs a UTS namespace of the container\'s own');
    writes.push({ at: ['domainname'], key: 'kernel.domainname', path: 'kernel/domainname', value: spec.domainname, namespace: 'uts' });
  }
  return writes;
}

/** Whitespace-separated words: the kernel reads "250 32000 32 128" back with tabs. */
const words = (text: string): string => text.trim().split(/\s+/).join(' ');

/**
 * Writes each sysctl inside the container's namespace of its kind and reads it back: a value the
 * kernel refuses or changes is one line naming the field (the caller undoes the container).
 */
export function applySysctls(pid: number, writes: readonly SysctlWrite[]): void {
  for (const namespace of ['net', 'ipc', 'uts'] as const) {
    const mine = writes.filter((write) => write.namespace === namespace);
    if (mine.length === 0) continue;
    insideNamespaces(pid, [namespace], () => {
      for (const write of mine) writeAndCheck(write);
    });
  }
}

function writeAndCheck(write: SysctlWrite): void {
  const file = `/proc/sys/${write.path}`;
  try {
    writeFileSync(file, write.value);
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) throw configFieldError(write.at, 'does not exist on this kernel (or in this namespace)');
    const code = error instanceof KernelError ? error.code : (error as { code?: string }).code ?? 'an error';
    throw configFieldError(write.at, `was refused by the kernel: ${write.key} ← ${JSON.stringify(write.value.slice(0, 40))} gave ${code}`);
  }
  let now: string;
  try {
    now = readFileSync(file, 'utf8');
  } catch {
    return; // a write-only parameter (net.ipv4.route.flush): nothing to read back
  }
  if (words(now) !== words(write.value)) throw configFieldError(write.at, `did not take effect: the kernel holds ${JSON.stringify(words(now).slice(0, 40))}`);
}
