/*
 * The lab file format (labs/**.yaml), as TypeScript types. labs/schema/lab.schema.json is the
 * same format as a JSON Schema; CI validates every lab file against it, and the loader
 * (./loader.ts) re-checks what the engine relies on (known check kinds, `needs` that exist).
 *
 * A lab has five parts: the task the learner reads, a setup the agent performs (containers to run,
 * commands to exec, files to write, faults to inject), checks against kernel state, a reference
 * solution the tests (and a "show me" button) run, and example answers — plausible wrong ones that
 * must score below full, and differently-right ones that must score full — that CI grades too.
 *
 * Every string may use the attempt's values, filled in when the lab starts (./template.ts):
 * {{workdir}} (the lab's answer directory), {{token}} (a random word), {{network:NAME}} and
 * {{subnet:NAME}} (a bridge and subnet chosen for the attempt from a pool, for each name the lab
 * lists under `networks`). Solution steps may also name facts of running containers:
 * {{pid:C}}, {{ip:C}}, {{gateway:C}}, {{veth:C}}, {{bridge:C}} and {{rootfs:C}}.
 */
import type { NamespaceType, NodeMode, RunOptions } from '../protocol';
import type { BuildRequest } from '../image/build';
import type { LabDifficulty, LabDomain, LabFeature, LabKind } from '../protocol/labs';
import type { PodPhase, QosClass } from '../protocol/pods';
import type { LabRegistrySpec } from './daemons/registry';
import type { LabContainerdSpec } from './daemons/containerd';

export interface LabDefinition {
  id: string;
  title: string;
  kind: LabKind;
  domain: LabDomain;
  difficulty: LabDifficulty;
  timeLimitMinutes: number;
  order: number;
  requires?: LabFeature[];
  task: string;
  hints?: string[];
  setup?: SetupAction[];
  checks: CheckSpec[];
  solution: SolutionSpec;
  partial?: PartialSolution;
  /** Example answers graded in CI: wrong ones must score below full, right ones full. */
  answers?: ExampleAnswer[];
  /** Networks the attempt gets a bridge and subnet of its own for ({{network:NAME}}, {{subnet:NAME}}). */
  networks?: string[];
  /**
   * What teardown removes that setup and solution do not name as containers: containers, named
   * network namespaces (/run/netns/NAME) and host links the task has the learner make by hand.
   */
  cleanup?: { containers?: string[]; netns?: string[]; links?: string[]; pods?: string[] };
  /**
   * The node's static pod directory for this lab (under {{workdir}}): its Pod YAML files run as
   * static pods, read after the setup and before every check, as a kubelet rereads its staticPodPath.
   */
  staticPodPath?: string;
}

// --- setup --------------------------------------------------------------------------------------

export type SetupAction =
  | { run: RunOptions & { name: string }; waitUntil?: 'stopped' }
  | { exec: { container: string; command: string; privileged?: boolean } }
  | { writeFile: { path: string; content: string; container?: string; mode?: string } }
  | { fault: NetworkFault }
  /** A small image built offline on the busybox tree: layers of files, deletions, opaque directories (../image/build.ts). */
  | { image: BuildRequest }
  /** A copy of the busybox image's root directory at `path` (under {{workdir}}), for a container made by hand. */
  | { rootfs: { path: string } }
  /** Commands on the lab host (`ip netns add …`) for scenarios the runtime does not make; cleanup must name what they leave. */
  | { host: string }
  /** Freezes a container's cgroup (the freezer), as a fault to find. */
  | { freeze: { container: string } }
  /** A pod from Pod YAML, as `containers-lab apply -f` makes it; `path` (under {{workdir}}) keeps the YAML for the learner to read and edit. */
  | { pod: { yaml: string; path?: string } }
  /** A private registry on 127.0.0.1 with htpasswd auth, holding images the setup built (./daemons/registry.ts); stopped with the lab. */
  | { registry: LabRegistrySpec }
  /** A containerd of the lab's own, from a config.toml the lab writes (./daemons/containerd.ts); stopped with the lab, with its tasks. */
  | { containerd: LabContainerdSpec }
  /** Two nodes on the lab host: each a network namespace with its own agent, joined by a link (./nodes.ts); cleanup.netns must name them. */
  | { nodes: LabNodesSpec };

