/*
 * From `containers-lab run` options to an OCI runtime-spec 1.1 config.json.
 *
 * `docker run --memory 64m busybox` and `runc run` differ in one step: docker first writes a
 * config.json, the document that says exactly which namespaces to create, which filesystems to
 * mount where, which cgroup limits to set and which process to start. This module is that step
 * for Containers Lab. Every container is described by such a document and the runtime realises
 * only what the document says, so the manifest a learner reads is the whole truth.
 *
 * Two vocabularies meet here. Our protocol (and /proc/<pid>/ns/) names namespaces
 * cgroup, ipc, mnt, net, pid, user, uts; the OCI spec calls two of them "mount" and "network".
 * The mapping helpers below translate both ways.
 *
 * Bad input is refused here, before anything exists in the kernel, with one line naming the
 * problem: nothing can be half-created by a typo.
 */
import os from 'node:os';
import { badInput, quote } from '../errors';
import type {
  CgroupLimits,
  NamespaceType,
  NetworkMode,
  OciIdMapping,
  OciMount,
  OciNamespaceType,
  OciSpec,
  RunOptions,
} from '../protocol';
import { ANNOTATIONS, NAMESPACE_TYPES } from '../protocol';
import { validateConfig } from './validate';
import { parseCpuQuantity, parseMemoryQuantity } from '../protocol/quantity';
import { ALL_DEVICES, securityFromRunOptions } from './security-options';
import { formatDeviceCgroupRule } from './device-cgroup-rule';
import { volumeMounts, type EmptyDirLocator } from './volume-options';
import { DEFAULT_CPU_PERIOD_US, MAX_PIDS, MIN_CPU_QUOTA_US, MIN_MEMORY_BYTES } from '../runtime/cgroups/limits';
import { defaultDeviceRules } from '../runtime/cgroups/device-rules';
import { LEARNER_DEFAULT_BRIDGE, type DefaultBridge } from '../runtime/network/default-bridge';
import { parsePublishSpecs, portsAnnotation } from '../runtime/network/ports/publish-syntax';

export const OCI_VERSION = '1.1.0';

/** Annotation keys carrying what the OCI spec has no field for (the protocol's: the views read them too). */
export { ANNOTATIONS };

/** The namespaces a pod's containers share (Kubernetes: network, IPC and the hostname). */
export const POD_SHARED_NAMESPACES = ['net', 'ipc', 'uts'] as const;

/* Without a terminal and with no command (`run -d busybox`), an idle process keeps the container
 * running. PID 1 of a PID namespace ignores signals it has no handler for, so a plain `sleep` would shrug
 * off SIGTERM and every stop would wait for SIGKILL. The shell traps TERM/INT, kills its sleeper
 * (which would otherwise outlive it when the container shares the host's PID namespace) and exits. */
