/*
 * Benchmark: one container's whole life — create → its process running → deleted — for a
 * busybox `/bin/true`, through the warm Containers Lab service and through `runc run` and
 * `crun run`, with the same config.json (see ./oci-bundle.ts) and the same limits.
 *
 * What is timed:
 *   - Containers Lab: on the client side of the service's socket, `container.run` (create +
 *     start), waiting for the container to be reported stopped (the `container.changed`
 *     notification), then `container.remove` (cgroup, overlay and record gone).
 *   - runc / crun: one `<runtime> run --bundle B ID` command, from fork to exit, as a shell would
 *     run it. Without --detach, `run` creates, starts, waits for the process and deletes the
 *     container (state and cgroup) before it exits; the harness checks that, and would add and
 *     time `delete` if a container were left. Each runtime keeps its state in a private --root.
 *   Both runtimes are timed by the same small harness: a fresh Node process (the same binary as
 *   this benchmark) that runs the CLI with spawnSync in a loop, inside a private mount namespace.
 *
 * What crun needs on this machine (crun 1.8.1, Debian 12):
 *   The machine's cgroups are a v1/v2 hybrid: memory, cpu, pids… are v1 hierarchies under
 *   /sys/fs/cgroup/<controller>, and /sys/fs/cgroup/unified is a cgroup2 mount. A controller that
 *   no v1 hierarchy claims is bound by the kernel to the v2 hierarchy; here that is hugetlb, so
 *   unified/cgroup.controllers reads "hugetlb". crun detects "hybrid" when /sys/fs/cgroup is a
 *   tmpfs and the cgroup2 mount has any controller, and refuses before doing anything:
 *       cgroups in hybrid mode not supported, drop all controllers from cgroupv2
 *   (runc 1.1 supports hybrid: it manages the v1 controllers and also joins the unified tree.)
 *   The cure is to claim those controllers for v1: `mount -t cgroup -o hugetlb …` anywhere. A
 *   controller can be moved while no v2 cgroup enables it, and the move is kernel-wide (the
 *   controller list of cgroup2 empties for everyone), but the *mount* is only visible where it is
 *   made, so the harness makes it inside its own private mount namespace (`unshare --mount
 *   --propagation private`), at a directory in the benchmark's temporary directory — not under
 *   /sys/fs/cgroup, whose tmpfs the host shares. crun lists hierarchies from /sys/fs/cgroup, so it
 *   does not use the new hierarchy at all and creates no cgroup in it. When the namespace's last
 *   process exits the mount goes away; a v1 hierarchy with no child cgroups is then destroyed and
 *   the kernel gives the controller back to cgroup2 — asynchronously, a few milliseconds later.
 *   The benchmark waits for unified/cgroup.controllers to read as before and warns if it does not.
 *   On a pure v2 host (the Debian lab VM) nothing of this is needed and nothing is mounted.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PR_SET_CHILD_SUBREAPER } from '../agent/kernel/constants';
import { prctl, reap } from '../agent/kernel/processes';
import type { AgentClient } from '../agent/service/client';
import type { RunOptions } from '../agent/protocol';
import { millisecondsSince } from './stats';

/** The container every runtime makes: same command, network namespace without links, limits. */
export const LIFECYCLE_OPTIONS: RunOptions = { args: ['/bin/true'], net: 'none', memory: '64m', cpus: 0.5, pids: 64 };

/*
 * The three runtimes take turns: ROUNDS rounds, each timing RUNS_PER_ROUND lives per runtime after
 * WARMUP_PER_ROUND untimed ones. Load on a shared machine drifts over seconds; interleaving makes
 * such drift hit all three alike instead of whichever happened to run during it.
 */
export const ROUNDS = 5;
export const RUNS_PER_ROUND = 8;
export const WARMUP_PER_ROUND = 2;
export const ITERATIONS = ROUNDS * RUNS_PER_ROUND;

/** argv[2] that makes dist/bench.js run as the timing harness instead of the benchmark. */
export const OCI_HARNESS_FLAG = '--oci-harness';

// --- Containers Lab through the warm service ----------------------------------------------------

/**
 * Times `iterations` container lives (after `warmup` untimed ones). Every container id the
 * service returned is added to `created`, so the caller can verify nothing was left behind.
 */
