/*
 * The OCI runtime-spec 1.1 `config.json`, as TypeScript types: the parts Containers Lab reads
 * and writes (the full schema is in agent/oci/schema and is what documents are validated against).
 */

export interface OciSpec {
  ociVersion: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: OciMount[];
  annotations?: Record<string, string>;
  /** Programs the runtime runs at points of the lifecycle (agent/runtime/hooks.ts). */
  hooks?: OciHooks;
  linux?: OciLinux;
}

/** One hook: like execv(3)'s path and argv, an environment, and seconds before it is killed. */
export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciHooks {
  /** Deprecated in favour of the next three, still run (after createRuntime's place, before it). */
  prestart?: OciHook[];
  createRuntime?: OciHook[];
  createContainer?: OciHook[];
  startContainer?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
}

export interface OciProcess {
  /** The process gets a pseudo-terminal as stdin, stdout and stderr (agent/runtime/process/main-terminal.ts). */
  terminal?: boolean;
  /** That terminal's size in characters (TIOCSWINSZ); only with `terminal`. */
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: {
    bounding?: string[];
    effective?: string[];
    inheritable?: string[];
    permitted?: string[];
    ambient?: string[];
  };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  /** sched_setattr(2): a policy such as SCHED_BATCH, its nice value or real-time priority, flags. */
  scheduler?: {
    policy: string; nice?: number; priority?: number; flags?: string[]; runtime?: number; deadline?: number; period?: number;
  };
  /** ioprio_set(2): a class (IOPRIO_CLASS_RT, _BE, _IDLE) and a priority 0 (highest) … 7. */
  ioPriority?: { class: string; priority?: number };
}

export interface OciMount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface OciNamespace {
  type: OciNamespaceType;
  /** Join an existing namespace (a /proc/<pid>/ns/<type> path) instead of creating one. */
  path?: string;
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/**
 * One rule of the device cgroup's allowed list, applied in order: type a (all, the default), c
 * (char) or b (block); major/minor left out mean "any"; access is a composition of r, w, m (mknod).
 */
export interface OciDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/**
 * A device file the container gets in its /dev (linux.devices): type c/u (character), b (block)
 * or p (FIFO), the device number major:minor, its permission bits and owner (ids inside).
 */
export interface OciLinuxDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciLinuxResources {
  memory?: {
    limit?: number; reservation?: number; swap?: number; kernel?: number; kernelTCP?: number; swappiness?: number;
    disableOOMKiller?: boolean; useHierarchy?: boolean; checkBeforeUpdate?: boolean;
  };
  cpu?: {
    shares?: number; quota?: number; burst?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number;
    cpus?: string; mems?: string; idle?: number;
  };
  pids?: { limit: number };
  hugepageLimits?: { pageSize: string; limit: number }[];
  /** cgroup v2 files written as they are: { "memory.high": "50000000" }. */
  unified?: Record<string, string>;
  devices?: OciDeviceCgroup[];
}

export interface OciLinux {
  namespaces?: OciNamespace[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  resources?: OciLinuxResources;
  devices?: OciLinuxDevice[];
  cgroupsPath?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
  rootfsPropagation?: string;
  /** An SELinux context for the container's mounts (ignored where SELinux is off, see agent/oci/supported-fields.ts). */
  mountLabel?: string;
  /** personality(2): the execution domain LINUX or LINUX32 (`uname -m` says i686 on x86-64). */
  personality?: { domain: string; flags?: string[] };
}

/**
 * A seccomp profile: for each system call the process makes, the kernel runs a small filter that
 * decides allow / fail with an errno / kill. Names are per-architecture syscall names.
 */
export interface OciSeccomp {
  defaultAction: OciSeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: { names: string[]; action: OciSeccompAction; errnoRet?: number; args?: OciSeccompArg[] }[];
}

export type OciSeccompAction =
  | 'SCMP_ACT_KILL' | 'SCMP_ACT_KILL_PROCESS' | 'SCMP_ACT_KILL_THREAD' | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_TRACE' | 'SCMP_ACT_ALLOW' | 'SCMP_ACT_LOG' | 'SCMP_ACT_NOTIFY';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
}