export const IDLE_PROCESS = ['sh', '-c', "trap 'kill $! 2>/dev/null; exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

/* With a terminal (`tty`) and no command: the image's own default, a plain interactive shell, as
 * `docker run -dit busybox` starts. It waits on its terminal, which the agent keeps open
 * (../runtime/process/main-terminal.ts), so PID 1 is a program a learner recognises. */
export const TERMINAL_DEFAULT_COMMAND = ['sh'];

export const DEFAULT_ENV = ['PATH=/bin:/sbin:/usr/bin:/usr/sbin', 'HOME=/root', 'TERM=xterm'];

/** Container root maps to this unprivileged host range unless the caller picks another. */
export const DEFAULT_USERNS = { hostId: 100000, size: 65536 } as const;

/** CFS bandwidth period; a quota of `cpus × period` microseconds per period gives `cpus` CPUs. */
export const CPU_PERIOD_US = DEFAULT_CPU_PERIOD_US;

/* What runc masks (bind-mounts /dev/null or an empty tmpfs over) and mounts read-only by default:
 * kernel interfaces that leak host information or let root inside reconfigure the host. */
export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const TO_OCI: Record<NamespaceType, OciNamespaceType> = {
  cgroup: 'cgroup',
  ipc: 'ipc',
  mnt: 'mount',
  net: 'network',
  pid: 'pid',
  user: 'user',
  uts: 'uts',
};

/** Our (and /proc/<pid>/ns/'s) name for a namespace → the OCI spec's. */
export function toOciNamespace(type: NamespaceType): OciNamespaceType {
  return TO_OCI[type];
}

/** The OCI spec's name → ours; null for "time", which Containers Lab does not show. */
export function fromOciNamespace(type: OciNamespaceType): NamespaceType | null {
  for (const ours of NAMESPACE_TYPES) if (TO_OCI[ours] === type) return ours;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Checks on single values

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const HOSTNAME_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

export function validateName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw badInput(`invalid name ${quote(name)}: use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
  return name;
}

export function validateHostname(hostname: unknown): string {
  const ok =
    typeof hostname === 'string' &&
    hostname.length >= 1 &&
    hostname.length <= 63 &&
    hostname.split('.').every((label) => HOSTNAME_LABEL.test(label));
  if (!ok) {
    throw badInput(`invalid hostname ${quote(hostname)}: use up to 63 letters, digits, '-' and '.' (RFC 1123)`);
  }
  return hostname as string;
}

function validateNamespaceName(name: unknown): NamespaceType {
  if (typeof name === 'string' && (NAMESPACE_TYPES as readonly string[]).includes(name)) return name as NamespaceType;
  throw badInput(`unknown namespace ${quote(name)}: choose from ${NAMESPACE_TYPES.join(', ')}`);
}

/**
 * A size → bytes, by the rules of ./quantity.ts: "128Mi", "64m" (Docker, = 64Mi), "1.5Gi",
 * "500M" (1000-based), "129e6", "4096" or a byte count. Kept under this name for its callers.
 */
export function parseSize(text: string | number): number {
  return parseMemoryQuantity(text, 'size');
}

/** Bytes → the shortest exact-ish human form used in messages ("64m", "23.5g"). */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['t', 1024 ** 4], ['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))}${unit}`;
  }
  return `${bytes}`;
}

function memoryLimit(value: string | number): number {
  const bytes = parseMemoryQuantity(value);
  if (bytes < MIN_MEMORY_BYTES) {
    throw badInput(`memory limit ${quote(value)} is too small: a container needs at least 4m`);
  }
  const hostBytes = os.totalmem();
  if (bytes > hostBytes) {
    throw badInput(`memory limit ${quote(value)} exceeds this host's memory (${formatSize(hostBytes)})`);
  }
  return bytes;
}

function cpuQuota(value: string | number): number {
  const cpus = parseCpuQuantity(value);
  const hostCpus = os.availableParallelism();
  if (cpus > hostCpus) {
    throw badInput(`cpus ${quote(value)} exceeds this host's ${hostCpus} CPU${hostCpus === 1 ? '' : 's'}`);
  }
  const quota = Math.round(cpus * CPU_PERIOD_US);
  if (quota < MIN_CPU_QUOTA_US) {
    throw badInput(`cpus ${quote(value)} is too small: at least ${MIN_CPU_QUOTA_US / CPU_PERIOD_US} (${(MIN_CPU_QUOTA_US / CPU_PERIOD_US) * 1000}m)`);
  }
  return quota;
}

function pidsLimit(value: unknown): number {
  const pids = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof pids !== 'number' || !Number.isInteger(pids) || pids < 1 || pids > MAX_PIDS) {
    throw badInput(`invalid pids limit ${quote(value)}: use a whole number from 1 to ${MAX_PIDS}`);
  }
  return pids;
}

function validateBridgeName(name: unknown): string {
  // IFNAMSIZ is 16 including the terminating NUL; '/' and whitespace are refused by the kernel.
  if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(name)) {
    throw badInput(`invalid bridge name ${quote(name)}: use 1-15 letters, digits, '_', '.' or '-'`);
  }
  return name;
}

function validateSubnet(subnet: unknown): string {
  const match = typeof subnet === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(subnet) : null;
  const octetsOk = match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255);
  const prefix = match ? Number(match[5]) : -1;
  if (!match || !octetsOk || prefix < 8 || prefix > 30) {
    throw badInput(`invalid subnet ${quote(subnet)}: use an IPv4 CIDR with a prefix from /8 to /30, e.g. 10.88.0.0/16`);
  }
  return subnet as string;
}

function validateArgs(args: unknown): string[] {
  if (!Array.isArray(args) || args.length === 0 || !args.every((arg) => typeof arg === 'string') || args[0] === '') {
    throw badInput('invalid command: give a program and its arguments, e.g. -- sh -c "echo hi"');
  }
  return args as string[];
}

/** Appends caller env to the defaults; a caller's KEY=… replaces the default KEY. */
function mergeEnv(extra: unknown): string[] {
  if (extra === undefined) return [...DEFAULT_ENV];
  if (!Array.isArray(extra)) throw badInput('invalid env: give a list of KEY=VALUE strings');
  const byKey = new Map(DEFAULT_ENV.map((entry) => [entry.slice(0, entry.indexOf('=')), entry]));
  for (const entry of extra) {
    if (typeof entry !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*=/.test(entry)) {
      throw badInput(`invalid env entry ${quote(entry)}: use KEY=VALUE`);
    }
    byKey.set(entry.slice(0, entry.indexOf('=')), entry);
  }
  return [...byKey.values()];
}

