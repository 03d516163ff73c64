/*
 * What the Manifests panel shows for a pod: the Pod YAML (as `get pod -o yaml` prints it: the
 * manifest as applied, with the uid, node and status the kubelet adds) beside each container's
 * generated OCI config.json — the document the runtime realised for it — and the cgroup paths the
 * kernel has for it, under the pod's own cgroup (kubepods[/burstable|/besteffort]/pod<uid>).
 *
 * Pure: the panel (./pod-manifests-panel.ts) asks the agent for the records and hands them here.
 */
import { podYaml } from '../../../agent/cli/verbs/pods/pod-format';
import type { ContainerRecord, PodContainerStatus, PodRecord } from '../../../agent/protocol';
import { configJsonText } from './document-fields';

export interface CgroupPaths {
  version: 1 | 2;
  /** The path inside each hierarchy, e.g. /kubepods/burstable/pod<uid>/web.app.0. */
  path: string;
  /** The directory per controller (v1) or "unified" (v2), sorted by controller. */
  directories: { controller: string; directory: string }[];
}

export interface PodContainerManifest {
  name: string;
  init: boolean;
  /** The runtime container standing for it now (<pod>.<container>.<restartCount>), if one exists. */
  runtimeName: string | null;
  id: string | null;
  /** "Running", "Terminated: Completed", "Waiting: CrashLoopBackOff" … */
  state: string;
  restartCount: number;
  /** Its config.json as the runtime holds it; null before the container is made. */
  config: string | null;
  cgroup: CgroupPaths | null;
}

export interface PodManifests {
  name: string;
  phase: string;
  qosClass: string;
  /** The pod's cgroup (kubepods/…/pod<uid>), its containers' parent. */
  cgroupParent: string;
  podYaml: string;
  sandbox: { name: string; cgroup: CgroupPaths | null } | null;
  containers: PodContainerManifest[];
}

export function cgroupPaths(record: ContainerRecord | null): CgroupPaths | null {
  const cgroup = record?.cgroup;
  if (!cgroup) return null;
  const directories = Object.entries(cgroup.directories)
    .map(([controller, directory]) => ({ controller, directory }))
    .sort((a, b) => a.controller.localeCompare(b.controller));
  return { version: cgroup.version, path: cgroup.path, directories };
}

function stateText(status: PodContainerStatus): string {
  const { running, waiting, terminated } = status.state;
  if (running) return 'Running';
  if (waiting) return `Waiting: ${waiting.reason}`;
  if (terminated) return `Terminated: ${terminated.reason} (exit ${terminated.exitCode})`;
  return 'Unknown';
}

/** `records` maps runtime container ids to their records (those that could be read). */
export function podManifests(pod: PodRecord, records: ReadonlyMap<string, ContainerRecord>, sandbox: ContainerRecord | null): PodManifests {
  const entry = (status: PodContainerStatus, init: boolean): PodContainerManifest => {
    const record = status.containerID ? records.get(status.containerID) ?? null : null;
    return {
      name: status.name,
      init,
      runtimeName: record?.name ?? null,
      id: record?.id ?? null,
      state: stateText(status),
      restartCount: status.restartCount,
      config: record ? configJsonText(record) : null,
      cgroup: cgroupPaths(record),
    };
  };
  return {
    name: pod.name,
    phase: pod.status.phase,
    qosClass: pod.status.qosClass,
    cgroupParent: pod.cgroupParent,
    podYaml: podYaml([pod]),
    sandbox: pod.sandbox ? { name: pod.sandbox.name, cgroup: cgroupPaths(sandbox) } : null,
    containers: [
      ...pod.status.initContainerStatuses.map((status) => entry(status, true)),
      ...pod.status.containerStatuses.map((status) => entry(status, false)),
    ],
  };
}