export async function benchServiceLifecycle(
  client: AgentClient,
  namePrefix: string,
  created: Set<string>,
  warmup = WARMUP_PER_ROUND,
  iterations = RUNS_PER_ROUND,
): Promise<number[]> {
  // Notifications and answers travel in order on one socket: a container that stopped before
  // `container.run` answered has its notification here before the answer arrives.
  const stopped = new Set<string>();
  const waiters = new Map<string, () => void>();
  const unsubscribe = client.on('container.changed', ({ id, status }) => {
    if (status !== 'stopped') return;
    stopped.add(id);
    waiters.get(id)?.();
  });
  const untilStopped = (id: string): Promise<void> =>
    stopped.has(id) ? Promise.resolve() : new Promise((resolve) => waiters.set(id, resolve));

  const samples: number[] = [];
  try {
    for (let index = 0; index < warmup + iterations; index++) {
      const start = process.hrtime.bigint();
      const record = await client.call('container.run', { ...LIFECYCLE_OPTIONS, name: `${namePrefix}-${index}` });
      created.add(record.id);
      if (record.status !== 'stopped') await untilStopped(record.id);
      await client.call('container.remove', { id: record.id });
      const elapsed = millisecondsSince(start);
      waiters.delete(record.id);
      stopped.delete(record.id);
      if (index >= warmup) samples.push(elapsed);
    }
  } finally {
    unsubscribe();
  }
  return samples;
}

// --- runc and crun as one-shot CLIs -------------------------------------------------------------

export interface OciRunRequest {
  /** Path of the runtime binary (runc or crun; node for containers-lab-runc). */
  binary: string;
  /** Arguments before the runtime's own (containers-lab-runc's script, run by node). */
  prefixArgs?: string[];
  /**
   * 'run' (default): one `run` command. 'create-start-delete': the three commands containerd's
   * shim runs, each a cold process, and between start and delete the wait for the program's exit
   * (the harness is the subreaper that reaps it, as the shim is); see ./runc-cli.ts.
   */
  mode?: 'run' | 'create-start-delete';
  bundle: string;
  /** A private state directory (`--root`), removed with the benchmark's temporary directory. */
  stateRoot: string;
  /** Container ids are `<idPrefix>-<n>`: unique to this run, and what leftover checks look for. */
  idPrefix: string;
  warmup: number;
  iterations: number;
  /** Controllers to claim as v1 hierarchies inside the harness's mount namespace (crun on hybrid). */
  claimV1: { controller: string; target: string }[];
  /** Variables the runtime's processes do not inherit from the harness (see ./runc-cli.ts). */
  unsetEnv?: string[];
}

export type OciRunResult = { samples: number[]; timedDelete: boolean } | { error: string };

/** The cgroup2 mount of a hybrid host (cgroup2 mounted below a tmpfs /sys/fs/cgroup), or null. */
export function hybridUnifiedMount(): string | null {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const fsTypeOf = (line: string): string => line.split(' - ')[1]?.split(' ')[0] ?? '';
  const mountPoint = (line: string): string => line.split(' ')[4] ?? '';
  const cgroupRootIsTmpfs = lines.some((line) => mountPoint(line) === '/sys/fs/cgroup' && fsTypeOf(line) === 'tmpfs');
  const unified = lines.find((line) => fsTypeOf(line) === 'cgroup2');
  return cgroupRootIsTmpfs && unified ? mountPoint(unified) : null;
}