// ---------------------------------------------------------------------------------------------
// Namespaces and network mode

function chooseNamespaces(options: RunOptions): { namespaces: Set<NamespaceType>; network: NetworkMode } {
  const explicit = options.namespaces !== undefined;
  if (explicit && !Array.isArray(options.namespaces)) throw badInput('invalid namespaces: give a list such as pid,net,mnt');
  const requested = explicit
    ? new Set((options.namespaces as unknown[]).map(validateNamespaceName))
    : new Set(NAMESPACE_TYPES.filter((type) => type !== 'user'));
  if (options.userns) requested.add('user');

  const network = options.net ?? (explicit && !requested.has('net') ? 'host' : 'bridge');
  if (network !== 'bridge' && network !== 'none' && network !== 'host') {
    throw badInput(`unknown network mode ${quote(network)}: choose from bridge, none, host`);
  }
  if (network === 'host') {
    if (explicit && requested.has('net')) throw badInput('--net host shares the host network: leave "net" out of the namespace list');
    requested.delete('net');
  } else if (!requested.has('net')) {
    throw badInput(`network mode "${network}" needs a net namespace: add "net" to the namespace list or use --net host`);
  }
  return { namespaces: requested, network };
}

// ---------------------------------------------------------------------------------------------
// Mounts

/* Which mounts a fresh container gets, in order (later ones land inside earlier ones). Inside a
 * user namespace the kernel only lets "root" mount proc, sysfs and mqueue for namespaces that user
 * namespace owns; where the container shares the host's, the host's view is bind-mounted instead. */
