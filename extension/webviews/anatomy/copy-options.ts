/*
 * "Try without": the `run` options of a copy of a container that differs in one protection.
 *
 * The copy is asked for the way the original was — from its config.json, read back into the
 * options `containers-lab run` takes (name, namespaces, network, limits, user, capabilities,
 * seccomp, device rules, keyring, volumes, command) — and then one protection is switched. So a
 * learner can put `web` and `web-no-seccomp` side by side and try the same command in both:
 * `unshare -U true` fails in one and works in the other.
 *
 * Pure (no 'vscode'): unit-tested; extension/commands/try-without.ts runs the result.
 */
import { ANNOTATIONS, NAMESPACE_TYPES, type ContainerRecord, type NamespaceType, type NetworkMode, type OciSpec, type RunOptions, type VolumeMount } from '../../../agent/protocol';
import { capabilitiesToPod } from '../manifests/pod-capabilities';
import { volumeFor } from '../manifests/pod-volumes';
import { isPrivilegedRecord, securityRows, TRY_PIDS_LIMIT, type Protection } from './security-rows';

/** Mounts the runtime gives every container (and /tmp, its in-memory scratch): never volumes of the copy. */
const RUNTIME_MOUNTS = new Set(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/tmp']);
const OCI_TO_OURS: Record<string, NamespaceType> = { cgroup: 'cgroup', ipc: 'ipc', mount: 'mnt', network: 'net', pid: 'pid', user: 'user', uts: 'uts' };
/** The agent's default: every type but user. */
const DEFAULT_NAMESPACES: readonly NamespaceType[] = NAMESPACE_TYPES.filter((type) => type !== 'user');
const NAME_LIMIT = 63;

/** The `run` options that ask for a container like this one (its name aside). */
export function runOptionsOf(record: ContainerRecord): RunOptions {
  const config: OciSpec = record.config;
  const annotations = config.annotations ?? {};
  const process = config.process;
  const options: RunOptions = { image: 'busybox' };
  if (process?.args?.length) options.args = [...process.args];
  if (process?.env?.length) options.env = [...process.env];

  const podName = annotations[ANNOTATIONS.pod];
  const member = podName !== undefined && annotations[ANNOTATIONS.podSandbox] !== 'true';
  if (member) {
    options.pod = podName; // the pod decides namespaces, network and hostname
  } else {
    const own = new Set((config.linux?.namespaces ?? []).map((entry) => OCI_TO_OURS[entry.type]).filter((type): type is NamespaceType => type !== undefined));
    const mine = DEFAULT_NAMESPACES.filter((type) => own.has(type));
    if (mine.length !== DEFAULT_NAMESPACES.length) options.namespaces = mine;
    if (own.has('user')) options.userns = true;
    options.net = networkOf(config, own.has('net'));
    if (options.net === 'bridge') {
      if (annotations[ANNOTATIONS.bridge] !== undefined) options.bridge = annotations[ANNOTATIONS.bridge];
      if (annotations[ANNOTATIONS.subnet] !== undefined) options.subnet = annotations[ANNOTATIONS.subnet];
    }
    // The agent names the hostname after the container unless told otherwise: keep that for the copy.
    if (config.hostname !== undefined && config.hostname !== record.name) options.hostname = config.hostname;
  }

  const resources = config.linux?.resources;
  if (resources?.memory?.limit !== undefined && resources.memory.limit > 0) options.memory = resources.memory.limit;
  if (resources?.cpu?.quota !== undefined && resources.cpu.quota > 0) options.cpus = resources.cpu.quota / (resources.cpu.period ?? 100_000);
  if (resources?.pids?.limit !== undefined && resources.pids.limit > 0) options.pids = resources.pids.limit;

  const user = process?.user;
  if (user && (user.uid !== 0 || user.gid !== 0)) options.user = `${user.uid}:${user.gid}`;
  if (config.root?.readonly) options.readOnlyRoot = true;
  if (process?.noNewPrivileges) options.noNewPrivileges = true;
  if (annotations[ANNOTATIONS.sessionKeyring] === 'host') options.noNewKeyring = true;
  if (isPrivilegedRecord(record)) {
    options.privileged = true;
  } else {
    const capabilities = capabilitiesToPod(process?.capabilities);
    if (capabilities?.add) options.capAdd = capabilities.add;
    if (capabilities?.drop) options.capDrop = capabilities.drop;
    const profile = annotations[ANNOTATIONS.seccomp];
    if (profile === 'unconfined' || (profile === undefined && !config.linux?.seccomp)) options.seccomp = 'unconfined';
    else if (profile !== 'default' && config.linux?.seccomp) options.seccomp = config.linux.seccomp;
    const rules = annotations[ANNOTATIONS.deviceCgroupRules];
    if (rules !== undefined) options.deviceCgroupRules = JSON.parse(rules) as string[];
  }

  const volumes = volumesOf(config);
  if (volumes.length) options.volumes = volumes;
  const init = annotations[ANNOTATIONS.init];
  if (init !== undefined) options.init = JSON.parse(init) as string[];
  return options;
}

function networkOf(config: OciSpec, hasNetns: boolean): NetworkMode {
  if (!hasNetns) return 'host';
  return config.annotations?.[ANNOTATIONS.network] === 'bridge' ? 'bridge' : 'none';
}

function volumesOf(config: OciSpec): VolumeMount[] {
  const volumes: VolumeMount[] = [];
  for (const mount of config.mounts ?? []) {
    if (RUNTIME_MOUNTS.has(mount.destination)) continue;
    const volume = volumeFor(mount);
    if (!volume || ('emptyDir' in volume && volume.emptyDir.medium === 'Memory')) continue;
    const readOnly = mount.options?.includes('ro') === true;
    volumes.push({
      name: 'hostPath' in volume ? `host-${volumes.length + 1}` : volume.name,
      mountPath: mount.destination,
      ...(readOnly ? { readOnly } : {}),
      ...('hostPath' in volume ? { hostPath: volume.hostPath.path } : {}),
    });
  }
  return volumes;
}

/** `base` + "-" + suffix, at most 63 characters, and not a name already taken. */
export function copyName(base: string, suffix: string, taken: Iterable<string>): string {
  const names = new Set(taken);
  for (let number = 1; ; number++) {
    const tail = number === 1 ? `-${suffix}` : `-${suffix}-${number}`;
    const name = `${base.slice(0, NAME_LIMIT - tail.length)}${tail}`;
    if (!names.has(name)) return name;
  }
}

export interface TryCopy {
  name: string;
  options: RunOptions;
  /** What differs from the original, in the command line's words ("--seccomp unconfined"). */
  change: string;
}

/** The options of a copy of `record` with `protection` switched (off if on, on if off). */
export function tryCopy(record: ContainerRecord, protection: Protection, taken: Iterable<string>): TryCopy {
  const row = securityRows(record).find((candidate) => candidate.protection === protection);
  if (!row) throw new Error(`unknown protection "${protection}"`);
  const options = runOptionsOf(record);
  const name = copyName(record.name, row.action.suffix, taken);
  options.name = name;
  if (options.privileged && (protection === 'capabilities' || protection === 'seccomp' || protection === 'devices')) {
    delete options.privileged; // back to the defaults for all three
    return { name, options, change: row.action.change };
  }
  switch (protection) {
    case 'capabilities':
      delete options.capAdd;
      delete options.capDrop;
      if (row.on) options.capAdd = ['ALL'];
      break;
    case 'seccomp':
      if (row.on) options.seccomp = 'unconfined';
      else delete options.seccomp;
      break;
    case 'devices':
      if (row.on) options.deviceCgroupRules = [...(options.deviceCgroupRules ?? []), 'a *:* rwm'];
      else delete options.deviceCgroupRules;
      break;
    case 'keyring':
      if (row.on) options.noNewKeyring = true;
      else delete options.noNewKeyring;
      break;
    case 'noNewPrivileges':
      if (row.on) delete options.noNewPrivileges;
      else options.noNewPrivileges = true;
      break;
    case 'pids':
      if (row.on) delete options.pids;
      else options.pids = TRY_PIDS_LIMIT;
      break;
  }
  return { name, options, change: row.action.change };
}
