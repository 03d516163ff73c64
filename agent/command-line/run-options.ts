/*
 * The `run` command line: its options, and how they become the protocol's RunOptions. This is the
 * language learners type (`containers-lab run -d --name web --memory 64m busybox -- httpd …`), so
 * both the CLI and the lab engine's solution steps read it through here — one grammar, whoever
 * runs the line. Every mistake is a usage error naming the option.
 */
import { readFileSync } from 'node:fs';
import { NAMESPACE_TYPES } from '../protocol';
import type { NamespaceType, NetworkMode, OciSeccomp, OciSpec, RunOptions, VolumeMount } from '../protocol';
import { CPU_FORMS, parseCpuQuantity } from '../protocol/quantity';
import { UsageError, integerOption, listOption, stringOption, switchOption } from './args';
import { parseReference } from '../image/reference';
import type { ParsedArgs, VerbSpec } from './args';

export const RUN_SPEC: VerbSpec = {
  name: 'run',
  summary: 'Create and start a container from the built-in busybox image or a pulled one.',
  usage: 'run [OPTIONS] busybox|IMAGE [-- CMD ARGS…]',
  options: [
    { long: 'detach', short: 'd', help: 'run in the background and print the container id' },
    { long: 'tty', short: 't', help: 'give the main process a terminal the agent keeps open (logs show its screen); no command: sh' },
    { long: 'interactive', short: 'i', help: "with -t: the terminal takes input (type into it with exec -it); docker's -dit" },
    { long: 'name', value: 'N', help: 'container name (letters, digits, -, _, .)' },
    { long: 'hostname', value: 'H', help: 'hostname inside the UTS namespace' },
    { long: 'memory', value: 'SIZE', help: 'memory limit: 64m, 128Mi, 1Gi or bytes (k/M/G are 1000-based)' },
    { long: 'cpus', value: 'N', help: 'CPU limit: 0.5 or 500m' },
    { long: 'pids', value: 'N', help: 'maximum number of processes' },
    { long: 'net', value: 'MODE', help: 'network: bridge (default), none or host' },
    { long: 'ns', value: 'LIST', help: `namespaces to create, comma-separated (${NAMESPACE_TYPES.join(',')})` },
    { long: 'userns', help: 'also create a user namespace (container root = an unprivileged host uid)' },
    { long: 'bridge', value: 'NAME', help: "bridge for --net bridge (default cl0, or the agent's $CONTAINERS_LAB_BRIDGE)" },
    { long: 'subnet', value: 'CIDR', help: "the bridge's subnet, e.g. 10.88.0.0/16 (default 10.77.0.0/24, or $CONTAINERS_LAB_SUBNET)" },
    { long: 'publish', short: 'p', value: '[IP:]HOSTPORT:PORT[/udp]', repeatable: true, help: "publish a container port on the host, as docker's -p: 8080:80, 127.0.0.1:8080:80, 5353:53/udp" },
    { long: 'user', short: 'u', value: 'UID[:GID]', help: 'run the process as this numeric user (and group)' },
    { long: 'read-only', help: 'mount the root filesystem read-only' },
    { long: 'cap-add', value: 'CAPS', repeatable: true, help: 'add capabilities to the default set, e.g. NET_ADMIN (comma-separated; ALL)' },
    { long: 'cap-drop', value: 'CAPS', repeatable: true, help: 'drop capabilities from the default set (comma-separated; ALL)' },
    { long: 'seccomp', value: 'FILE|unconfined', help: "a seccomp profile (OCI linux.seccomp JSON) instead of the default (Docker's); unconfined: none" },
    { long: 'no-new-privileges', help: 'set no_new_privs: execve can never gain privileges' },
    { long: 'device-cgroup-rule', value: 'RULE', repeatable: true, help: 'allow a device besides the defaults, e.g. "c 10:200 rwm" (tun); "a *:* rwm" allows every device' },
    { long: 'no-new-keyring', help: "stay in the caller's session keyring (host root's) instead of a new one of the container's own" },
    { long: 'privileged', help: 'every capability, no seccomp filter, every device, nothing of /proc masked (Docker\'s --privileged)' },
    { long: 'pod', value: 'NAME', help: "join pod NAME: share its network, IPC and hostname (made with its first container)" },
    { long: 'volume', short: 'v', value: 'SRC:DEST[:ro]', repeatable: true, help: 'mount a volume: NAME:/path (emptyDir) or /host/dir:/path (hostPath)' },
    { long: 'init', value: 'CMD', help: 'a shell command run to completion before the main process (an init step)' },
    { long: 'config', value: 'FILE', help: 'an OCI runtime-spec config.json to realise' },
    { long: 'entrypoint', value: 'CMD', help: "replace the image's Entrypoint (and drop its Cmd), as docker's --entrypoint; '' for none" },
  ],
  positionals: { name: 'the image (busybox) or a pulled one', min: 1, max: 1 },
  command: 'optional',
  details: [
    'Examples:',
    '  containers-lab run -d --name web --memory 64m --pids 64 busybox -- httpd -f -p 8080',
    '  containers-lab run -d --name site -p 8080:80 busybox -- httpd -f -p 80   (host port 8080 → the container\'s 80)',
    '  containers-lab run -d --name api --memory 128Mi --cpus 500m busybox   (Kubernetes units, as in a Pod\'s resources.limits)',
    '  containers-lab run --net none --ns pid,uts,mnt busybox -- ps',
    '  containers-lab run -dit --name box busybox   (PID 1 is sh on a terminal, as docker run -dit busybox)',
    '  containers-lab run -d --name web nginx:1.27   (a pulled image: containers-lab pull nginx:1.27 first)',
    '  containers-lab run --entrypoint /bin/ls alpine -- -l /   (docker\'s override rules: args replace Cmd; --entrypoint drops it too)',
    'The word busybox alone is the built-in offline image; a pulled busybox is busybox:TAG or docker.io/library/busybox.',
    '  containers-lab run -d --name app --pod web -v shared:/data --user 1000 --cap-drop ALL busybox -- sleep 1d',
    '  containers-lab run -d --name vpn --device-cgroup-rule "c 10:200 rwm" --cap-add NET_ADMIN busybox   (may open /dev/net/tun)',
  ],
};