/** A machine of a lab (./nodes.ts). */
export interface LabNodeSpec {
  /** The node's name in the lab ("a"): its directory is {{workdir}}/node-NAME. */
  name: string;
  /** Its network namespace (/run/netns/NETNS); the lab's cleanup.netns must name it too. */
  netns: string;
  /** Its agent's default bridge and container subnet (its pod CIDR). */
  bridge: string;
  subnet: string;
}

export interface LabNodesSpec {
  /** The network between the two nodes, a /24: the first node gets host 1 on it, the second host 2. */
  link: string;
  /** How the nodes' container subnets are joined (each agent is told the other node and this mode before it starts; none: nothing, not even the other node). */
  mode: NodeMode;
  /** The overlay's VXLAN network identifier (device clvxVNI); the agent's default without it. */
  vni?: number;
  nodes: LabNodeSpec[];
}

export type NetworkFault =
  | { kind: 'link-down'; container: string; side: 'host' | 'container' }
  | { kind: 'delete-default-route'; container: string }
  /** `ip link set … mtu N` on one end of the container's veth pair. */
  | { kind: 'mtu'; container: string; side: 'host' | 'container'; mtu: number }
  | { kind: 'move-to-bridge'; container: string; bridge: string; subnet: string };

// --- checks -------------------------------------------------------------------------------------

export type Fact =
  | { fact: 'hostPid'; container: string }
  | { fact: 'sharedWithHost'; container: string }
  | { fact: 'cgroupFile'; container: string; controller: 'memory' | 'cpu' | 'pids' }
  | { fact: 'rootfsMerged'; container: string }
  /** With `node`: a container on that lab node, as its agent lists it. */
  | { fact: 'ip'; container: string; node?: string }
  | { fact: 'hostname'; container: string }
  | { fact: 'namespaceInode'; container: string; type: NamespaceType }
  | { fact: 'rootHostUid'; container: string }
  | { fact: 'token' }
  /** The digest of the image layer whose copy of `path` the image shows (image inspect's layer digest). */
  | { fact: 'imageLayerDigest'; image: string; path: string }
  /** The cgroup file that accounts a container's memory use (memory.current / memory.usage_in_bytes) or CPU time (cpu.stat / cpuacct.usage). */
  | { fact: 'usageFile'; container: string; controller: 'memory' | 'cpu' }
  /** The file that freezes a container's cgroup: cgroup.freeze (v2) or freezer.state (v1). */
  | { fact: 'freezerFile'; container: string }
  /** Which of these containers uses the most memory (memory usage file) or CPU (over a second). */
  | { fact: 'busiest'; containers: string[]; controller: 'memory' | 'cpu' }
  /** The namespaces a process made by hand (found by its root directory) shares with the host. */
  | { fact: 'sharedWithHostByRoot'; root: string };