/** The controllers cgroup2 holds on a hybrid host: what crun wants gone. */
export function hybridV2Controllers(): string[] {
  const unified = hybridUnifiedMount();
  if (!unified) return [];
  return readFileSync(join(unified, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
}

/** Runs the harness in a private mount namespace and returns its samples (or why it failed). */
export function benchOciRuntime(request: OciRunRequest): OciRunResult {
  const result = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', '--', process.execPath, __filename, OCI_HARNESS_FLAG, JSON.stringify(request)],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (result.error) return { error: `cannot start the harness: ${result.error.message}` };
  const lastLine = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(lastLine) as OciRunResult;
  } catch {
    return { error: `the harness failed (exit ${result.status ?? result.signal}): ${oneLine(result.stderr || result.stdout)}` };
  }
}

/** Waits until cgroup2's controller list reads `expected` again (the kernel returns them lazily). */
export async function waitForV2Controllers(expected: string[], timeoutMs = 5000): Promise<boolean> {
  const want = [...expected].sort().join(' ');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ([...hybridV2Controllers()].sort().join(' ') === want) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The harness itself (runs in the child, inside the private mount namespace); prints one JSON line. */
export function runOciHarness(argv: string[]): void {
  const request = JSON.parse(argv[0] ?? '{}') as OciRunRequest;
  let result: OciRunResult;
  const mounted: string[] = [];
  try {
    for (const { controller, target } of request.claimV1) {
      mkdirSync(target, { recursive: true });
      const mount = spawnSync('mount', ['-t', 'cgroup', '-o', controller, `containers-lab-bench-${controller}`, target], { encoding: 'utf8' });
      if (mount.status !== 0) throw new Error(`mount -t cgroup -o ${controller} failed: ${oneLine(mount.stderr)}`);
      mounted.push(target);
    }
    result = timeRuns(request);
  } catch (error) {
    result = { error: error instanceof Error ? error.message : String(error) };
  } finally {
    for (const target of mounted.reverse()) spawnSync('umount', [target]);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function timeRuns(request: OciRunRequest): OciRunResult {
  const { binary, bundle, stateRoot, idPrefix } = request;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !request.unsetEnv?.includes(name)));
  const runtime = (args: string[]) =>
    spawnSync(binary, [...(request.prefixArgs ?? []), '--root', stateRoot, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env });
  if (request.mode === 'create-start-delete') return timeCreateStartDelete(request, runtime, env);
  const samples: number[] = [];
  let timedDelete = false;
  for (let index = 0; index < request.warmup + request.iterations; index++) {
    const id = `${idPrefix}-${index}`;
    const start = process.hrtime.bigint();
    const run = runtime(['run', '--bundle', bundle, id]);
    if (timedDelete) runtime(['delete', '--force', id]);
    const elapsed = millisecondsSince(start);
    if (run.error) return { error: `${binary} cannot be started: ${run.error.message}` };
    if (run.status !== 0) {
      runtime(['delete', '--force', id]);
      return { error: `${binary} run exited with ${run.status ?? run.signal}: ${oneLine(run.stderr || run.stdout) || '(no message)'}` };
    }
    // `run` should delete its container on exit; if this one did not, time `delete` from now on.
    if (index === 0 && existsSync(join(stateRoot, id))) {
      timedDelete = true;
      runtime(['delete', '--force', id]);
    }
    if (index >= request.warmup) samples.push(elapsed);
  }
  return { samples, timedDelete };
}

type RuntimeCall = (args: string[]) => SpawnSyncReturns<string>;

/** create, start, (the program's exit, reaped here), delete: each a cold process, timed together. */
function timeCreateStartDelete(request: OciRunRequest, runtime: RuntimeCall, env: NodeJS.ProcessEnv): OciRunResult {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  mkdirSync(request.stateRoot, { recursive: true });
  const runtimeWithOutputIn = (file: string, args: string[]): SpawnSyncReturns<string> => {
    const fd = openSync(file, 'w');
    try {
      const result = spawnSync(request.binary, [...(request.prefixArgs ?? []), '--root', request.stateRoot, ...args], { stdio: ['ignore', fd, fd], encoding: 'utf8', env });
      return { ...result, stderr: readFileSync(file, 'utf8') };
    } finally {
      closeSync(fd);
    }
  };
  const samples: number[] = [];
  const failed = (verb: string, result: ReturnType<RuntimeCall>): OciRunResult =>
    ({ error: `${request.binary} ${verb} exited with ${result.status ?? result.signal}: ${oneLine(result.stderr || result.stdout) || '(no message)'}` });
  for (let index = 0; index < request.warmup + request.iterations; index++) {
    const id = `${request.idPrefix}-${index}`;
    const pidFile = join(request.stateRoot, `${id}.pid`);
    const start = process.hrtime.bigint();
    // Not pipes: the container's first process gets create's stdout and stderr (as runc's does
    // with no terminal) and holds them until it exits, and spawnSync reads a pipe to its end.
    const createdOutput = join(request.stateRoot, `${id}.out`);
    const created = runtimeWithOutputIn(createdOutput, ['create', '--bundle', request.bundle, '--pid-file', pidFile, id]);
    if (created.error) return { error: `${request.binary} cannot be started: ${created.error.message}` };
    if (created.status !== 0) return failed('create', created);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const started = runtime(['start', id]);
    if (started.status !== 0) {
      runtime(['delete', '--force', id]);
      return failed('start', started);
    }
    reap(pid, true);
    const deleted = runtime(['delete', id]);
    const elapsed = millisecondsSince(start);
    rmSync(pidFile, { force: true });
    rmSync(createdOutput, { force: true });
    if (deleted.status !== 0) return failed('delete', deleted);
    if (index >= request.warmup) samples.push(elapsed);
  }
  return { samples, timedDelete: true };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
