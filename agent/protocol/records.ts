/*
 * The container record: everything the agent knows about one container, as the extension,
 * the CLI (`inspect --json`) and the exercises see it. It is the single source for trees and
 * webviews, so each field is read from the kernel when the record is built, not remembered.
 */
import type { OciSpec } from './oci-spec';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export const NAMESPACE_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export type NetworkMode = 'bridge' | 'none' | 'host';

export interface CgroupLimits {
  /** memory.max / memory.limit_in_bytes, bytes; null = unlimited. */
  memoryBytes: number | null;
  /** CPU bandwidth: quota per period in microseconds; null quota = unlimited. */
  cpuQuotaUs: number | null;
  cpuPeriodUs: number;
  /** pids.max; null = unlimited. */
  pids: number | null;
}

export interface CgroupUsage {
  memoryCurrentBytes: number;
  memoryPeakBytes: number;
  cpuUsageNs: number;
  pidsCurrent: number;
  oomKills: number;
  frozen: boolean;
}

export interface CgroupRecord {
  version: 1 | 2;
  /** The cgroup path relative to its hierarchy's root, e.g. /containers-lab/web. */
  path: string;
  /** Absolute directory per controller (v1: one per hierarchy; v2: one entry "unified"). */
  directories: Record<string, string>;
  /** Which file holds which limit, e.g. { memory: "/sys/fs/cgroup/memory/…/memory.limit_in_bytes" }. */
  files: Record<string, string>;
  limits: CgroupLimits;
  usage: CgroupUsage | null;
  /**
   * Per directory, the cgroup at which removal stops: the emptied cgroups between it and the
   * container's go with the container. Absent in older records: the agent's own cgroup.
   */
  floors?: Record<string, string>;
  /**
   * Which device files the container may create and open (config.json's linux.resources.devices),
   * set in container records; absent or null: no device rules, every device is reachable.
   */
  devices?: CgroupDevicesRecord | null;
}

export interface CgroupDevicesRecord {
  /**
   * How the kernel enforces the rules: "devices.list" — cgroup v1's devices controller (its list
   * is files.devices); "ebpf" — a BPF_PROG_TYPE_CGROUP_DEVICE program attached to
   * the container's cgroup v2 directory (directories.unified). A hybrid host uses both.
   */
  mechanisms: ('devices.list' | 'ebpf')[];
  /** The rules in the order applied, in the v1 files' syntax: "deny a", "allow c 1:3 rwm", "allow c 136:* rwm". */
  rules: string[];
  /** What cgroup v1's devices.list says now (files.devices), one line each: "c 1:3 rwm"; absent without v1. */
  list?: string[];
  /** The ids of the BPF_PROG_TYPE_CGROUP_DEVICE programs attached to directories.unified now (BPF_PROG_QUERY); absent without v2. */
  programs?: number[];
}

export interface RootfsRecord {
  lower: string[];
  upper: string;
  work: string;
  merged: string;
}

export interface MountRecord {
  mountId: number;
  parentId: number;
  source: string;
  target: string;
  fstype: string;
  options: string;
  /** Root of the mount within its filesystem (a subdirectory for bind mounts). */
  root: string;
}

export interface NetworkRecord {
  mode: NetworkMode;
  ifname: string | null;
  ip: string | null;
  prefixLength: number | null;
  gateway: string | null;
  mac: string | null;
  vethHost: string | null;
  bridge: string | null;
}

/**
 * A host port forwarded to a port of the container (`run -p 8080:80`, Docker's "published port"):
 * DNAT rules in the agent's own nftables table (agent/runtime/network/ports/) send what arrives at
 * the host's port to the container's address. Written in config.json (annotation lab.containers.ports).
 */