const NETWORK_MODES: readonly NetworkMode[] = ['bridge', 'none', 'host'];

/** Turns the command line into the protocol's RunOptions; every mistake is a usage error. */
export function runOptionsFrom(args: ParsedArgs, readConfig: (path: string) => string = (path) => readFileSync(path, 'utf8')): RunOptions {
  const image = args.positionals[0]!;
  // `busybox` alone is the built-in image; any other word names a pulled or imported one (checked here for spelling only).
  if (image !== 'busybox' && !/^(?:sha256:)?[a-f0-9]{12,64}$/.test(image)) {
    try {
      parseReference(image);
    } catch (error) {
      throw new UsageError(`run: ${(error as Error).message}`);
    }
  }
  const options: RunOptions = { image };
  const entrypoint = stringOption(args, 'entrypoint');
  if (entrypoint !== undefined) {
    if (image === 'busybox') throw new UsageError('run: --entrypoint applies to a pulled image; busybox runs the command after --');
    options.entrypoint = entrypoint === '' ? [] : [entrypoint];
  }
  const tty = switchOption(args, 'tty');
  if (switchOption(args, 'interactive') && !tty) throw new UsageError("-i needs -t here: a container's only input is its terminal (run -dit busybox)");
  if (tty) options.tty = true;
  const name = stringOption(args, 'name');
  if (name !== undefined) options.name = name;
  const hostname = stringOption(args, 'hostname');
  if (hostname !== undefined) options.hostname = hostname;
  const memory = stringOption(args, 'memory');
  if (memory !== undefined) options.memory = memory;
  const cpus = stringOption(args, 'cpus');
  if (cpus !== undefined) options.cpus = cpuCount(cpus);
  const pids = integerOption(args, 'pids', 'a whole number of processes');
  if (pids !== undefined) options.pids = pids;
  const net = stringOption(args, 'net');
  if (net !== undefined) {
    if (!NETWORK_MODES.includes(net as NetworkMode)) {
      throw new UsageError(`--net must be one of ${NETWORK_MODES.join(', ')}, got "${net}"`);
    }
    options.net = net as NetworkMode;
  }
  const ns = stringOption(args, 'ns');
  if (ns !== undefined) options.namespaces = namespaceList(ns);
  if (switchOption(args, 'userns')) options.userns = true;
  const bridge = stringOption(args, 'bridge');
  if (bridge !== undefined) options.bridge = bridge;
  const subnet = stringOption(args, 'subnet');
  if (subnet !== undefined) options.subnet = subnet;
  const publish = listOption(args, 'publish');
  if (publish.length) options.ports = publish;
  const user = stringOption(args, 'user');
  if (user !== undefined) options.user = user;
  if (switchOption(args, 'read-only')) options.readOnlyRoot = true;
  const capAdd = listOption(args, 'cap-add', true);
  if (capAdd.length) options.capAdd = capAdd;
  const capDrop = listOption(args, 'cap-drop', true);
  if (capDrop.length) options.capDrop = capDrop;
  const seccompPath = stringOption(args, 'seccomp');
  // Docker's spelling (--security-opt seccomp=unconfined); a file of that name is ./unconfined.
  if (seccompPath === 'unconfined') options.seccomp = 'unconfined';
  else if (seccompPath !== undefined) options.seccomp = readJsonObject('--seccomp', seccompPath, readConfig) as OciSeccomp;
  if (switchOption(args, 'no-new-privileges')) options.noNewPrivileges = true;
  const deviceRules = listOption(args, 'device-cgroup-rule');
  if (deviceRules.length) options.deviceCgroupRules = deviceRules;
  if (switchOption(args, 'no-new-keyring')) options.noNewKeyring = true;
  if (switchOption(args, 'privileged')) options.privileged = true;
  const pod = stringOption(args, 'pod');
  if (pod !== undefined) options.pod = pod;
  const volumes = listOption(args, 'volume');
  if (volumes.length) options.volumes = volumes.map(parseVolume);
  const init = stringOption(args, 'init');
  if (init !== undefined) options.init = ['sh', '-c', init];
  const configPath = stringOption(args, 'config');
  if (configPath !== undefined) options.config = readJsonObject('--config', configPath, readConfig) as OciSpec;
  if (args.command && args.command.length > 0) options.args = args.command;
  return options;
}