function defaultMounts(namespaces: Set<NamespaceType>, privileged: boolean): OciMount[] {
  const userns = namespaces.has('user');
  const proc: OciMount =
    userns && !namespaces.has('pid')
      ? { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind', 'nosuid', 'noexec', 'nodev'] }
      : { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] };
  const sys: OciMount =
    userns && !namespaces.has('net')
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...(privileged ? [] : ['ro'])] };
  const mounts: OciMount[] = [
    proc,
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  if (namespaces.has('ipc')) {
    mounts.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  }
  mounts.push(sys, { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
  return mounts;
}

// ---------------------------------------------------------------------------------------------
// The document

export interface ConfigDefaults {
  /** Path of the container's root filesystem (the overlay's merged directory). */
  rootfs: string;
  /** Name to use when the options carry none (e.g. a generated one). */
  name?: string;
  /** Host range that container uid/gid 0… maps to when a user namespace is requested. */
  userns?: { hostId: number; size: number };
  /** The runtime's network for bridged containers that name none (default: cl0, 10.77.0.0/24). */
  bridge?: DefaultBridge;
  /** The subnet a bridge already serves, if the runtime knows it: `--bridge X` alone joins X as it is (like `docker run --network X`). */
  subnetOf?: (bridge: string) => string | null;
  /** Where emptyDir volumes live (the runtime decides: the pod's directory, or the container's). */
  emptyDir?: EmptyDirLocator;
  /** Set when making a pod's sandbox: the pod's name. */
  sandboxOfPod?: string;
  /** For a pod member: the pod's sandbox, whose net/ipc/uts namespaces it joins. */
  pod?: { name: string; sandboxPid: number; network: NetworkMode };
}

/**
 * Builds the complete config.json for a busybox container. With `options.config` the caller's
 * own document is validated against the OCI schema and returned as is.
 */
export function configFromRunOptions(options: RunOptions, defaults: ConfigDefaults): OciSpec {
  if (options.config !== undefined) return validateConfig(structuredClone(options.config));

  const image = options.image ?? 'busybox';
  if (image !== 'busybox') throw badInput(`unknown image ${quote(image)}: only busybox is available`);
  const name = options.name ?? defaults.name;
  if (name !== undefined) validateName(name);
  const pod = defaults.pod;
  const { namespaces, network } = pod ? podNamespaces(options, pod.network) : chooseNamespaces(options);
  const security = securityFromRunOptions(options);

  let hostname: string | undefined;
  if (pod) {
    if (options.hostname !== undefined) throw badInput(`the containers of pod "${pod.name}" share its hostname (${pod.name}): leave --hostname out`);
  } else if (options.hostname !== undefined) {
    hostname = validateHostname(options.hostname);
    if (!namespaces.has('uts')) throw badInput(`hostname "${hostname}" needs a uts namespace: add "uts" to the namespace list`);
  } else if (namespaces.has('uts')) {
    hostname = name !== undefined && isHostname(name) ? name : 'busybox';
  }

  // Docker's device rules (deny all, then null, zero, ttys…) and any --device-cgroup-rule after them;
  // --privileged: every device. A learner's own config.json may say anything else.
  const devices = security.privileged ? [{ ...ALL_DEVICES }] : [...defaultDeviceRules(), ...security.extraDeviceRules];
  const resources: NonNullable<NonNullable<OciSpec['linux']>['resources']> = { devices };
  if (options.memory !== undefined) resources.memory = { limit: memoryLimit(options.memory) };
  if (options.cpus !== undefined) resources.cpu = { quota: cpuQuota(options.cpus), period: CPU_PERIOD_US };
  if (options.pids !== undefined) resources.pids = { limit: pidsLimit(options.pids) };

  const annotations: Record<string, string> = {
    [ANNOTATIONS.image]: image, [ANNOTATIONS.network]: network, [ANNOTATIONS.seccomp]: security.seccompProfile,
  };
  if (name !== undefined) annotations[ANNOTATIONS.name] = name;
  // Always written, so the document itself says whose keyring the processes join.
  annotations[ANNOTATIONS.sessionKeyring] = security.sessionKeyring;
  if (security.privileged) annotations[ANNOTATIONS.privileged] = 'true';
  if (security.extraDeviceRules.length) annotations[ANNOTATIONS.deviceCgroupRules] = JSON.stringify(security.extraDeviceRules.map(formatDeviceCgroupRule));
  if (pod) annotations[ANNOTATIONS.pod] = pod.name;
  if (defaults.sandboxOfPod !== undefined) {
    annotations[ANNOTATIONS.pod] = defaults.sandboxOfPod;
    annotations[ANNOTATIONS.podSandbox] = 'true';
  }
  if (options.init !== undefined) annotations[ANNOTATIONS.init] = JSON.stringify(validateArgs(options.init));
  if (pod) {
    if (options.bridge !== undefined || options.subnet !== undefined) throw badInput(`pod "${pod.name}" has its network already: leave --bridge and --subnet out`);
  } else if (network === 'bridge') {
    // Both are written down, so the document alone says which network the container is on.
    const fallback = defaults.bridge ?? LEARNER_DEFAULT_BRIDGE;
    const bridge = options.bridge !== undefined ? validateBridgeName(options.bridge) : fallback.name;
    annotations[ANNOTATIONS.bridge] = bridge;
    annotations[ANNOTATIONS.subnet] = options.subnet !== undefined ? validateSubnet(options.subnet) : (defaults.subnetOf?.(bridge) ?? fallback.subnet);
  } else if (options.bridge !== undefined || options.subnet !== undefined) {
    throw badInput(`--bridge and --subnet apply to --net bridge, not --net ${network}`);
  }
  // -p: DNAT to the container's bridge address (../runtime/network/ports/), so only a bridged container of its own network.
  const ports = parsePublishSpecs(options.ports);
  if (ports.length && pod) throw badInput(`pod "${pod.name}" shares its sandbox's network: -p is not supported for pod members`);
  if (ports.length && network !== 'bridge') throw badInput(`-p publishes a port of a bridged container: --net ${network} has no address of its own to forward to`);
  const portsValue = portsAnnotation(ports);
  if (portsValue !== undefined) annotations[ANNOTATIONS.ports] = portsValue;

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: options.tty === true,
      user: security.user,
      args: options.args !== undefined ? validateArgs(options.args) : options.tty === true ? [...TERMINAL_DEFAULT_COMMAND] : [...IDLE_PROCESS],
      env: mergeEnv(options.env),
      cwd: '/',
      capabilities: security.capabilities,
      ...(security.noNewPrivileges ? { noNewPrivileges: true } : {}),
    },
    root: { path: defaults.rootfs, readonly: security.readOnlyRoot },
    ...(hostname !== undefined ? { hostname } : {}),
    mounts: [...defaultMounts(namespaces, security.privileged), ...volumeMounts(options, defaults.emptyDir ?? noEmptyDir)],
    annotations,
    linux: {
      // Listed in NAMESPACE_TYPES order so documents are stable and diffable.
      namespaces: NAMESPACE_TYPES.filter((type) => namespaces.has(type)).map((type) => {
        const joined = pod && (POD_SHARED_NAMESPACES as readonly NamespaceType[]).includes(type);
        return joined ? { type: toOciNamespace(type), path: `/proc/${pod.sandboxPid}/ns/${type}` } : { type: toOciNamespace(type) };
      }),
      resources,
      // Docker's --privileged masks nothing: /proc/keys, /proc/kcore… are the host's to read.
      ...(security.privileged ? {} : { maskedPaths: [...DEFAULT_MASKED_PATHS], readonlyPaths: [...DEFAULT_READONLY_PATHS] }),
      ...(security.seccomp ? { seccomp: security.seccomp } : {}),
    },
  };
  if (namespaces.has('user')) {
    const range = defaults.userns ?? DEFAULT_USERNS;
    const mapping: OciIdMapping[] = [{ containerID: 0, hostID: range.hostId, size: range.size }];
    spec.linux!.uidMappings = mapping;
    spec.linux!.gidMappings = mapping.map((entry) => ({ ...entry }));
  }
  return spec;
}

