/*
 * Facts: values an answer is compared with, read from the kernel when the check runs — the host
 * PID of a container's process, the namespaces it shares with the host, the file that holds its
 * memory limit. Investigation tasks ask the learner to find one and write it to a file; the
 * check computes the same fact independently, so no answer is ever stored in the lab file.
 */
import { readFileSync } from 'node:fs';
import { NAMESPACE_TYPES } from '../../protocol';
import type { Fact } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, existing, running } from './outcome';
import { namespaceInode } from './namespaces';

export function factValue(fact: Fact, context: LabContext): string {
  switch (fact.fact) {
    case 'token':
      return context.token;
    case 'hostPid':
      return String(running(context, fact.container).pid);
    case 'sharedWithHost': {
      const pid = running(context, fact.container).pid;
      return NAMESPACE_TYPES.filter((type) => namespaceInode(pid, type) === namespaceInode('self', type)).join(',');
    }
    case 'namespaceInode':
      return String(namespaceInode(running(context, fact.container).pid, fact.type));
    case 'cgroupFile': {
      const files = existing(context, fact.container).cgroup?.files ?? {};
      const file = fact.controller === 'memory' ? files.memory : fact.controller === 'pids' ? files.pids : (files.cpu ?? files.cpuQuota);
      if (!file) throw new CheckFailed(`"${fact.container}" has no ${fact.controller} limit file`);
      return file;
    }
    case 'rootfsMerged': {
      const rootfs = existing(context, fact.container).rootfs;
      if (!rootfs) throw new CheckFailed(`"${fact.container}" has no overlay root`);
      return rootfs.merged;
    }
    case 'ip': {
      const ip = existing(context, fact.container).network.ip;
      if (!ip) throw new CheckFailed(`"${fact.container}" has no IP address`);
      return ip;
    }
    case 'hostname':
      // The UTS name of a running process, as its own /proc/sys view would give it, via the record.
      return existing(context, fact.container).hostname ?? readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  }
}

/** Answers are compared as written, ignoring surrounding space and, for lists, order and spacing. */
export function sameAnswer(written: string, expected: string): boolean {
  const normalise = (text: string): string =>
    text.includes(',') || text.includes(' ') || text.includes('\n')
      ? text.split(/[\s,]+/).filter(Boolean).sort().join(',')
      : text.trim();
  return normalise(written) === normalise(expected);
}