/* "500m" becomes 0.5 here, so a typo is a usage error before anything is asked of the agent, and
 * the request carries a plain number that any agent version understands. */
function cpuCount(text: string): number {
  try {
    return parseCpuQuantity(text);
  } catch {
    throw new UsageError(`--cpus expects ${CPU_FORMS}, got "${text}"`);
  }
}

function namespaceList(text: string): NamespaceType[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--ns expects a comma-separated list of ${NAMESPACE_TYPES.join(', ')}`);
  for (const name of names) {
    if (!(NAMESPACE_TYPES as readonly string[]).includes(name)) {
      throw new UsageError(`--ns: unknown namespace "${name}" (known: ${NAMESPACE_TYPES.join(', ')})`);
    }
  }
  return [...new Set(names)] as NamespaceType[];
}

/** -v NAME:/path[:ro] is an emptyDir; -v /host/dir:/path[:ro] a hostPath (named after its position). */
export function parseVolume(text: string, index: number): VolumeMount {
  const parts = text.split(':');
  // ":rw" is what a mount is anyway; Docker accepts it, so a learner may write it.
  const readOnly = parts.length === 3 && parts[2] === 'ro';
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !readOnly && parts[2] !== 'rw') || !parts[0] || !parts[1]) {
    throw new UsageError(`-v: expected NAME:/path or /host/dir:/path, optionally with :ro or :rw — got "${text}"`);
  }
  const [source, mountPath] = parts as [string, string];
  const volume: VolumeMount = source.startsWith('/') ? { name: `host-${index + 1}`, hostPath: source, mountPath } : { name: source, mountPath };
  if (readOnly) volume.readOnly = true;
  return volume;
}

function readJsonObject(option: string, path: string, readFile: (path: string) => string): object {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new UsageError(`${option}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${option}: ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${option}: ${path} must hold a JSON object`);
  }
  return value;
}