const noEmptyDir: EmptyDirLocator = (name) => {
  throw badInput(`volume ${name} needs a hostPath here (emptyDir volumes are made by the agent)`);
};

/** A pod member creates pid, mnt and cgroup namespaces of its own and joins the pod's net, ipc and uts. */
function podNamespaces(options: RunOptions, network: NetworkMode): { namespaces: Set<NamespaceType>; network: NetworkMode } {
  if (options.net !== undefined || options.namespaces !== undefined || options.userns) {
    throw badInput('a pod member shares the pod\'s namespaces: leave --net, --namespaces and --userns out');
  }
  const namespaces = new Set<NamespaceType>(['cgroup', 'ipc', 'mnt', 'pid', 'uts']);
  if (network !== 'host') namespaces.add('net');
  return { namespaces, network };
}

export function isHostname(text: string): boolean {
  return text.length <= 63 && text.split('.').every((label) => HOSTNAME_LABEL.test(label));
}

// ---------------------------------------------------------------------------------------------
// Reading a document back

/** The namespace types the container has its own of (created, or joined by path); "time" is left out. */
export function namespacesFromConfig(spec: OciSpec): NamespaceType[] {
  const types = new Set<NamespaceType>();
  for (const entry of spec.linux?.namespaces ?? []) {
    const ours = fromOciNamespace(entry.type);
    if (ours) types.add(ours);
  }
  return NAMESPACE_TYPES.filter((type) => types.has(type));
}

/**
 * Namespaces the document joins (a path) rather than creates: net, ipc, uts, pid and mnt. A joined
 * mount namespace gets the container's root and mounts as runc gives them: its other processes
 * are pivoted into the container's root with it.
 */
export function joinedNamespacesFromConfig(spec: OciSpec): { type: NamespaceType; path: string }[] {
  const joined: { type: NamespaceType; path: string }[] = [];
  for (const entry of spec.linux?.namespaces ?? []) {
    if (entry.path === undefined) continue;
    const type = fromOciNamespace(entry.type);
    if (type !== 'net' && type !== 'ipc' && type !== 'uts' && type !== 'pid' && type !== 'mnt') {
      throw badInput(`joining a ${entry.type} namespace is not supported: only network, ipc, uts, pid and mount namespaces can be shared`);
    }
    joined.push({ type, path: entry.path });
  }
  return joined;
}

/** Whose session keyring the container's processes join: their own (the default) or the caller's ("host"). */
export function sessionKeyringFromConfig(spec: OciSpec): 'own' | 'host' {
  const value = spec.annotations?.[ANNOTATIONS.sessionKeyring];
  if (value === undefined || value === 'own') return 'own';
  if (value === 'host') return 'host';
  throw badInput(`annotations["${ANNOTATIONS.sessionKeyring}"] ${quote(value)}: use "own" (a new session keyring) or "host" (the caller's)`);
}

/** The annotation if present; otherwise "host" without a network namespace and "none" with one. */
export function networkModeFromConfig(spec: OciSpec): NetworkMode {
  const annotated = spec.annotations?.[ANNOTATIONS.network];
  const hasNetns = (spec.linux?.namespaces ?? []).some((entry) => entry.type === 'network');
  if (!hasNetns) return 'host';
  if (annotated === 'bridge' || annotated === 'none') return annotated;
  return 'none';
}

/** The cgroup limits the document asks for; null where it sets none (0 and -1 mean "no limit" in OCI). */
export function limitsFromConfig(spec: OciSpec): CgroupLimits {
  const resources = spec.linux?.resources;
  const positive = (value: number | undefined): number | null => (value !== undefined && value > 0 ? value : null);
  return {
    memoryBytes: positive(resources?.memory?.limit),
    cpuQuotaUs: positive(resources?.cpu?.quota),
    cpuPeriodUs: positive(resources?.cpu?.period) ?? CPU_PERIOD_US,
    pids: positive(resources?.pids?.limit),
  };
}
