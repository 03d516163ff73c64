/*
 * config.json ↔ Pod YAML: the same container asked for in two languages.
 *
 * The OCI runtime spec's config.json is what a runtime (runc, crun, our agent) realises: which
 * namespaces to create, which cgroup numbers to write, which process to start. A Kubernetes Pod is
 * what a person asks the cluster for; the kubelet and the container runtime translate it into such
 * a config.json. Most Pod fields map onto the spec one to one, some say the opposite of the spec
 * (`hostPID: true` means "no pid entry in linux.namespaces"), and some have no Pod field at all
 * (the pids limit is set per node; /proc and /dev are added by the runtime for every container).
 *
 * configToPod turns a container's config.json (and, when given, its record) into the Pod that asks
 * for it, with links from each field on either side to the kernel object it produced. podToRunOptions
 * goes the other way: what a Pod asks the agent for, refusing with one line what the lab cannot do.
 * Pure: no 'vscode', no DOM; unit-tested against real containers.
 */
import { parse, stringify } from 'yaml';
import { ANNOTATIONS, type ContainerRecord, type NamespaceType, type OciNamespaceType, type OciSpec, type RunOptions } from '../../../agent/protocol';
import { cgroupObject, mountObject, namespaceObject, processObject, utsObject, type KernelObject } from './kernel-objects';
import { parseCpuQuantity, parseMemoryQuantity } from '../../../agent/protocol/quantity';
import { cpuQuantity, memoryQuantity } from './kubernetes-quantity';
import { podCapabilitiesToOptions } from './pod-capabilities';
import { podSecurityContext, securityLinks, type PodSecurityContext } from './pod-security';
import { podVolumesToOptions, volumeFor, type PodVolume } from './pod-volumes';

export type { PodVolume } from './pod-volumes';

/** The agent's annotation keys (the protocol's ANNOTATIONS). */
export const LAB_ANNOTATIONS = ANNOTATIONS;

/** OCI spec namespace names ↔ ours (and /proc/<pid>/ns's): the spec says "network" and "mount". */
const OCI_NAMESPACE: Record<NamespaceType, OciNamespaceType> = { cgroup: 'cgroup', ipc: 'ipc', mnt: 'mount', net: 'network', pid: 'pid', user: 'user', uts: 'uts' };

/** Mounts the runtime gives every container; a Pod never lists them. */
const RUNTIME_MOUNTS = new Set(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys']);

export interface PodContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: { name: string; value: string }[];
  resources?: { limits: { memory?: string; cpu?: string } };
  securityContext: PodSecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}


export interface PodManifest {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    hostname?: string;
    hostNetwork: boolean;
    hostPID: boolean;
    hostIPC: boolean;
    hostUsers: boolean;
    restartPolicy: 'Never';
    containers: [PodContainer];
    volumes?: PodVolume[];
  };
}

/** One thing the container asks for, as it reads on each side and what the kernel made of it. */
export interface FieldLink {
  id: string;
  label: string;
  /** Field paths in config.json (see field-paths.ts) and in the Pod YAML; [] = no field on that side. */
  jsonPaths: string[];
  podPaths: string[];
  /** One line that teaches the mapping. */
  note: string;
  /** What the kernel holds for it now; null without a record (or where it is no kernel object). */
  kernel: KernelObject | null;
}

export interface PodTranslation {
  pod: PodManifest;
  /** The Pod as YAML, as `kubectl apply -f` would take it. */
  yaml: string;
  links: FieldLink[];
}

const CONTAINER = 'spec.containers[0]';

