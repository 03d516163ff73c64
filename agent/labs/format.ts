/*
 * The lab file format (labs/**.yaml), as TypeScript types. labs/schema/lab.schema.json is the
 * same format as a JSON Schema; CI validates every lab file against it, and the loader
 * (./loader.ts) re-checks what the engine relies on (known check kinds, `needs` that exist).
 *
 * A lab has four parts: the task the learner reads, a setup the agent performs (containers to run,
 * commands to exec, files to write, faults to inject), checks against kernel state, and a reference
 * solution the tests (and a "show me" button) run. Strings in setup, checks and solutions may use
 * {{workdir}} (the lab's answer directory) and {{token}} (a random word made at start); solution
 * steps may also use {{pid:NAME}}, {{ip:NAME}}, {{gateway:NAME}}, {{veth:NAME}}, {{bridge:NAME}} and {{rootfs:NAME}}.
 */
import type { NamespaceType, RunOptions } from '../protocol';
import type { LabDifficulty, LabDomain, LabFeature, LabKind } from '../protocol/labs';

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
  /** Extra things teardown removes that setup and solution do not name. */
  cleanup?: { containers?: string[]; bridges?: string[] };
}

// --- setup --------------------------------------------------------------------------------------

export type SetupAction =
  | { run: RunOptions & { name: string }; waitUntil?: 'stopped' }
  | { exec: { container: string; command: string; privileged?: boolean } }
  | { writeFile: { path: string; content: string; container?: string; mode?: string } }
  | { fault: NetworkFault };

export type NetworkFault =
  | { kind: 'link-down'; container: string; side: 'host' | 'container' }
  | { kind: 'delete-default-route'; container: string }
  | { kind: 'move-to-bridge'; container: string; bridge: string; subnet: string };

// --- checks -------------------------------------------------------------------------------------

export type Fact =
  | { fact: 'hostPid'; container: string }
  | { fact: 'sharedWithHost'; container: string }
  | { fact: 'cgroupFile'; container: string; controller: 'memory' | 'cpu' | 'pids' }
  | { fact: 'rootfsMerged'; container: string }
  | { fact: 'ip'; container: string }
  | { fact: 'hostname'; container: string }
  | { fact: 'namespaceInode'; container: string; type: NamespaceType }
  | { fact: 'token' };

export interface CheckParamsByKind {
  container: { container: string; state: 'running' | 'stopped' | 'exists' | 'absent'; exitCode?: number; oomKilled?: boolean };
  namespaces: { container: string; other?: string; shared?: NamespaceType[]; separate?: NamespaceType[] };
  hostname: { container: string; equals: string };
  'uid-map': { container: string; rootMapsTo?: number | 'unprivileged'; identity?: boolean };
  user: { container: string; uid?: number; gid?: number };
  'cgroup-limit': { container: string; memory?: string | number; memoryAtLeast?: string | number; cpus?: number; pids?: number; unlimitedMemory?: boolean };
  'cgroup-events': { container: string; oomKillsAtLeast?: number; oomKills?: number };
  mount: { container: string; target: string; present?: boolean; fstype?: string; source?: string; readOnly?: boolean; notOnHost?: boolean };
  'file-layer': { container: string; path: string; layer: 'upper' | 'lower' | 'deleted' | 'absent'; copiedUp?: boolean };
  file: { path: string; container?: string; exists?: boolean; equals?: string; contains?: string; matches?: string; equalsFact?: Fact; ignoreCase?: boolean };
  interface: { container: string; ifname?: string; present?: boolean; up?: boolean; hostSideUp?: boolean; bridge?: string; inSubnet?: string };
  route: { container: string; defaultViaGateway?: boolean };
  reachable: { from: string; to: string; expect?: boolean };
  'process-tree': { container: string; pid1?: string; children?: { command: string; atLeast: number } };
  capabilities: { container: string; has?: string[]; lacks?: string[]; seccomp?: 'disabled' | 'strict' | 'filter'; noNewPrivs?: boolean };
}

export type CheckKind = keyof CheckParamsByKind;

export const CHECK_KINDS: readonly CheckKind[] = [
  'container', 'namespaces', 'hostname', 'uid-map', 'user', 'cgroup-limit', 'cgroup-events', 'mount', 'file-layer', 'file',
  'interface', 'route', 'reachable', 'process-tree', 'capabilities',
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
  };
}[CheckKind];

// --- solutions ----------------------------------------------------------------------------------

/** `containers-lab …` command line, a shell command inside a container, or one on the lab host. */
export type SolutionStep = { cli: string } | { exec: { container: string; command: string } } | { host: string };

export interface SolutionSpec {
  steps: SolutionStep[];
  explanation?: string;
}

export interface PartialSolution {
  steps: SolutionStep[];
  /** The score the checks must give after these steps (the tests assert it). */
  score: number;
}
