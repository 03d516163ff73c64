/*
 * Check "host-process": a container made by hand — `unshare --fork --pid --mount … chroot DIR sh`
 * — is just processes with new namespaces and another root. The agent did not make it, so there is
 * no record to read: the check finds the processes whose root directory (/proc/PID/root) is DIR,
 * and asks the kernel about them — which namespaces differ from the host's, whether one of them is
 * PID 1 of its PID namespace (the last NSpid of /proc/PID/status), and what is mounted in its root
 * (its /proc/PID/mountinfo, whose mount points read relative to that root).
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import type { NamespaceType } from '../../protocol';
import { readMountinfoEntries } from '../../inspect/mountinfo';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { namespaceInode } from './namespaces';
import { CheckFailed, failIf, statusField } from './outcome';

/** The host PIDs of processes whose root directory is `root`, lowest first. */
export function processesRootedAt(root: string): number[] {
  let wanted: string;
  try {
    wanted = realpathSync(root);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/root`) === wanted) pids.push(Number(entry));
    } catch {
      // exited, or a kernel thread
    }
  }
  return pids.sort((a, b) => a - b);
}

/** The PID a process has in its own (innermost) PID namespace. */
export function innermostPid(pid: number): number | null {
  try {
    const nspid = statusField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'NSpid');
    return nspid ? Number(nspid.split(/\s+/).pop()) : null;
  } catch {
    return null;
  }
}

/** The process of a hand-made container to look at: its PID 1 when it has one, else the first. */
export function handMadeProcess(root: string): number {
  const pids = processesRootedAt(root);
  if (pids.length === 0) throw new CheckFailed(`no process has ${root} as its root directory`);
  return pids.find((pid) => innermostPid(pid) === 1) ?? pids[0]!;
}

export function checkHostProcess(params: CheckParamsByKind['host-process'], _context: LabContext): void {
  const pid = handMadeProcess(params.root);
  if (params.pid1) failIf(innermostPid(pid) !== 1, `no process rooted at ${params.root} is PID 1 of a PID namespace of its own (PID ${innermostPid(pid)} there)`);
  const shared = (params.separate ?? []).filter((type: NamespaceType) => namespaceInode(pid, type) === namespaceInode('self', type));
  failIf(shared.length > 0, `process ${pid} shares its ${shared.join(', ')} namespace${shared.length > 1 ? 's' : ''} with the host`);
  if (params.mounts) {
    const mounts = readMountinfoEntries(pid);
    const missing = params.mounts.filter((wanted) => !mounts.some((mount) => mount.target === wanted.target && mount.fstype === wanted.fstype));
    failIf(missing.length > 0, `in its root, ${missing.map((mount) => `${mount.target} is not a ${mount.fstype} mount`).join('; ')}`);
  }
}