export interface CheckParamsByKind {
  /**
   * A pod as the agent reports it (`get pods`, `describe pod`): absent, its phase, where it came
   * from (a static pod file or the API), one container's state, reason, exit code, readiness and
   * restarts, and the order its init containers ran in (each finished with exit code 0, in turn).
   */
  pod: {
    pod: string; absent?: boolean; phase?: PodPhase; source?: 'static' | 'api';
    container?: string; state?: 'running' | 'waiting' | 'terminated'; reason?: string; exitCode?: number; ready?: boolean; restartsAtMost?: number;
    initOrder?: string[];
    /** The spec the engine runs has a hostAliases entry for `ip` naming `hostname` (kubelet-written, not an edit inside the container). */
    hostAlias?: { ip: string; hostname: string };
  };
  /** The pod's QoS class, from the agent and from the kernel: each app container's cgroup under kubepods[/burstable|/besteffort]/pod<uid>, its oom_score_adj. */
  qos: { pod: string; qosClass: QosClass };
  /** Behaviour: the pod container's probe, run now exactly as the kubelet runs it (exec, httpGet, tcpSocket), succeeds or fails. */
  probe: { pod: string; container: string; probe: 'readiness' | 'liveness' | 'startup'; succeeds: boolean };
  /** `command` matches the container's main command line (argv[0] by its base name). */
  container: { container: string; state: 'running' | 'stopped' | 'exists' | 'absent'; exitCode?: number; oomKilled?: boolean; command?: string };
  namespaces: { container: string; other?: string; shared?: NamespaceType[]; separate?: NamespaceType[] };
  hostname: { container: string; equals: string };
  'uid-map': { container: string; rootMapsTo?: number | 'unprivileged'; identity?: boolean };
  user: { container: string; uid?: number; gid?: number };
  'cgroup-limit': { container: string; memory?: string | number; memoryAtLeast?: string | number; memoryAtMost?: string | number; cpus?: number | string; pids?: number; unlimitedMemory?: boolean };
  'cgroup-events': { container: string; oomKillsAtLeast?: number; oomKills?: number };
  /** `sameAs`: the same directory is mounted at `target` in that container too; `emptyDir`: the source is a pod's emptyDir volume. */
  mount: { container: string; target: string; present?: boolean; fstype?: string; source?: string; readOnly?: boolean; notOnHost?: boolean; sameAs?: string; emptyDir?: boolean };
  'file-layer': { container: string; path: string; layer: 'upper' | 'lower' | 'deleted' | 'absent'; copiedUp?: boolean };
  file: { path: string; container?: string; exists?: boolean; equals?: string; contains?: string; matches?: string; equalsFact?: Fact; ignoreCase?: boolean };
  interface: { container: string; ifname?: string; present?: boolean; up?: boolean; hostSideUp?: boolean; hostSideMtu?: number; bridge?: string; inSubnet?: string; mtu?: number };
  route: { container: string; defaultViaGateway?: boolean };
  reachable: { from: string; to: string; expect?: boolean };
  'process-tree': { container: string; pid1?: string; children?: { command: string; atLeast: number } };
  /** `only`: the effective, permitted and bounding sets are exactly these (nothing else can ever be gained). */
  capabilities: { container: string; has?: string[]; lacks?: string[]; only?: string[]; seccomp?: 'disabled' | 'strict' | 'filter'; seccompProfile?: 'default' | 'custom' | 'unconfined'; noNewPrivs?: boolean };
  /** A failcheck: the setup's containers are the same ones (not recreated), the node's hostname is untouched. */
  unchanged: { containers?: string[]; nodeHostname?: boolean };
  /** Behaviour: a shell command run in the container (with its own limits and filters) and how it must end. */
  command: { container: string; run: string; exitCode?: number; fails?: boolean; output?: string };
  /** Behaviour: an HTTP GET from a container to localhost (its own network namespace), to another container, or to `gateway` (the node, through the container's bridge). */
  http: { from: string; to: string; port: number | string; path?: string; contains?: string };
  /** Which container's process holds the socket listening on a TCP port (as `ss -ltnp` shows it). */
  listening: { container: string; port: number };
  /** Behaviour: the container's init step, replayed in a scratch container, leaves `path` holding `contains`. */
  'init-step': { container: string; path: string; contains: string };
  /** Behaviour: `path` (seen from `reader`) grows, and stops growing while `writer` is frozen. */
  'written-by': { reader: string; writer: string; path: string };
  /**
   * The overlay at the container's root, from its mountinfo: its lower directories are `image`'s
   * layers (top first); `sameLowersAs`: the very lower directories of that container, with an upper of its own.
   */
  'overlay-lowers': { container: string; image?: string; sameLowersAs?: string };
  /** `path` is an opaque directory in the container's upper layer (trusted.overlay.opaque = y): nothing below shows through. */
  'opaque-dir': { container: string; path: string; opaque?: boolean }
  /** Behaviour: under contention on one CPU, `favoured` gets at least `atLeast` times the CPU time of `other`, and neither is capped by a quota. */
  'cpu-share': { favoured: string; other: string; atLeast: number };
  /** The kernel's freezer state of a container's cgroup; with `progressFile` (a file the container keeps writing) its behaviour too. */
  freezer: { container: string; frozen: boolean; progressFile?: string };
  /** A named network namespace (/run/netns/NAME): present, its interface up with an address in a subnet, the host's ping reaching `pingable`. */
  netns: { name: string; present?: boolean; ifname?: string; up?: boolean; inSubnet?: string; pingable?: string };
  /** A process made by hand (not by the agent), found by its root directory: its namespaces and what is mounted in its root. */
  'host-process': { root: string; separate?: NamespaceType[]; pid1?: boolean; mounts?: { target: string; fstype: string }[] };
  /** An strace log the learner recorded: each system call (a name, or names joined by |) appears, succeeded, with arguments matching `args` when given. */
  trace: { path: string; calls: { syscall: string; args?: string }[]; command?: string };
  /** Behaviour: an HTTP GET from the host itself (its network namespace) to address:port. */
  'host-http': { port: number | string; address?: string; path?: string; contains?: string; expect?: boolean };
  /**
   * The pod container runs `image` as the lab's registry serves it: the manifest digest its image
   * resolved to is the one the registry answers for that reference now, and its root stands on that image's layers.
   */
  'registry-image': { container: string; image: string };
  /**
   * A task of the lab's containerd (asked through its socket, in `namespace`) runs, and the kernel
   * shows it made by containers-lab-runc: its process is a child of that task's containerd-shim, and
   * containers-lab-runc's state for it (containers/ID/state.json under the shim's runtime root) names that very process.
   */
  'containerd-task': { namespace: string; command?: string; shim?: string };
  /**
   * Behaviour across lab nodes: `from` on `node` pings `to` on `toNode` (with `size`: that many
   * bytes, "don't fragment"; with `tunnel`: through that VXLAN device of `node`), or with `port`
   * fetches its page over HTTP.
   */
  'cross-node': { node: string; from: string; toNode: string; to: string; port?: number; contains?: string; size?: number; tunnel?: string };
  /**
   * A lab node's routing table, read in its namespace: a route to exactly `to` (a subnet) via the
   * gateway `via`, whoever made it; with `noVxlan`, the node has no VXLAN device at all.
   */
  'node-route': { node: string; to: string; via: string; noVxlan?: boolean };
  /** A lab node's sysctl (sysctl(8)'s dotted name), read from /proc/sys inside its network namespace. */
  'node-sysctl': { node: string; key: string; value: string };
  /**
   * A lab node's VXLAN forwarding database: `device` on `node` sends the MAC address of `toNode`'s
   * device of the same name to `dst` (that node's address on the link).
   */
  'node-fdb': { node: string; device: string; toNode: string; dst: string };
}

