/*
 * JSON-RPC methods and notifications the agent serves. Requests map one-to-one onto the CLI
 * verbs; notifications tell every connected client what changed so views never poll the world.
 */
import type { ContainerRecord, ContainerStatus, NamespaceType, NetworkMode, PathLayer, PublishedPort } from './records';
import type { LabMethods, LabNotifications } from './labs';
import type { ImageMethods, ImageNotifications } from './images';
import type { NodeMethods, NodeNotifications } from './nodes';
import type { PodMethods, PodNotifications } from './pods';
import type { FileMethods } from './files';
import type { OciSeccomp, OciSpec } from './oci-spec';
import type { HostContainers, HostContainersParams } from './host-containers';

export interface RunOptions {
  name?: string;
  hostname?: string;
  /**
   * `busybox` (the default) is the built-in offline image; any other word names a pulled or
   * imported image by reference (`alpine`, `host:5000/app:1`, `app@sha256:…`) or image ID prefix.
   */
  image?: string;
  /**
   * Replaces the image's Entrypoint (Docker's --entrypoint); the image's Cmd is then dropped too,
   * so `args` is the whole rest. An empty list: no entrypoint at all. Images only.
   */
  entrypoint?: string[];
  /** Command and arguments; default: `sh` with `tty`, else an idle shell (a `sleep` loop that ends on SIGTERM). */
  args?: string[];
  /**
   * Give the main process a terminal (config.json process.terminal) as its stdin, stdout and stderr,
   * held open by the agent and copied into the container's log — `docker run -dit`.
   */
  tty?: boolean;
  env?: string[];
  /** Memory limit: bytes or a size such as "128Mi", "64m" (Docker: 64 MiB) or "500M" (agent/protocol/quantity.ts). */
  memory?: string | number;
  /** CPU quota in CPUs (0.5) or Kubernetes millicores ("500m"). */
  cpus?: number | string;
  pids?: number;
  net?: NetworkMode;
  /** Namespaces to create; default all seven (user only with `userns`). */
  namespaces?: NamespaceType[];
  userns?: boolean;
  /** Bridge options for net=bridge. */
  bridge?: string;
  subnet?: string;
  /**
   * Publish ports, in Docker's syntax (`-p`): "8080:80", "127.0.0.1:8080:80", "5353:53/udp" —
   * host port → container port, optionally on one host address only; tcp unless /udp.
   */
  ports?: string[];
  /** A full OCI config.json to realise instead of one built from the options above. */
  config?: OciSpec;
  /** Create only (status "created"); the default runs the process at once. */
  createOnly?: boolean;
  /** Run the process as this user: a uid, or "uid:gid" (Kubernetes: securityContext.runAsUser/runAsGroup). */
  user?: string | number;
  /** Mount the root filesystem read-only (securityContext.readOnlyRootFilesystem). */
  readOnlyRoot?: boolean;
  /** Capabilities added to / dropped from the default set, e.g. "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL" means every one. */
  capAdd?: string[];
  capDrop?: string[];
  /**
   * A seccomp profile (OCI linux.seccomp) instead of the default one (Docker's, computed from the
   * capabilities: agent/oci/default-seccomp.ts), or "unconfined" for none at all.
   */
  seccomp?: OciSeccomp | 'unconfined';
  /** Set no_new_privs: execve can never gain privileges (setuid bits, file capabilities). */
  noNewPrivileges?: boolean;
  /**
   * Device cgroup rules added to the default ones, in Docker's syntax (`--device-cgroup-rule`):
   * "c 10:200 rwm" lets the container create, read and write the tun device; "a *:* rwm" every device.
   */
  deviceCgroupRules?: string[];
  /**
   * Stay in the caller's (the agent's, i.e. host root's) session keyring instead of a new one of the
   * container's own (runc's --no-new-keyring). Written down as config.json annotation lab.containers.session-keyring: host.
   */
  noNewKeyring?: boolean;
  /**
   * Docker's --privileged: every capability the agent holds, no seccomp filter, every device, no
   * masked or read-only /proc paths, /sys writable. The session keyring stays the container's own.
   */
  privileged?: boolean;
  /**
   * Join a pod: every container of one pod shares the network, IPC and UTS namespaces held by the
   * pod's sandbox (a small "pause" container made with the first member) and the pod's emptyDir volumes.
   */
  pod?: string;
  volumes?: VolumeMount[];
  /** A command run to completion inside the container before its main process starts (an init step). */
  init?: string[];
}

/** A volume mounted into a container: a host directory (hostPath) or the pod's scratch directory (emptyDir). */
export interface VolumeMount {
  /** emptyDir volumes with the same name are the same directory for every container of a pod. */
  name: string;
  mountPath: string;
  readOnly?: boolean;
  /** Bind this host directory (Kubernetes hostPath); otherwise an emptyDir. */
  hostPath?: string;
}

