/*
 * Check "qos": a pod's Quality of Service class as the agent reports it and as the kernel holds
 * it. The class is where the pod's cgroup is (the kubelet's cgroupfs layout: kubepods/pod<uid>
 * for Guaranteed, kubepods/burstable/pod<uid>, kubepods/besteffort/pod<uid>), read from each app
 * container's /proc/PID/cgroup; and how willing the OOM killer is to pick it, /proc/PID/oom_score_adj:
 * 1000 for BestEffort, 2…999 for Burstable, and for Guaranteed −997 — or, on a host where the
 * agent may not go below its own value (no CAP_SYS_RESOURCE), the lowest of the three classes'.
 */
import { readFileSync } from 'node:fs';
import type { QosClass } from '../../protocol/pods';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, failIf } from './outcome';
import { podRecord } from './pod';

const LAYOUT: Record<QosClass, RegExp> = {
  Guaranteed: /\/kubepods\/pod[0-9a-f-]+\//,
  Burstable: /\/kubepods\/burstable\/pod[0-9a-f-]+\//,
  BestEffort: /\/kubepods\/besteffort\/pod[0-9a-f-]+\//,
};

function adjFits(qos: QosClass, adj: number): boolean {
  if (qos === 'BestEffort') return adj === 1000;
  if (qos === 'Burstable') return adj >= 2 && adj <= 999;
  return adj < 2;
}

export function checkQos(params: CheckParamsByKind['qos'], context: LabContext): void {
  const pod = podRecord(context, params.pod);
  if (!pod) throw new CheckFailed(`no pod named "${params.pod}" (containers-lab get pods)`);
  failIf(pod.status.qosClass !== params.qosClass, `pod "${params.pod}" is ${pod.status.qosClass}`);
  const uid = pod.uid;
  for (const status of pod.status.containerStatuses) {
    const record = status.containerID ? context.runtime.inspect(status.containerID) : null;
    if (!record || record.status !== 'running' || record.pid === null) throw new CheckFailed(`container "${status.name}" of pod "${params.pod}" is not running`);
    const cgroups = readFileSync(`/proc/${record.pid}/cgroup`, 'utf8');
    const line = cgroups.split('\n').find((entry) => entry.includes(`/pod${uid}/`)) ?? cgroups.split('\n')[0] ?? '';
    failIf(!LAYOUT[params.qosClass].test(line), `the kernel has "${status.name}" (PID ${record.pid}) in ${line.split(':').pop()}`);
    const adj = Number(readFileSync(`/proc/${record.pid}/oom_score_adj`, 'utf8').trim());
    failIf(!adjFits(params.qosClass, adj), `/proc/${record.pid}/oom_score_adj of "${status.name}" is ${adj}`);
  }
}
