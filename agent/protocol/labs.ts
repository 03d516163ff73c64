/*
 * Labs over the protocol: the JSON-RPC methods behind the CLI's `lab` verb and the extension's
 * Exercises view. A lab is a level of the learning path or a CKA-style exercise: a task, a setup
 * the agent performs, and weighted checks the agent runs against the kernel's own state.
 *
 * These types are the contract for the view: `lab.show` never carries the solution (that is
 * `lab.solution`, asked for on purpose), and `lab.check` answers with the same object that
 * `containers-lab lab check ID --json` prints.
 */

export const LAB_DOMAINS = [
  'Cluster Architecture, Installation & Configuration',
  'Workloads & Scheduling',
  'Services & Networking',
  'Storage',
  'Troubleshooting',
  'Container primitives',
] as const;
export type LabDomain = (typeof LAB_DOMAINS)[number];

export type LabKind = 'level' | 'exercise';
export type LabDifficulty = 'beginner' | 'intermediate' | 'advanced';

/** Runtime features a lab needs beyond namespaces, cgroups, overlay and bridge networking. */
export const LAB_FEATURES = ['user', 'readOnlyRoot', 'capabilities', 'seccomp', 'noNewPrivileges', 'pod', 'volumes', 'init'] as const;
export type LabFeature = (typeof LAB_FEATURES)[number];

/** What `lab list --json` prints for each lab, exactly. */
export interface LabListEntry {
  id: string;
  title: string;
  kind: LabKind;
  domain: LabDomain;
}

/** How an attempt ended: stopped by the learner, or by its time limit (with the score it had then). */
export interface LabEnding {
  reason: 'stopped' | 'time-up';
  at: string;
  /** The score recorded at the end (time-up); null when the learner stopped it. */
  score: number | null;
}

/** Progress kept across sessions in the agent's state root. */
export interface LabProgress {
  /** Set while the lab's setup is in place (between lab.start and the attempt's end). */
  startedAt: string | null;
  /** When the running attempt's time is up (startedAt + time limit): it ends then, with the score it has. */
  deadline: string | null;
  lastScore: number | null;
  /** The learner's best: checks after the reference solution ran do not count. */
  bestScore: number | null;
  max: number;
  /** True once the learner's own work passed a check with full score. */
  completed: boolean;
  /** True once the reference solution was run (lab solve): shown apart from the learner's own passes. */
  solvedByReference: boolean;
  /** Checks the learner asked for (not the reference solution's). */
  attempts: number;
  /** How the last attempt ended, once one has. */
  lastEnded: LabEnding | null;
}

/** One lab in `lab.list`: the list entry plus what the view shows beside it. */
export interface LabSummary extends LabListEntry {
  difficulty: LabDifficulty;
  timeLimitMinutes: number;
  /** Order in the learning path (levels) or in the catalogue (exercises). */
  order: number;
  requires: LabFeature[];
  progress: LabProgress;
}

/** A check as the learner sees it before checking: what it looks at, never how to pass it. */
export interface LabCheckInfo {
  id: string;
  title: string;
  weight: number;
  needs: string[];
  hint: string | null;
  /** The CKA domain of the task this check grades, in a mock exam that mixes domains. */
  domain?: LabDomain;
}

export interface LabDetail extends LabSummary {
  /** Markdown, with paths such as the lab's work directory filled in. */
  task: string;
  /** The directory answers are written to (`{{workdir}}` in the task). */
  workdir: string;
  checks: LabCheckInfo[];
  hints: string[];
}

/** One check's outcome: exactly the shape `lab check --json` prints. */
export interface LabCheckResult {
  id: string;
  passed: boolean;
  weight: number;
  /** Empty when passed; what is missing when failed; "not checked: needs “TITLE” to pass first" when a needed check failed. */
  message: string;
  hint: string | null;
  /** The CKA domain of the task this check grades, in a mock exam that mixes domains. */
  domain?: LabDomain;
}

/** A mock exam's result in one CKA domain: the points of its checks. */
export interface LabDomainScore {
  domain: LabDomain;
  score: number;
  max: number;
}

/** The outcome of `lab.check`: exactly the shape `lab check --json` prints. */
export interface LabCheckReport {
  id: string;
  passed: boolean;
  score: number;
  max: number;
  checks: LabCheckResult[];
  /** Points by CKA domain, when the lab's checks name domains (a mock exam); absent otherwise. */
  byDomain?: LabDomainScore[];
}

export interface LabStarted {
  id: string;
  startedAt: string;
  /** startedAt + the time limit: the attempt ends then. */
  deadline: string;
  timeLimitMinutes: number;
  workdir: string;
  /** Containers the setup made. */
  containers: string[];
}

/** A reference solution as text: one line per step, in the order the engine runs them. */
export interface LabSolutionText {
  id: string;
  steps: string[];
  /** Markdown explanation, when the lab has one. */
  explanation: string | null;
}

type LabId = { id: string };

/** Request method → [params, result], to be merged into AgentMethods. */
export interface LabMethods {
  'lab.list': [Record<string, never>, LabSummary[]];
  'lab.show': [LabId, LabDetail];
  /** Performs the setup (after removing what an earlier start left). */
  'lab.start': [LabId, LabStarted];
  'lab.check': [LabId, LabCheckReport];
  /** Teardown, then setup again. */
  'lab.reset': [LabId, LabStarted];
  /** Teardown: removes every container, bridge and file the lab (or its solution) made. */
  'lab.stop': [LabId, LabId];
  'lab.solution': [LabId, LabSolutionText];
  /** Runs the reference solution (or the partial one) on the started lab, then checks. */
  'lab.solve': [LabId & { partial?: boolean }, LabCheckReport];
}

export type LabMethod = keyof LabMethods;

/** Sent to every client whenever a lab's progress changed — by any client's request, or by the clock (an attempt's time ran out). */
export interface LabNotifications {
  'lab.changed': { id: string; progress: LabProgress };
}