export interface PublishedPort {
  /** The host address it is published on; null: every address of the host (Docker shows 0.0.0.0). */
  hostIp: string | null;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface ProcessRecord {
  /** PID as the host sees it. */
  pid: number;
  /** PID inside the container's PID namespace (NSpid's last field). */
  nspid: number;
  ppid: number;
  command: string;
  state: string;
}

export interface ContainerRecord {
  id: string;
  name: string;
  status: ContainerStatus;
  pid: number | null;
  exitCode: number | null;
  oomKilled: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  image: string;
  /**
   * The pulled or imported image it was made from (config.json's lab.containers.image-* annotations):
   * its name, the digest the name resolved to and the image ID; null for the built-in busybox.
   */
  imageRef?: ImageRef | null;
  /** The ports the image declares (its config's ExposedPorts: "80/tcp"); recorded, not published. */
  exposedPorts?: string[];
  hostname: string | null;
  config: OciSpec;
  /** Namespace inode per type as the kernel reports it (/proc/<pid>/ns/<type>). */
  namespaces: Partial<Record<NamespaceType, number>>;
  /** Types that this container shares with the host instead of owning. */
  sharedWithHost: NamespaceType[];
  cgroup: CgroupRecord | null;
  /** Null when the container shares the host's mount namespace (and so its root). */
  rootfs: RootfsRecord | null;
  mounts: MountRecord[];
  network: NetworkRecord;
  /** The ports published for it (config.json's lab.containers.ports); its rules exist while it is created or running. */
  ports: PublishedPort[];
  processes: ProcessRecord[];
  logPath: string;
  /** The pod this container belongs to (it shares the pod's net, ipc and uts namespaces); null outside pods. */
  pod: { name: string; sandbox: boolean } | null;
  /** The init step run before the main process, and how it ended (null exit code: not run yet). */
  init: { args: string[]; exitCode: number | null } | null;
  /** What the first process may do, read from /proc/<pid>/status; null when it is not running. */
  security: SecurityRecord | null;
}

export interface SecurityRecord {
  uid: number;
  gid: number;
  /** Capability names (CAP_…) in the effective, bounding and ambient sets. */
  capabilities: { effective: string[]; bounding: string[]; ambient: string[] };
  noNewPrivileges: boolean;
  seccomp: 'disabled' | 'strict' | 'filter';
  /**
   * The profile config.json gives it: the runtime's default, one of the user's own, or none. Null
   * when the document names a profile but the kernel shows no filter on the process.
   */
  seccompProfile: SeccompProfileName | null;
  /** Whether it runs with a session keyring of its own (`_ses.<container id>` in /proc/keys), not the host's. */
  sessionKeyring: boolean;
  readOnlyRoot: boolean;
}

/** Kubernetes' seccompProfile types RuntimeDefault, Localhost and Unconfined. */
export type SeccompProfileName = 'default' | 'custom' | 'unconfined';

/** Which image a container was made from. */
export interface ImageRef {
  /** Its name as `ps` shows it: `alpine:3.20`, `127.0.0.1:5000/lab/app:1`. */
  name: string;
  /** What that name resolved to (index or manifest digest). */
  digest: string;
  /** The config's digest (the image ID). */
  id: string;
}

/** One image layer a path's answer names: its place in the stack and what built it. */
export interface PathLayerImageLayer {
  /** Index into rootfs.lower (0 is the top layer, as overlayfs's lowerdir lists them). */
  lowerIndex: number;
  /** 1 is the base layer, as `image inspect` numbers them (the manifest's order). */
  number: number;
  directory: string;
  /** The uncompressed tar's digest (names the directory); null for the built-in busybox. */
  diffId: string | null;
  /** The blob's digest, as the manifest lists it; null when not known (busybox, or the image's blobs were pruned). */
  digest: string | null;
  /** The build step that made the layer (history's created_by); null when the image does not say. */
  createdBy: string | null;
}

/** Where a path in a container's root comes from (container.pathLayer), read off the overlay's directories. */
export interface PathLayer {
  path: string;
  /** upper: this container wrote it; lower: still the image's; deleted: a whiteout hides the image's copy. */
  layer: 'upper' | 'lower' | 'deleted' | 'absent';
  /** Set for layer "upper": a file the image also has, so a write copied it up. */
  copiedUp?: boolean;
  /** Which lower directory (index into rootfs.lower) for layer "lower". */
  lowerIndex?: number;
  inLower: boolean;
  size: number | null;
  upperPath: string;
  lowerPath: string | null;
  /** What it is in the layer that shows it (or showed it, before the deletion). */
  type?: 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket' | null;
  /** For layer "lower": the image layer it comes from. */
  imageLayer?: PathLayerImageLayer;
  /** For a directory: every layer merged into it, top first ("upper" or an image layer). */
  mergedFrom?: ('upper' | PathLayerImageLayer)[];
  /**
   * For layer "deleted": what hides it — a whiteout (an image's `.wh.NAME`, or the container's rm)
   * or an opaque directory (`.wh..wh..opq`), in the upper dir or an image layer, at the path or an ancestor.
   */
  deletedBy?: { kind: 'whiteout' | 'opaque-directory'; path: string; layer: 'upper' | PathLayerImageLayer };
  /** Copies of the path in image layers that the merged view does not show, top first, with what hides each. */
  hiddenCopies?: { layer: PathLayerImageLayer; hiddenBy: 'whiteout' | 'opaque-directory' | 'covered'; byLayer: 'upper' | PathLayerImageLayer; path: string }[];
}