export function configToPod(config: OciSpec, record?: ContainerRecord): PodTranslation {
  const annotations = config.annotations ?? {};
  const name = annotations[LAB_ANNOTATIONS.name] ?? record?.name ?? 'container';
  const own = new Set((config.linux?.namespaces ?? []).map((entry) => entry.type));
  const has = (type: NamespaceType): boolean => own.has(OCI_NAMESPACE[type]);
  const process = config.process;
  const args = process?.args ?? [];
  const links: FieldLink[] = [];
  const link = (entry: Omit<FieldLink, 'kernel'>, kernel: (record: ContainerRecord) => KernelObject | null): void => {
    links.push({ ...entry, kernel: record ? kernel(record) : null });
  };
  const nsPath = (type: NamespaceType): string => (has(type) ? `linux.namespaces[type=${OCI_NAMESPACE[type]}]` : 'linux.namespaces');

  // --- the container ------------------------------------------------------------------------
  const container: PodContainer = {
    name,
    image: annotations[LAB_ANNOTATIONS.image] ?? 'busybox',
    securityContext: podSecurityContext(config, name),
  };
  if (args.length > 0) container.command = [args[0]!];
  if (args.length > 1) container.args = args.slice(1);
  container.workingDir = process?.cwd ?? '/';
  if (process?.env?.length) {
    container.env = process.env.map((entry) => {
      const equals = entry.indexOf('=');
      return equals < 0 ? { name: entry, value: '' } : { name: entry.slice(0, equals), value: entry.slice(equals + 1) };
    });
  }
  const resources = config.linux?.resources;
  const limits: { memory?: string; cpu?: string } = {};
  if (resources?.memory?.limit !== undefined && resources.memory.limit > 0) limits.memory = memoryQuantity(resources.memory.limit);
  if (resources?.cpu?.quota !== undefined && resources.cpu.quota > 0) limits.cpu = cpuQuantity(resources.cpu.quota, resources.cpu.period ?? 100_000);
  if (limits.memory !== undefined || limits.cpu !== undefined) container.resources = { limits };

  link({ id: 'name', label: 'name', jsonPaths: [`annotations["${LAB_ANNOTATIONS.name}"]`], podPaths: ['metadata.name', `${CONTAINER}.name`],
    note: 'A name is the lab\'s (and the API server\'s): the kernel knows a container only by its processes, namespaces and cgroup.' }, () => null);
  link({ id: 'image', label: 'image → root filesystem', jsonPaths: ['root.path', `annotations["${LAB_ANNOTATIONS.image}"]`], podPaths: [`${CONTAINER}.image`],
    note: 'The image becomes the read-only lower layer of an overlay mount; root.path is its merged directory, the container\'s /.' }, (r) => mountObject(r, '/'));
  link({ id: 'readonly-root', label: 'read-only root', jsonPaths: ['root.readonly'], podPaths: [`${CONTAINER}.securityContext.readOnlyRootFilesystem`],
    note: 'readOnlyRootFilesystem ↔ root.readonly: the overlay on / is mounted "ro".' }, (r) => mountObject(r, '/'));
  link({ id: 'command', label: 'command', jsonPaths: ['process.args'], podPaths: [`${CONTAINER}.command`, `${CONTAINER}.args`],
    note: 'command + args ↔ process.args: the argv the runtime passes to execve() as the container\'s first process.' }, (r) => processObject(r, 'cmdline'));
  link({ id: 'env', label: 'environment', jsonPaths: ['process.env'], podPaths: [`${CONTAINER}.env`],
    note: 'env ↔ process.env: handed to execve(); the kernel keeps it in the process (/proc/<pid>/environ).' }, (r) => processObject(r, 'environ'));
  link({ id: 'cwd', label: 'working directory', jsonPaths: ['process.cwd'], podPaths: [`${CONTAINER}.workingDir`],
    note: 'workingDir ↔ process.cwd: the runtime chdir()s there before execve().' }, (r) => processObject(r, 'cwd'));
  securityLinks(config, container.securityContext, `${CONTAINER}.securityContext`, link);

  // --- namespaces and what the Pod says about them --------------------------------------------
  if (config.hostname !== undefined) {
    link({ id: 'hostname', label: 'hostname', jsonPaths: ['hostname'], podPaths: ['spec.hostname'],
      note: 'hostname ↔ spec.hostname: sethostname() inside the container\'s own uts namespace.' }, (r) => utsObject(r));
  }
  const hostFlag: Partial<Record<NamespaceType, string>> = { pid: 'hostPID', ipc: 'hostIPC', net: 'hostNetwork', user: 'hostUsers' };
  const notes: Record<NamespaceType, string> = {
    pid: 'hostPID: false ↔ a pid entry: the first process is PID 1 of a new pid namespace (true: no entry, the host\'s PIDs are seen).',
    ipc: 'hostIPC: false ↔ an ipc entry: own System V IPC objects and POSIX message queues.',
    net: 'hostNetwork: false ↔ a network entry: own interfaces, routes and ports (true: no entry, the host\'s network).',
    user: 'hostUsers: false ↔ a user entry plus uid/gid mappings: root inside is an unprivileged user outside.',
    uts: 'No Pod field: every Pod gets its own uts namespace, and spec.hostname is set in it.',
    mnt: 'No Pod field: every container gets its own mount namespace, with the image as its root.',
    cgroup: 'No Pod field: with cgroup v2 every container gets its own cgroup namespace (/sys/fs/cgroup shows only its own group).',
  };
  for (const type of ['pid', 'ipc', 'net', 'user', 'uts', 'mnt', 'cgroup'] as NamespaceType[]) {
    const flag = hostFlag[type];
    const jsonPaths = [nsPath(type)];
    const podPaths = flag ? [`spec.${flag}`] : [];
    if (type === 'user') jsonPaths.push('linux.uidMappings', 'linux.gidMappings');
    if (type === 'net') {
      jsonPaths.push(`annotations["${LAB_ANNOTATIONS.network}"]`, `annotations["${LAB_ANNOTATIONS.bridge}"]`);
      podPaths.push(`metadata.annotations["${LAB_ANNOTATIONS.network}"]`);
    }
    link({ id: `namespace:${type}`, label: `${type} namespace`, jsonPaths, podPaths, note: notes[type] }, (r) => namespaceObject(r, type, namespaceDetail(type, config, r)));
  }

  // --- cgroup limits -----------------------------------------------------------------------------
  if (limits.memory !== undefined) {
    link({ id: 'memory', label: 'memory limit', jsonPaths: ['linux.resources.memory.limit', 'linux.resources.memory'], podPaths: [`${CONTAINER}.resources.limits.memory`],
      note: `limits.memory ${limits.memory} ↔ memory.limit ${resources!.memory!.limit} bytes: written to the cgroup's memory.max (v1: memory.limit_in_bytes); above it the kernel reclaims, then OOM-kills.` }, (r) => cgroupObject(r, 'memory'));
  }
  if (limits.cpu !== undefined) {
    link({ id: 'cpu', label: 'cpu limit', jsonPaths: ['linux.resources.cpu.quota', 'linux.resources.cpu.period', 'linux.resources.cpu'], podPaths: [`${CONTAINER}.resources.limits.cpu`],
      note: `limits.cpu ${limits.cpu} ↔ quota ${resources!.cpu!.quota} µs per period ${resources!.cpu!.period ?? 100_000} µs: cpu.max (v1: cpu.cfs_quota_us); the scheduler throttles the group once it used its quota.` }, (r) => cgroupObject(r, 'cpu'));
  }
  if (resources?.pids?.limit !== undefined) {
    link({ id: 'pids', label: 'pids limit', jsonPaths: ['linux.resources.pids.limit', 'linux.resources.pids'], podPaths: [],
      note: 'No Pod field: Kubernetes sets pids.max per node (the kubelet\'s podPidsLimit); fork() fails with EAGAIN at the limit.' }, (r) => cgroupObject(r, 'pids'));
  }
  if (container.resources) {
    links.push({ id: 'resources', label: 'resources', jsonPaths: ['linux.resources'], podPaths: [`${CONTAINER}.resources`, `${CONTAINER}.resources.limits`],
      note: 'resources.limits ↔ linux.resources: numbers the runtime writes into the container\'s cgroup files.', kernel: null });
  }

  // --- mounts and volumes ------------------------------------------------------------------------
  const volumes: PodVolume[] = [];
  const volumeMounts: NonNullable<PodContainer['volumeMounts']> = [];
  for (const mount of config.mounts ?? []) {
    const jsonPath = `mounts[destination=${mount.destination}]`;
    const volume = volumeFor(mount);
    if (RUNTIME_MOUNTS.has(mount.destination) || !volume) {
      link({ id: `mount:${mount.destination}`, label: `mount ${mount.destination}`, jsonPaths: [jsonPath], podPaths: [],
        note: RUNTIME_MOUNTS.has(mount.destination)
          ? `No Pod field: the runtime mounts ${mount.destination} (${mount.type ?? 'bind'}) into every container.`
          : `No Pod volume type for a ${mount.type ?? 'bind'} mount.` }, (r) => mountObject(r, mount.destination));
      continue;
    }
    const index = volumes.length;
    volumes.push(volume);
    const readOnly = mount.options?.includes('ro') === true;
    volumeMounts.push({ name: volume.name, mountPath: mount.destination, ...(readOnly ? { readOnly } : {}) });
    link({ id: `mount:${mount.destination}`, label: `volume ${volume.name} at ${mount.destination}`, jsonPaths: [jsonPath], podPaths: [`spec.volumes[${index}]`, `${CONTAINER}.volumeMounts[${index}]`],
      note: 'hostPath' in volume
        ? `hostPath + volumeMount ↔ a bind mount of ${volume.hostPath.path} at ${mount.destination}.`
        : volume.emptyDir.medium === 'Memory'
          ? `emptyDir (medium: Memory) + volumeMount ↔ a tmpfs mount at ${mount.destination}: scratch space in RAM, gone with the container.`
          : `emptyDir + volumeMount ↔ a bind mount of ${mount.source ?? 'a directory'} the agent made for the pod at ${mount.destination}: shared by the pod's containers, deleted with the pod.` }, (r) => mountObject(r, mount.destination));
  }
  if (volumeMounts.length > 0) container.volumeMounts = volumeMounts;
  if (volumes.length > 0) {
    links.push({ id: 'mounts', label: 'mounts', jsonPaths: ['mounts'], podPaths: ['spec.volumes', `${CONTAINER}.volumeMounts`],
      note: 'volumes + volumeMounts ↔ mounts: the runtime mounts each one in the container\'s mount namespace before pivot_root.', kernel: null });
  }
  if (config.linux?.maskedPaths || config.linux?.readonlyPaths) {
    links.push({ id: 'masked', label: 'masked and read-only paths', jsonPaths: ['linux.maskedPaths', 'linux.readonlyPaths'], podPaths: [],
      note: 'No Pod field (securityContext.procMount: Default): the runtime hides these /proc and /sys files from every container (not from a privileged one).', kernel: null });
  }

  // --- the Pod -----------------------------------------------------------------------------------
  const podAnnotations: Record<string, string> = {};
  const network = annotations[LAB_ANNOTATIONS.network];
  // Kubernetes has no "no network" Pod; the lab's own annotation asks for one.
  if (network === 'none' && has('net')) podAnnotations[LAB_ANNOTATIONS.network] = 'none';
  const pod: PodManifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(Object.keys(podAnnotations).length > 0 ? { annotations: podAnnotations } : {}) },
    spec: {
      ...(config.hostname !== undefined ? { hostname: config.hostname } : {}),
      hostNetwork: !has('net'),
      hostPID: !has('pid'),
      hostIPC: !has('ipc'),
      hostUsers: !has('user'),
      restartPolicy: 'Never',
      containers: [inReadingOrder(container)],
      ...(volumes.length > 0 ? { volumes } : {}),
    },
  };
  return { pod, yaml: stringify(pod, { lineWidth: 0 }), links };
}

