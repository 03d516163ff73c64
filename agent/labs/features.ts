/*
 * Which runtime features this agent really has, found by trying each one and reading the
 * kernel's answer — not by trusting that an option was accepted (an unknown option might be
 * ignored). Labs list the features they need (`requires`); the tests run a lab only where its
 * features work, and the engine can say why a lab cannot run here.
 */
import { readFileSync } from 'node:fs';
import type { LabFeature } from '../protocol/labs';
import type { RunOptions } from '../protocol';
import type { ContainerRuntime } from '../runtime/api';
import { readMountinfoEntries } from '../inspect/mountinfo';
import { statusField } from './checks/outcome';
import { namespaceInode } from './checks/namespaces';

const status = (pid: number): string => readFileSync(`/proc/${pid}/status`, 'utf8');

type Probe = { options: RunOptions[]; works: (pids: number[]) => boolean };

const PROBES: Record<LabFeature, Probe> = {
  user: { options: [{ user: '1234:1234' }], works: ([pid]) => statusField(status(pid!), 'Uid')?.split(/\s+/)[0] === '1234' },
  readOnlyRoot: { options: [{ readOnlyRoot: true }], works: ([pid]) => readMountinfoEntries(pid!).some((entry) => entry.target === '/' && entry.mountOptions.split(',').includes('ro')) },
  capabilities: { options: [{ capDrop: ['ALL'], capAdd: ['NET_ADMIN'] }], works: ([pid]) => BigInt(`0x${statusField(status(pid!), 'CapEff')}`) === 1n << 12n },
  seccomp: { options: [{ seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } }], works: ([pid]) => statusField(status(pid!), 'Seccomp') === '2' },
  noNewPrivileges: { options: [{ noNewPrivileges: true }], works: ([pid]) => statusField(status(pid!), 'NoNewPrivs') === '1' },
  pod: {
    options: [{ pod: 'clprobe-pod' }, { pod: 'clprobe-pod' }],
    works: ([a, b]) => namespaceInode(a!, 'net') === namespaceInode(b!, 'net') && namespaceInode(a!, 'net') !== namespaceInode('self', 'net'),
  },
  volumes: { options: [{ volumes: [{ name: 'probe', mountPath: '/probe-volume' }] }], works: ([pid]) => readMountinfoEntries(pid!).some((entry) => entry.target === '/probe-volume') },
  init: {
    options: [{ init: ['sh', '-c', 'echo ran > /probe-init'] }],
    works: ([pid]) => {
      try {
        return readFileSync(`/proc/${pid}/root/probe-init`, 'utf8').trim() === 'ran';
      } catch {
        return false;
      }
    },
  },
};

async function probe(runtime: ContainerRuntime, feature: LabFeature): Promise<boolean> {
  const made: string[] = [];
  try {
    const pids: number[] = [];
    for (const [index, options] of PROBES[feature].options.entries()) {
      // Pod members take their network from the pod's sandbox; the others need none.
      const record = await runtime.run({ ...options, name: `clprobe-${feature}-${index}`, ...(options.pod ? {} : { net: 'none' as const }) });
      made.push(record.id);
      if (record.pid === null) return false;
      pids.push(record.pid);
    }
    return PROBES[feature].works(pids);
  } catch {
    return false;
  } finally {
    // A failed removal is a leak, never a detail: it is reported, not swallowed. (Removing a pod's
    // last member removes its sandbox too; a sandbox left because a member failed goes last.)
    for (const id of made.reverse()) await runtime.remove(id, true);
    for (const summary of runtime.list()) if (summary.name.startsWith('clprobe-pod')) await runtime.remove(summary.id, true);
  }
}

/** The features that work on this runtime, each tried once with a short-lived container. */
export async function probeFeatures(runtime: ContainerRuntime): Promise<Set<LabFeature>> {
  const working = new Set<LabFeature>();
  for (const feature of Object.keys(PROBES) as LabFeature[]) if (await probe(runtime, feature)) working.add(feature);
  return working;
}
