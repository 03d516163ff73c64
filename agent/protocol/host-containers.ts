/*
 * Every container on the host, whoever made it (host.containers): found from the kernel's own
 * view — processes whose namespaces are not the host's, grouped by their set of namespaces —
 * and then named by what made it, from the makers' own traces (the agent's state, an OCI
 * runtime's --root state directory, a containerd shim's command line, Docker's cgroup names).
 */
import type { NamespaceType, ProcessRecord } from './records';

/**
 * Who made a container:
 *   containers-lab       this agent (its state), or another Containers Lab agent (its cgroup)
 *   containers-lab-runc  Containers Lab's runc-compatible command line, called directly
 *   runc, crun           the OCI runtime, called directly (`runc run`), found in its --root
 *   containerd           a containerd shim (`ctr run`, a kubelet through CRI) drove an OCI runtime
 *   docker               Docker (containerd namespace "moby", or a docker cgroup)
 *   unknown              nothing claims it: `unshare`, a sandboxing program, a service's private mounts
 */
export const CONTAINER_MAKERS = ['containers-lab', 'containers-lab-runc', 'runc', 'crun', 'containerd', 'docker', 'unknown'] as const;
export type ContainerMaker = (typeof CONTAINER_MAKERS)[number];

/** One process of a parent chain, as the host sees it. */
export interface HostProcessLink {
  pid: number;
  /** argv[0]'s last path component (not the 15-byte comm: "containerd-shim-runc-v2", not "containerd-shim"). */
  command: string;
}

/** What is mounted at the container's `/`, from its first process's /proc/<pid>/mountinfo. */
export interface HostRootfs {
  fstype: string;
  /** The mount's source: a device, "overlay", "tmpfs". */
  source: string;
  /** The directory of that filesystem mounted as `/` (a bundle's rootfs for a bind mount). */
  root: string;
  /** For overlay: its writable upper directory. */
  upper: string | null;
}

export interface HostContainer {
  /** The container's identity as the kernel sees it: its own namespaces' inodes ("mnt:4026532290 pid:…"). */
  key: string;
  maker: ContainerMaker;
  /** The OCI runtime that realised it when a higher maker drove one (containerd, docker): runc, crun, containers-lab-runc. */
  runtime: string | null;
  /** The maker's id for it (runc/containerd id, the agent's id); the first process's PID for unknown ones. */
  id: string;
  /** The maker's name for it (the agent's name, "namespace/id" under containerd); the command for unknown ones. */
  name: string;
  /** The containerd namespace ("default", "k8s.io", "moby"); null outside containerd. */
  namespace: string | null;
  /** running; created: its first process waits for `start`; paused: frozen by its cgroup's freezer. */
  status: 'created' | 'running' | 'paused';
  /** Its first process: PID 1 of its PID namespace, as the host numbers it. */
  pid: number;
  command: string;
  /** Inode per type of /proc/<pid>/ns/<type> of the first process. */
  namespaces: Partial<Record<NamespaceType, number>>;
  /** The types whose inode is the host's (PID 1's). */
  sharedWithHost: NamespaceType[];
  /** Its cgroup: the v2 path on a pure v2 host, else the memory hierarchy's (v1). */
  cgroup: string | null;
  /** Every line of /proc/<pid>/cgroup, keyed by controllers ("unified" for the v2 line). */
  cgroups: Record<string, string>;
  /** The first process's parents, nearest first, up to the host's PID 1: "containerd-shim-runc-v2", … */
  parents: HostProcessLink[];
  rootfs: HostRootfs | null;
  /** The OCI bundle (config.json's directory) when the maker records it. */
  bundle: string | null;
  /** Where the maker keeps its state for it (a runtime's --root/<id>, the agent's record). */
  stateDir: string | null;
  /** Its processes (those with exactly its namespaces), with PIDs inside and outside. */
  processes: ProcessRecord[];
}

export interface HostContainers {
  takenAt: string;
  /** The host's namespaces (PID 1's; a type PID 1 hides is taken from kthreadd, PID 2). */
  host: Partial<Record<NamespaceType, number>>;
  containers: HostContainer[];
}

export interface HostContainersParams {
  /** OCI runtime --root directories to read besides the defaults (/run/runc, /run/crun, /run/containers-lab-runc). */
  roots?: string[];
}