/** A container's keys in the order kubectl users read them (the YAML keeps insertion order). */
function inReadingOrder(container: PodContainer): PodContainer {
  const order: (keyof PodContainer)[] = ['name', 'image', 'command', 'args', 'workingDir', 'env', 'resources', 'securityContext', 'volumeMounts'];
  return Object.fromEntries(order.filter((key) => container[key] !== undefined).map((key) => [key, container[key]])) as unknown as PodContainer;
}

function namespaceDetail(type: NamespaceType, config: OciSpec, record: ContainerRecord): string | undefined {
  if (type === 'user') {
    const mapping = config.linux?.uidMappings?.[0];
    return mapping ? `uid_map: container ${mapping.containerID} → host ${mapping.hostID} (${mapping.size} ids)` : undefined;
  }
  if (type === 'net') {
    const net = record.network;
    if (net.mode === 'host') return 'the host\'s network: no network namespace of its own';
    if (net.mode === 'none') return 'own network namespace with only lo';
    return `${net.ifname ?? 'eth0'} ${net.ip ?? ''}${net.prefixLength !== null ? `/${net.prefixLength}` : ''} ↔ ${net.vethHost ?? '?'} on bridge ${net.bridge ?? '?'}`;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// Pod YAML → RunOptions

/** What a Pod field becomes, for the reverse direction (no container exists yet, so no values). */
export interface PodFieldEffect {
  podPath: string;
  option: keyof RunOptions;
  /** The kernel object it will produce. */
  kernel: string;
}

export interface PodRequest {
  options: RunOptions;
  effects: PodFieldEffect[];
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const IMAGES = new Set(['busybox', 'busybox:latest', 'docker.io/library/busybox', 'docker.io/library/busybox:latest']);
const DEFAULT_NAMESPACES: NamespaceType[] = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'];

/**
 * The RunOptions a Pod asks for. Throws an Error with one line naming the first field the lab
 * cannot honour (and what it can), so nothing half-understood is ever started.
 */
export function podToRunOptions(podYaml: string): PodRequest {
  let document: unknown;
  try {
    document = parse(podYaml);
  } catch (error) {
    throw new Error(`not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const pod = object(document, '(document)');
  only(pod, '(document)', ['apiVersion', 'kind', 'metadata', 'spec']);
  if (pod.apiVersion !== 'v1') throw new Error(`apiVersion: expected "v1", got ${JSON.stringify(pod.apiVersion)}`);
  if (pod.kind !== 'Pod') throw new Error(`kind: only "Pod" is supported, got ${JSON.stringify(pod.kind)}`);
  const metadata = object(pod.metadata, 'metadata');
  only(metadata, 'metadata', ['name', 'labels', 'annotations']);
  if (typeof metadata.name !== 'string' || !NAME.test(metadata.name)) {
    throw new Error(`metadata.name: ${JSON.stringify(metadata.name)} is not a valid name: use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
  const options: RunOptions = { name: metadata.name, image: 'busybox' };
  const effects: PodFieldEffect[] = [];
  const effect = (podPath: string, option: keyof RunOptions, kernel: string): void => void effects.push({ podPath, option, kernel });

  let network: 'none' | undefined;
  if (metadata.annotations !== undefined) {
    const annotations = object(metadata.annotations, 'metadata.annotations');
    const mode = annotations[LAB_ANNOTATIONS.network];
    if (mode !== undefined) {
      if (mode !== 'none' && mode !== 'bridge') throw new Error(`metadata.annotations["${LAB_ANNOTATIONS.network}"]: use "none" or "bridge" (hostNetwork: true for the host's)`);
      if (mode === 'none') network = 'none';
    }
  }

  const spec = object(pod.spec, 'spec');
  only(spec, 'spec', ['containers', 'hostname', 'hostNetwork', 'hostPID', 'hostIPC', 'hostUsers', 'restartPolicy', 'volumes']);
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Never') {
    throw new Error(`spec.restartPolicy: only "Never" is supported (the lab does not restart containers), got ${JSON.stringify(spec.restartPolicy)}`);
  }
  const flag = (key: string): boolean => {
    const value = spec[key];
    if (value !== undefined && typeof value !== 'boolean') throw new Error(`spec.${key}: expected true or false, got ${JSON.stringify(value)}`);
    return value === true;
  };
  const namespaces = new Set(DEFAULT_NAMESPACES);
  if (flag('hostPID')) {
    namespaces.delete('pid');
    effect('spec.hostPID', 'namespaces', 'no pid namespace: /proc/<pid>/ns/pid is the host\'s');
  }
  if (flag('hostIPC')) {
    namespaces.delete('ipc');
    effect('spec.hostIPC', 'namespaces', 'no ipc namespace: /proc/<pid>/ns/ipc is the host\'s');
  }
  if (flag('hostNetwork')) {
    if (network === 'none') throw new Error(`spec.hostNetwork: true contradicts metadata.annotations["${LAB_ANNOTATIONS.network}"]: none`);
    namespaces.delete('net');
    options.net = 'host';
    effect('spec.hostNetwork', 'net', 'no network namespace: /proc/<pid>/ns/net is the host\'s');
  } else if (network === 'none') {
    options.net = 'none';
    effect(`metadata.annotations["${LAB_ANNOTATIONS.network}"]`, 'net', 'a network namespace with only lo');
  }
  if (spec.hostUsers !== undefined && flag('hostUsers') === false) {
    options.userns = true;
    effect('spec.hostUsers', 'userns', 'a user namespace and /proc/<pid>/uid_map, gid_map');
  }
  if (namespaces.size !== DEFAULT_NAMESPACES.length) options.namespaces = DEFAULT_NAMESPACES.filter((type) => namespaces.has(type));
  if (spec.hostname !== undefined) {
    if (typeof spec.hostname !== 'string') throw new Error(`spec.hostname: expected a string, got ${JSON.stringify(spec.hostname)}`);
    options.hostname = spec.hostname;
    effect('spec.hostname', 'hostname', 'the uts namespace\'s hostname');
  }

  if (!Array.isArray(spec.containers) || spec.containers.length !== 1) {
    throw new Error(`spec.containers: exactly one container is supported, got ${Array.isArray(spec.containers) ? spec.containers.length : 'none'}`);
  }
  const container = object(spec.containers[0], CONTAINER);
  only(container, CONTAINER, ['name', 'image', 'command', 'args', 'env', 'workingDir', 'resources', 'securityContext', 'volumeMounts']);
  if (typeof container.image !== 'string' || !IMAGES.has(container.image)) {
    throw new Error(`${CONTAINER}.image: only busybox is available, got ${JSON.stringify(container.image)}`);
  }
  const command = stringList(container.command, `${CONTAINER}.command`);
  const args = stringList(container.args, `${CONTAINER}.args`);
  // busybox's image has no entrypoint: args alone are the command, as with `kubectl run -- …`.
  const argv = [...(command ?? []), ...(args ?? [])];
  if (argv.length > 0) {
    options.args = argv;
    effect(`${CONTAINER}.command`, 'args', 'the first process\'s argv (/proc/<pid>/cmdline)');
  }
  if (container.env !== undefined) {
    if (!Array.isArray(container.env)) throw new Error(`${CONTAINER}.env: expected a list of {name, value}`);
    options.env = container.env.map((entry, index) => {
      const where = `${CONTAINER}.env[${index}]`;
      const variable = object(entry, where);
      only(variable, where, ['name', 'value']);
      if (typeof variable.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable.name)) throw new Error(`${where}.name: invalid variable name ${JSON.stringify(variable.name)}`);
      if (variable.value !== undefined && typeof variable.value !== 'string') throw new Error(`${where}.value: expected a string (quote numbers)`);
      return `${variable.name}=${variable.value ?? ''}`;
    });
    effect(`${CONTAINER}.env`, 'env', 'the first process\'s environment (/proc/<pid>/environ)');
  }
  if (container.workingDir !== undefined && container.workingDir !== '/') {
    throw new Error(`${CONTAINER}.workingDir: only "/" is supported, got ${JSON.stringify(container.workingDir)}`);
  }
  if (container.resources !== undefined) {
    const resources = object(container.resources, `${CONTAINER}.resources`);
    if (resources.requests !== undefined) {
      throw new Error(`${CONTAINER}.resources.requests: not supported: requests guide the scheduler; only limits become cgroup files`);
    }
    only(resources, `${CONTAINER}.resources`, ['limits']);
    const limits = object(resources.limits ?? {}, `${CONTAINER}.resources.limits`);
    only(limits, `${CONTAINER}.resources.limits`, ['memory', 'cpu']);
    if (limits.memory !== undefined) {
      options.memory = quantity(() => parseMemoryQuantity(limits.memory as string, 'memory quantity'), `${CONTAINER}.resources.limits.memory`);
      effect(`${CONTAINER}.resources.limits.memory`, 'memory', 'cgroup memory.max (v1: memory.limit_in_bytes)');
    }
    if (limits.cpu !== undefined) {
      options.cpus = quantity(() => parseCpuQuantity(limits.cpu as string, 'cpu quantity'), `${CONTAINER}.resources.limits.cpu`);
      effect(`${CONTAINER}.resources.limits.cpu`, 'cpus', 'cgroup cpu.max (v1: cpu.cfs_quota_us / cpu.cfs_period_us)');
    }
  }
  if (container.securityContext !== undefined) {
    const context = object(container.securityContext, `${CONTAINER}.securityContext`);
    const where = `${CONTAINER}.securityContext`;
    only(context, where, ['runAsUser', 'runAsGroup', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'privileged', 'capabilities', 'seccompProfile']);
    const id = (key: 'runAsUser' | 'runAsGroup'): number => {
      const value = context[key] ?? 0;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${where}.${key}: expected a whole number from 0 to 65535, got ${JSON.stringify(value)}`);
      return value;
    };
    const uid = id('runAsUser');
    const gid = context.runAsGroup === undefined ? uid : id('runAsGroup');
    if (uid !== 0 || gid !== 0) {
      options.user = `${uid}:${gid}`;
      effect(`${where}.runAsUser`, 'user', 'the first process\'s Uid and Gid (/proc/<pid>/status)');
    }
    for (const key of ['readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'privileged'] as const) {
      if (context[key] !== undefined && typeof context[key] !== 'boolean') throw new Error(`${where}.${key}: expected true or false, got ${JSON.stringify(context[key])}`);
    }
    if (context.readOnlyRootFilesystem === true) {
      options.readOnlyRoot = true;
      effect(`${where}.readOnlyRootFilesystem`, 'readOnlyRoot', 'the overlay on / mounted read-only (/proc/<pid>/mountinfo)');
    }
    if (context.privileged === true) {
      options.privileged = true;
      effect(`${where}.privileged`, 'privileged', 'Seccomp: 0, every capability in CapEff, the device rule "allow a" (devices.list a *:* rwm)');
    }
    if (context.allowPrivilegeEscalation === false) {
      options.noNewPrivileges = true;
      effect(`${where}.allowPrivilegeEscalation`, 'noNewPrivileges', 'NoNewPrivs: 1 in /proc/<pid>/status');
    }
    if (context.seccompProfile !== undefined) {
      const type = (object(context.seccompProfile, `${where}.seccompProfile`) as { type?: unknown }).type;
      if (type === 'Unconfined') {
        options.seccomp = 'unconfined';
        effect(`${where}.seccompProfile`, 'seccomp', 'Seccomp: 0 in /proc/<pid>/status');
      } else if (type === 'Localhost') {
        throw new Error(`${where}.seccompProfile: a Localhost profile is a file on the node: run the container with --seccomp FILE`);
      } else if (type !== 'RuntimeDefault') {
        throw new Error(`${where}.seccompProfile.type: expected RuntimeDefault, Unconfined or Localhost, got ${JSON.stringify(type)}`);
      }
    }
    if (context.capabilities !== undefined) {
      Object.assign(options, podCapabilitiesToOptions(context.capabilities, `${where}.capabilities`));
      effect(`${where}.capabilities`, 'capAdd', 'CapBnd and CapEff in /proc/<pid>/status');
    }
  }
  const volumes = podVolumesToOptions(spec.volumes, container.volumeMounts, CONTAINER);
  if (volumes.length) {
    options.volumes = volumes;
    effect(`${CONTAINER}.volumeMounts`, 'volumes', 'bind mounts in /proc/<pid>/mountinfo');
  }
  return { options, effects };
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected a mapping`);
  return value as Record<string, unknown>;
}

function only(value: Record<string, unknown>, where: string, allowed: string[]): void {
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  if (extra !== undefined) throw new Error(`${where === '(document)' ? '' : `${where}.`}${extra}: not supported here (supported: ${allowed.join(', ')})`);
}

function stringList(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw new Error(`${where}: expected a list of strings`);
  return value as string[];
}

/** A quantity read with the protocol's rules; its one-line refusal names the field. */
function quantity(read: () => number, where: string): number {
  try {
    return read();
  } catch (error) {
    throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
