/*
 * One container of a pod as the runtime's run options plus the few config.json fields only the
 * kubelet sets — the same drafting path as `containers-lab run` (agent/oci/from-run-options.ts,
 * from-image.ts), then an amendment: the kubelet's cgroup, CPU shares, oom_score_adj, working
 * directory, supplementary groups, sysctls, hostPID or the pod's shared PID namespace, and the
 * kubelet-managed /etc files.
 */
import type { OciMount, OciSpec, QosClass, RunOptions } from '../../protocol';
import type { SpecAmendment } from '../../runtime/api';
import type { Container, Pod } from '../manifest/types';
import { commandOptions } from './command';
import { containerEnvironment, type PodFacts } from './env';
import { containerResources, cpuShares, oomScoreAdj } from './qos';
import { securityPlan } from './security';
import { volumePlan } from './volumes';

/** config.json annotations that tie a runtime container to its pod's container. */
export const POD_ANNOTATIONS = {
  container: 'lab.containers.pod.container',
  uid: 'lab.containers.pod.uid',
  restart: 'lab.containers.pod.restart-count',
} as const;

export interface ContainerPlanInput {
  pod: Pod;
  facts: PodFacts;
  qos: QosClass;
  cgroupParent: string;
  container: Container;
  /** "spec.containers[1]" */
  where: string;
  runtimeName: string;
  restartCount: number;
  /** The built-in busybox stands in for this image. */
  builtIn: boolean;
  networkMounts: OciMount[];
  /** The oom_score_adj this node can give (the kubelet's value, raised to what the agent may set). */
  oomFloor: number;
  /** The sandbox's first process: with shareProcessNamespace, the container joins its PID namespace. */
  sandboxPid: number;
}

export interface ContainerPlan {
  options: RunOptions;
  amend: SpecAmendment;
  /** The kubelet's oom_score_adj for it, and the one set (they differ where the agent may not lower it). */
  oomScoreAdj: { wanted: number; set: number };
}

export function containerPlan(input: ContainerPlanInput): ContainerPlan {
  const { pod, container } = input;
  const env = containerEnvironment(container, input.facts);
  const security = securityPlan(pod, container, `${input.where}.securityContext`);
  const volumes = volumePlan(pod, container, input.where);
  const resources = containerResources(container);
  const options: RunOptions = {
    name: input.runtimeName,
    pod: pod.metadata!.name!,
    image: input.builtIn ? 'busybox' : container.image!,
    ...commandOptions(container, input.builtIn, env),
    env: [...env].map(([key, value]) => `${key}=${value}`),
    ...(resources.memoryLimit !== null ? { memory: resources.memoryLimit } : {}),
    ...(resources.cpuLimitMilli !== null ? { cpus: `${resources.cpuLimitMilli}m` } : {}),
    ...(volumes.volumes.length ? { volumes: volumes.volumes } : {}),
    ...security.options,
  };
  const wanted = oomScoreAdj(input.qos, container);
  const set = Math.max(wanted, input.oomFloor);
  const amend = (spec: OciSpec): OciSpec => {
    const linux = (spec.linux ??= {});
    linux.cgroupsPath = `${input.cgroupParent}/${input.runtimeName}`;
    const cpu = ((linux.resources ??= {}).cpu ??= {});
    cpu.shares = cpuShares(resources.cpuRequestMilli);
    spec.process!.oomScoreAdj = set;
    if (container.workingDir) spec.process!.cwd = container.workingDir;
    if (security.additionalGids.length) spec.process!.user.additionalGids = security.additionalGids;
    if (Object.keys(security.sysctls).length) linux.sysctl = { ...security.sysctls };
    if (pod.spec?.hostPID) linux.namespaces = (linux.namespaces ?? []).filter((namespace) => namespace.type !== 'pid');
    // shareProcessNamespace: the sandbox's PID namespace, whose PID 1 is the pause process (as the kubelet's CRI asks).
    else if (pod.spec?.shareProcessNamespace) {
      linux.namespaces = (linux.namespaces ?? []).map((namespace) => namespace.type === 'pid' ? { type: 'pid', path: `/proc/${input.sandboxPid}/ns/pid` } : namespace);
    }
    spec.mounts = [...(spec.mounts ?? []), ...input.networkMounts];
    spec.annotations = {
      ...spec.annotations,
      [POD_ANNOTATIONS.container]: container.name,
      [POD_ANNOTATIONS.uid]: input.facts.uid,
      [POD_ANNOTATIONS.restart]: String(input.restartCount),
    };
    return spec;
  };
  return { options, amend, oomScoreAdj: { wanted, set } };
}

/** The sandbox's amendment: the pod's cgroup, its hostname, and which host namespaces it shares instead. */
export function sandboxAmendment(pod: Pod, cgroupParent: string, sandboxName: string, hostname: string, uid: string): SpecAmendment {
  return (spec) => {
    const linux = (spec.linux ??= {});
    linux.cgroupsPath = `${cgroupParent}/${sandboxName}`;
    ((linux.resources ??= {}).cpu ??= {}).shares = 2;
    const shared = new Set<string>();
    if (pod.spec?.hostNetwork) shared.add('uts');
    if (pod.spec?.hostIPC) shared.add('ipc');
    linux.namespaces = (linux.namespaces ?? []).filter((namespace) => !shared.has(namespace.type));
    if (shared.has('uts')) delete spec.hostname;
    else spec.hostname = hostname;
    if (shared.has('ipc')) spec.mounts = (spec.mounts ?? []).filter((mount) => mount.type !== 'mqueue');
    spec.annotations = { ...spec.annotations, [POD_ANNOTATIONS.uid]: uid };
    return spec;
  };
}