export interface ContainerSummary {
  id: string;
  name: string;
  status: ContainerStatus;
  pid: number | null;
  ip: string | null;
  /** Its published ports (`ps` shows them while it is not stopped, as docker ps does); absent from an agent older than `run -p`. */
  ports?: PublishedPort[];
  image: string;
  command: string;
  createdAt: string;
  exitCode: number | null;
}

export interface AgentInfo {
  version: string;
  kernel: string;
  arch: string;
  hostname: string;
  cgroupVersion: 1 | 2 | 'hybrid';
  stateRoot: string;
  image: { name: 'busybox'; path: string; ready: boolean };
}

export interface HostProcess {
  pid: number;
  ppid: number;
  uid: number;
  command: string;
  /** Namespace inode per type. */
  namespaces: Partial<Record<NamespaceType, number>>;
  /** cgroup path per hierarchy ("0::/…" style lines from /proc/<pid>/cgroup, keyed by controllers). */
  cgroups: Record<string, string>;
}

export interface HostNamespace {
  inode: number;
  type: NamespaceType;
  processes: number;
  /** Lowest PID in it, and its command, as lsns shows. */
  pid: number;
  command: string;
  /** Set when the namespace belongs to a Containers Lab container. */
  container?: string;
}

export interface LinkRecord {
  ifindex: number;
  name: string;
  /** rtnetlink kind: "veth", "bridge", "loopback" (no kind), … */
  kind: string;
  mac: string | null;
  mtu: number;
  up: boolean;
  /** Inode of the network namespace the link lives in. */
  netns: number;
  addresses: string[];
  master: string | null;
  /** For veth: the peer's ifindex and the namespace inode it lives in. */
  peer: { ifindex: number; netns: number | null; name?: string } | null;
  container?: string;
}

export interface HostSnapshot {
  takenAt: string;
  processes: HostProcess[];
  namespaces: HostNamespace[];
  links: LinkRecord[];
}

export interface ExecOptions {
  id: string;
  args: string[];
  tty?: boolean;
  cols?: number;
  rows?: number;
  env?: string[];
  cwd?: string;
  /** Keep root's full power (no capability drop, no seccomp): for lab setup steps, not for learners' shells. */
  privileged?: boolean;
}

/** Request method → [params, result]: the container methods here, the labs' in ./labs.ts. */
export interface AgentMethods extends LabMethods, ImageMethods, NodeMethods, PodMethods, FileMethods {
  'agent.info': [Record<string, never>, AgentInfo];
  'container.run': [RunOptions, ContainerRecord];
  'container.start': [{ id: string }, ContainerRecord];
  'container.list': [Record<string, never>, ContainerSummary[]];
  'container.inspect': [{ id: string }, ContainerRecord];
  'container.stop': [{ id: string; timeoutSeconds?: number }, ContainerRecord];
  'container.pause': [{ id: string }, ContainerRecord];
  'container.resume': [{ id: string }, ContainerRecord];
  'container.remove': [{ id: string; force?: boolean }, { id: string }];
  'container.logs': [{ id: string; follow?: boolean }, { data: string }];
  'container.pathLayer': [{ id: string; path: string }, PathLayer];
  'exec.start': [ExecOptions, { session: string; pid: number }];
  'exec.input': [{ session: string; data: string }, Record<string, never>];
  'exec.resize': [{ session: string; cols: number; rows: number }, Record<string, never>];
  'exec.close': [{ session: string }, Record<string, never>];
  'host.snapshot': [Record<string, never>, HostSnapshot];
  /** Every container on the host, whoever made it (agent/inspect/host/). */
  'host.containers': [HostContainersParams, HostContainers];
}

/** Notification method → params. Binary data travels base64-encoded. */
export interface AgentNotifications extends LabNotifications, ImageNotifications, NodeNotifications, PodNotifications {
  'container.changed': { id: string; status: ContainerStatus; summary: ContainerSummary };
  'container.removed': { id: string; name: string };
  'container.log': { id: string; data: string };
  'exec.output': { session: string; stream: 'stdout' | 'stderr'; data: string };
  'exec.exit': { session: string; code: number };
  'link.changed': { event: 'added' | 'removed' | 'changed'; link: LinkRecord };
}

export type AgentMethod = keyof AgentMethods;
export type AgentNotification = keyof AgentNotifications;

/** JSON-RPC error codes: the standard ones plus the agent's own. */
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  NotFound: 1,
  Conflict: 2,
  BadInput: 3,
  KernelError: 4,
} as const;