export type CheckKind = keyof CheckParamsByKind;

export const CHECK_KINDS: readonly CheckKind[] = [
  'container', 'namespaces', 'hostname', 'uid-map', 'user', 'cgroup-limit', 'cgroup-events', 'mount', 'file-layer', 'file',
  'interface', 'route', 'reachable', 'process-tree', 'capabilities', 'unchanged', 'command', 'http', 'listening', 'init-step', 'written-by',
  'overlay-lowers', 'opaque-dir',
  'cpu-share', 'freezer', 'netns', 'host-process', 'trace', 'host-http', 'pod', 'qos', 'probe',
  'registry-image', 'containerd-task', 'cross-node', 'node-route', 'node-sysctl', 'node-fdb',
];

export type CheckSpec = {
  [K in CheckKind]: {
    id: string;
    title: string;
    kind: K;
    params: CheckParamsByKind[K];
    weight: number;
    /** Said when the check fails: what is missing, in the learner's terms. */
    message: string;
    hint?: string;
    needs?: string[];
    /**
     * A failcheck scores nothing itself (weight 0): it guards the checks that need it, which fail
     * with its message when it fails — "repair it" is not passed by replacing the broken thing.
     */
    failcheck?: boolean;
    /** The CKA domain this check's task belongs to, in a mock exam that mixes domains (the result is given by domain). */
    domain?: LabDomain;
  };
}[CheckKind];

// --- solutions ----------------------------------------------------------------------------------

/** `containers-lab …` command line (run, exec, stop, rm, apply, delete), a shell command inside a container, or one on the lab host. */
export type SolutionStep = { cli: string } | { exec: { container: string; command: string } } | { host: string };

export interface SolutionSpec {
  steps: SolutionStep[];
  explanation?: string;
}

export interface ExampleAnswer {
  /** wrong: must score below full (exactly `score` when given); right: must score full. */
  verdict: 'wrong' | 'right';
  /** What this answer does differently, and why it is (not) what the task asked. */
  why: string;
  steps: SolutionStep[];
  score?: number;
}

export interface PartialSolution {
  steps: SolutionStep[];
  /** The score the checks must give after these steps (the tests assert it). */
  score: number;
}
