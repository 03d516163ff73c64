/*
 * What an OCI runtime remembers of its containers: its --root state directory.
 *
 * runc and crun are not daemons. `runc create` sets the container up, leaves its first process
 * waiting, writes down what it needs for the later verbs and exits; `start`, `state`, `kill` and
 * `delete` are new processes that read that record again. The record lives in the runtime's
 * --root directory, one subdirectory per container id:
 *
 *   runc   <root>/<id>/state.json   {"id", "init_process_pid", "init_process_start", "created",
 *                                    "config": {"rootfs", "labels": ["bundle=<dir>"]}, "cgroup_paths", …}
 *          <root>/<id>/exec.fifo    exists while the container is created and not yet started
 *   crun   <root>/<id>/status       {"pid", "process-start-time", "bundle", "rootfs", "created", …}
 *   OCI    <root>/<id>/state.json   the runtime-spec's state document {"ociVersion", "id", "pid", "bundle", "status"}
 *
 * Default roots: runc /run/runc, crun /run/crun, Containers Lab's runc-compatible runtime
 * /run/containers-lab-runc; containerd's shim passes /run/containerd/runc/<namespace> (or the
 * `root` of its options). Only the few fields a listing needs are kept; a directory that is not
 * a runtime's (or a record half-written) is skipped, never an error.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface RuntimeStateEntry {
  /** Which runtime's record: runc, crun or containers-lab-runc (an OCI state document under its root). */
  runtime: string;
  id: string;
  pid: number;
  /** /proc/<pid>/stat's start time the runtime recorded (guards against a reused PID); null if not recorded. */
  startTime: number | null;
  bundle: string | null;
  created: boolean;
  stateDir: string;
  /** The freezer directory (runc's cgroup_paths.freezer) for "paused". */
  freezer: string | null;
}

/** The default --root of each runtime (as root). */
export const DEFAULT_RUNTIME_ROOTS: readonly { root: string; runtime: string }[] = [
  { root: '/run/runc', runtime: 'runc' },
  { root: '/run/crun', runtime: 'crun' },
  { root: '/run/containers-lab-runc', runtime: 'containers-lab-runc' },
];

type Json = Record<string, unknown>;

function readJson(path: string): Json | null {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}

const numberOr = (value: unknown): number | null => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null);
const stringOr = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** One container's record under a root, whichever runtime wrote it; null when there is none. */
export function readStateEntry(stateDir: string, runtimeOfRoot: string): RuntimeStateEntry | null {
  const id = basename(stateDir);
  const state = readJson(join(stateDir, 'state.json'));
  if (state && numberOr(state.init_process_pid)) {
    // runc's (libcontainer's) own record
    const config = (state.config ?? {}) as Json;
    const labels = Array.isArray(config.labels) ? config.labels.filter((label): label is string => typeof label === 'string') : [];
    const bundle = labels.find((label) => label.startsWith('bundle='))?.slice('bundle='.length) ?? null;
    const cgroupPaths = (state.cgroup_paths ?? {}) as Json;
    return {
      runtime: runtimeOfRoot === 'containers-lab-runc' ? runtimeOfRoot : 'runc',
      id: stringOr(state.id) ?? id,
      pid: numberOr(state.init_process_pid)!,
      startTime: numberOr(state.init_process_start),
      bundle,
      created: existsSync(join(stateDir, 'exec.fifo')),
      stateDir,
      freezer: stringOr(cgroupPaths.freezer),
    };
  }
  if (state && numberOr(state.pid) && typeof state.ociVersion === 'string') {
    // the runtime-spec's state document, as containers-lab-runc may keep it
    return {
      runtime: runtimeOfRoot,
      id: stringOr(state.id) ?? id,
      pid: numberOr(state.pid)!,
      startTime: null,
      bundle: stringOr(state.bundle),
      created: state.status === 'created',
      stateDir,
      freezer: null,
    };
  }
  const status = readJson(join(stateDir, 'status'));
  if (status && numberOr(status.pid)) {
    // crun's record
    return {
      runtime: 'crun',
      id,
      pid: numberOr(status.pid)!,
      startTime: numberOr(status['process-start-time']),
      bundle: stringOr(status.bundle),
      created: existsSync(join(stateDir, 'exec.fifo')),
      stateDir,
      freezer: null,
    };
  }
  return null;
}

/** Every container record under one --root directory (none if it does not exist). */
export function readStateRoot(root: string, runtimeOfRoot: string): RuntimeStateEntry[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.flatMap((name) => readStateEntry(join(root, name), runtimeOfRoot) ?? []);
}
