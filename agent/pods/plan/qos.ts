/*
 * Quality of Service, as the kubelet derives it from requests and limits, and what it sets from it.
 *
 *   Guaranteed  every container has cpu and memory limits, and requests equal to them
 *   BestEffort  no container asks for or limits cpu or memory
 *   Burstable   everything else
 *
 * The class decides where the pod's cgroup goes (the cgroupfs driver's layout, under the agent's
 * own cgroup here): kubepods/pod<uid> for Guaranteed, kubepods/burstable/pod<uid> and
 * kubepods/besteffort/pod<uid> for the others, each container one level below. It decides how
 * willing the kernel's OOM killer is to pick the pod's processes (oom_score_adj): −997 for
 * Guaranteed, 1000 for BestEffort, and for Burstable 1000 − 1000 × memory request / node memory,
 * kept within 2…999. And requests become CPU weights: cpu.shares = millicores × 1024 / 1000
 * (at least 2; cgroup v2's cpu.weight is converted from it), limits become a CFS quota.
 */
import os from 'node:os';
import type { QosClass } from '../../protocol/pods';
import { parseCpuQuantity, parseMemoryQuantity } from '../../protocol/quantity';
import type { Container, Pod } from '../manifest/types';

export const MIN_SHARES = 2;
export const GUARANTEED_OOM_SCORE_ADJ = -997;
export const BEST_EFFORT_OOM_SCORE_ADJ = 1000;

export interface ContainerResources {
  cpuRequestMilli: number | null;
  cpuLimitMilli: number | null;
  memoryRequest: number | null;
  memoryLimit: number | null;
}

/** Requests and limits as numbers; a limit without a request makes the request equal it (the API's defaulting). */
export function containerResources(container: Container): ContainerResources {
  const requests = container.resources?.requests ?? {};
  const limits = container.resources?.limits ?? {};
  const cpu = (value: string | number | undefined): number | null => (value === undefined ? null : Math.round(parseCpuQuantity(value, 'cpu') * 1000));
  const memory = (value: string | number | undefined): number | null => (value === undefined ? null : parseMemoryQuantity(value, 'memory'));
  const cpuLimitMilli = cpu(limits.cpu);
  const memoryLimit = memory(limits.memory);
  return {
    cpuRequestMilli: cpu(requests.cpu) ?? cpuLimitMilli,
    cpuLimitMilli,
    memoryRequest: memory(requests.memory) ?? memoryLimit,
    memoryLimit,
  };
}

function allContainers(pod: Pod): Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

export function qosClass(pod: Pod): QosClass {
  const all = allContainers(pod).map(containerResources);
  const any = all.some((r) => r.cpuRequestMilli !== null || r.cpuLimitMilli !== null || r.memoryRequest !== null || r.memoryLimit !== null);
  if (!any) return 'BestEffort';
  const guaranteed = all.every((r) => r.cpuLimitMilli !== null && r.memoryLimit !== null && r.cpuRequestMilli === r.cpuLimitMilli && r.memoryRequest === r.memoryLimit);
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The pod's cgroup below the agent's own, as the cgroupfs driver names it. */
export function podCgroupParent(qos: QosClass, uid: string): string {
  const pod = `pod${uid}`;
  if (qos === 'Guaranteed') return `kubepods/${pod}`;
  return `kubepods/${qos === 'Burstable' ? 'burstable' : 'besteffort'}/${pod}`;
}

export function cpuShares(milli: number | null): number {
  if (milli === null || milli === 0) return MIN_SHARES;
  return Math.max(MIN_SHARES, Math.floor((milli * 1024) / 1000));
}

/** The kubelet's oom_score_adj for a container of a pod of class `qos`. */
export function oomScoreAdj(qos: QosClass, container: Container, memoryCapacity = os.totalmem()): number {
  if (qos === 'Guaranteed') return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === 'BestEffort') return BEST_EFFORT_OOM_SCORE_ADJ;
  const request = containerResources(container).memoryRequest ?? 0;
  const adj = 1000 - Math.floor((1000 * request) / memoryCapacity);
  return Math.min(999, Math.max(2, adj));
}

/** The pod cgroup's own values: shares from the sum of requests; limits only when every container has one. */
export function podLevelResources(pod: Pod): { shares: number; memoryLimit: number | null; cpuQuotaMilli: number | null } {
  const apps = (pod.spec?.containers ?? []).map(containerResources);
  const inits = (pod.spec?.initContainers ?? []).map(containerResources);
  // The pod's effective request: the larger of the app containers' sum and the largest init container's.
  const sum = (key: keyof ContainerResources, list: ContainerResources[]): number => list.reduce((total, r) => total + (r[key] ?? 0), 0);
  const max = (key: keyof ContainerResources): number => Math.max(0, ...inits.map((r) => r[key] ?? 0));
  const cpuRequest = Math.max(sum('cpuRequestMilli', apps), max('cpuRequestMilli'));
  const everyMemory = [...apps, ...inits].every((r) => r.memoryLimit !== null);
  const everyCpu = [...apps, ...inits].every((r) => r.cpuLimitMilli !== null);
  return {
    shares: cpuShares(cpuRequest),
    memoryLimit: everyMemory ? Math.max(sum('memoryLimit', apps), max('memoryLimit')) : null,
    cpuQuotaMilli: everyCpu ? Math.max(sum('cpuLimitMilli', apps), max('cpuLimitMilli')) : null,
  };
}
