/*
 * `npm run bench`: Containers Lab against the reference tools, measured in one run on one machine.
 *
 *   lifecycle  create → running → deleted of a busybox /bin/true: the warm service vs `runc run`
 *              and `crun run` with the same config.json        target ≤ 0.5× crun   (./lifecycle.ts)
 *   memory     the service's RSS idle and with 100 containers   target < 60 / < 100 MiB (./memory.ts)
 *   snapshot   a host snapshot at ≥ 2000 processes vs lsns     target ≤ 1× lsns     (./snapshot.ts)
 *   extension  VS Code palette → container running → shell prompt, over loopback SSH
 *                                                              target < 2 s         (./extension.ts)
 *   images     pull + unpack vs skopeo + umoci; RSS while pulling a 200 MB layer; run of a
 *              4-layer image vs busybox   targets ≤ 1×, < 50 MiB, ≤ 1.2×   (./images.ts, --only images)
 *   pods       Pod YAML (init + 2 app containers) from apply to all Running, median of 20
 *                                                              target < 300 ms      (./pods.ts, --only pods)
 *   runc CLI   containers-lab-runc create + start + delete as cold processes vs runc and crun,
 *              same bundle                targets ≤ 1× runc, ≤ 2× crun   (./runc-cli.ts, --only runc-cli)
 *
 * Absolute times depend on the machine; ratios against tools measured in the same run do much
 * less, which is why every target is a ratio or a bound that holds anywhere. The benchmark reports
 * and never fails: it exits 0 with a PASS or MISS per target. It cleans up after itself (service
 * stopped, containers, cgroups, runtime state and temporary files removed) and says so, or prints
 * a warning naming what was left.
 *
 * Run as `node dist/bench.js` (built by build.mjs). Called with OCI_HARNESS_FLAG it is instead the
 * timing harness that ./lifecycle.ts starts inside a private mount namespace for runc and crun.
 * `npm run bench -- --only lifecycle` runs the lifecycle alone (about a minute instead of many):
 * the warm service, runc and crun, its summary line and the cleanup check.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { join } from 'node:path';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import { ensureBusyboxImage } from '../agent/runtime/image/busybox';
import { benchExtension, EXTENSION_RUNS, EXTENSION_TARGET_MS, EXTENSION_WARMUP, extensionBenchUnavailable, type ExtensionBenchResult } from './extension';
import { runImagesBench } from './images';
import { runRuncCliBench } from './runc-cli';
import { findLeftovers, removeWorkDirectory } from './leftovers';
import {
  benchOciRuntime, benchServiceLifecycle, hybridV2Controllers, ITERATIONS, LIFECYCLE_OPTIONS, OCI_HARNESS_FLAG, ROUNDS,
  RUNS_PER_ROUND, runOciHarness, waitForV2Controllers, WARMUP_PER_ROUND,
} from './lifecycle';
import { CONTAINER_COUNT, idleResidentMiB, residentWithContainers, type MemoryAtScale } from './memory';
import { createOciBundle, type OciBundle } from './oci-bundle';
import { runPodsBench } from './pods';
import { benchSnapshot, type SnapshotBenchResult } from './snapshot';
import { BENCH_WARM_POOL, startService, untilWarmPoolFull, type BenchService } from './service';
import { summarize, type Summary } from './stats';
import { runTopologyBench } from './topology';

/** How a benchmark that this machine cannot run says so (it is not a failure of the benchmark). */
const SKIPPED = 'skipped: ';
const TARGETS = { lifecycleVsCrun: 0.5, idleMiB: 60, atScaleMiB: 100, snapshotVsLsns: 1 } as const;
const RUNTIMES = [
  { name: 'runc', candidates: ['/usr/sbin/runc', '/usr/bin/runc'] },
  { name: 'crun', candidates: ['/usr/bin/crun', '/usr/sbin/crun'] },
] as const;

type Measured<T> = { ok: true; value: T } | { ok: false; why: string };

interface Results {
  lifecycle: Record<'containers-lab' | 'runc' | 'crun', Measured<Summary>>;
  idle: Measured<number>;
  atScale: Measured<MemoryAtScale>;
  snapshot: Measured<SnapshotBenchResult>;
  extension: Measured<ExtensionBenchResult>;
  /** Idle RSS of the warm service (its pool's parked sandboxes included), for comparison. */
  warmIdleMiB?: number;
  warnings: string[];
}

const say = (line = ''): void => void process.stdout.write(`${line}\n`);

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}

async function measure<T>(what: string, run: () => T | Promise<T>): Promise<Measured<T>> {
  say(`… ${what}`);
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    say(`  ${what} failed: ${reason(error)}`);
    return { ok: false, why: reason(error) };
  }
}

const notRun = (why: string): Measured<never> => ({ ok: false, why });

/** `--only lifecycle`: the one part that can run alone (the others share its service and set-up). */
const ONLY_FLAG = '--only';
type Only = 'all' | 'lifecycle' | 'images' | 'pods' | 'runc-cli';

function onlyFrom(argv: string[]): Only | { error: string } {
  if (argv.length === 0) return 'all';
  if (argv.length === 2 && argv[0] === ONLY_FLAG && argv[1] === 'lifecycle') return 'lifecycle';
  if (argv.length === 2 && argv[0] === ONLY_FLAG && argv[1] === 'images') return 'images';
  if (argv.length === 2 && argv[0] === ONLY_FLAG && argv[1] === 'pods') return 'pods';
  if (argv.length === 2 && argv[0] === ONLY_FLAG && argv[1] === 'runc-cli') return 'runc-cli';
  return { error: `unknown arguments "${argv.join(' ')}": the benchmark takes none, ${ONLY_FLAG} lifecycle, ${ONLY_FLAG} images, ${ONLY_FLAG} pods or ${ONLY_FLAG} runc-cli` };
}

async function runBenchmarks(only: Only): Promise<Results> {
  const runId = `clb${randomBytes(4).toString('hex')}`;
  const work = mkdtempSync('/tmp/containers-lab-bench-');
  const created = new Set<string>();
  const results: Results = {
    lifecycle: { 'containers-lab': notRun('not run'), runc: notRun('not run'), crun: notRun('not run') },
    idle: notRun('not run'),
    atScale: notRun('not run'),
    snapshot: notRun('not run'),
    extension: notRun('not run'),
    warnings: [],
  };
  const v2ControllersBefore = hybridV2Controllers();
  let service: BenchService | null = null;
  try {
    // Memory is measured on the service as it runs by default (no warm pool) …
    if (only === 'all') await measureMemory(runId, work, created, results);

    // … and the lifecycle on the warm service, with sandboxes made ahead.
    const started = await measure('starting the warm service (--warm-pool) for the lifecycle', () => startService(work));
    if (started.ok) service = started.value;
    else results.lifecycle['containers-lab'] = notRun(`the service did not start: ${started.why}`);
    if (service) {
      const { client, pid } = service;
      const pooled = await measure('warm service RSS, idle', () => idleResidentMiB(client, pid));
      if (pooled.ok) results.warmIdleMiB = pooled.value;
    }

    // The same busybox layer the agent uses (built by it already, or built here the same way).
    const bundle = await measure('OCI bundle for runc and crun', () =>
      createOciBundle(join(work, 'bundle'), ensureBusyboxImage(service?.root ?? join(work, 'root')).path, LIFECYCLE_OPTIONS),
    );
    if (v2ControllersBefore.length > 0) {
      say(`  crun refuses hybrid cgroups while cgroup2 holds controllers (${v2ControllersBefore.join(', ')}): its harness claims them as v1 in a private mount namespace`);
    }
    const lifecycle = new LifecycleSamples(service !== null, bundle.ok ? null : `no bundle: ${bundle.why}`);
    for (let round = 0; round < ROUNDS; round++) {
      say(`… lifecycle round ${round + 1}/${ROUNDS}: ${RUNS_PER_ROUND} timed runs each after ${WARMUP_PER_ROUND} warm-up`);
      if (service && lifecycle.wanted('containers-lab')) {
        const client = service.client;
        await lifecycle.add('containers-lab', () => benchServiceLifecycle(client, `${runId}-life${round}`, created));
        // runc and crun are timed only once the pool has refilled: its refill does not run beside them
        if (!(await untilWarmPoolFull(service))) results.warnings.push(`round ${round + 1}: the warm pool did not refill to ${BENCH_WARM_POOL} within 15 s`);
      }
      for (const runtime of RUNTIMES) {
        if (!bundle.ok || !lifecycle.wanted(runtime.name)) continue;
        await lifecycle.add(runtime.name, () =>
          benchOneShot(runtime, bundle.value, work, `${runId}-${runtime.name}${round}`, results.warnings, v2ControllersBefore),
        );
      }
    }
    results.lifecycle = lifecycle.summaries();
  } finally {
    if (service) await stopService(service, created, results.warnings);
  }
  if (only === 'all') await runSnapshotAndExtension(results);

  removeWorkDirectory(work, results.warnings);
  if (!(await waitForV2Controllers(v2ControllersBefore))) {
    results.warnings.push(`cgroup2 controllers are [${hybridV2Controllers().join(' ')}], were [${v2ControllersBefore.join(' ')}]`);
  }
  results.warnings.push(...findLeftovers({ markers: [runId, ...created], servicePid: service?.pid ?? null, workDirectory: work }));
  return results;
}

/** The service's RSS as it runs by default (no warm pool): idle, and with CONTAINER_COUNT containers. */
async function measureMemory(runId: string, work: string, created: Set<string>, results: Results): Promise<void> {
  const plain = await measure('starting the service (default settings) for memory', () => startService(join(work, 'plain'), 0));
  if (plain.ok) {
    const { client, pid } = plain.value;
    try {
      results.idle = await measure('service RSS, idle', () => idleResidentMiB(client, pid));
      results.atScale = await measure(`service RSS with ${CONTAINER_COUNT} containers`, () =>
        residentWithContainers(client, pid, `${runId}-idle`, created),
      );
    } finally {
      await stopService(plain.value, created, results.warnings);
    }
  } else {
    results.idle = notRun(`the service did not start: ${plain.why}`);
    results.atScale = notRun(`the service did not start: ${plain.why}`);
  }
}

async function runSnapshotAndExtension(results: Results): Promise<void> {
  results.snapshot = await measure('host snapshot vs lsns', () => benchSnapshot());
  // Without code-server or Chromium on this machine the rest still runs: say why this part did not.
  const noExtensionBench = extensionBenchUnavailable();
  if (noExtensionBench) {
    say(`… VS Code extension benchmark skipped: ${noExtensionBench}`);
    results.extension = notRun(`${SKIPPED}${noExtensionBench}`);
  } else {
    results.extension = await measure('VS Code extension: palette → running → shell prompt (code-server, headless Chromium, loopback sshd)', () =>
      benchExtension(say, results.warnings),
    );
  }
}

type RuntimeName = keyof Results['lifecycle'];

/** Samples per runtime across rounds; a runtime that fails once is reported with why and not retried. */
class LifecycleSamples {
  private readonly samples = new Map<RuntimeName, number[]>();
  private readonly failed = new Map<RuntimeName, string>();

  constructor(serviceRunning: boolean, bundleProblem: string | null) {
    if (!serviceRunning) this.failed.set('containers-lab', 'the service did not start');
    if (bundleProblem) for (const runtime of RUNTIMES) this.failed.set(runtime.name, bundleProblem);
  }

  wanted(name: RuntimeName): boolean {
    return !this.failed.has(name);
  }

  async add(name: RuntimeName, run: () => Promise<number[]>): Promise<void> {
    try {
      this.samples.set(name, [...(this.samples.get(name) ?? []), ...(await run())]);
    } catch (error) {
      say(`  ${name} could not run: ${reason(error)}`);
      this.failed.set(name, reason(error));
    }
  }

  summaries(): Results['lifecycle'] {
    const one = (name: RuntimeName): Measured<Summary> => {
      const failure = this.failed.get(name);
      if (failure !== undefined) return notRun(failure);
      const samples = this.samples.get(name) ?? [];
      return samples.length > 0 ? { ok: true, value: summarize(samples) } : notRun('no samples');
    };
    return { 'containers-lab': one('containers-lab'), runc: one('runc'), crun: one('crun') };
  }
}

/** One harness process (one round) for runc or crun; resolves with its timed samples. */
async function benchOneShot(
  runtime: (typeof RUNTIMES)[number],
  bundle: OciBundle,
  work: string,
  idPrefix: string,
  warnings: string[],
  v2ControllersBefore: string[],
): Promise<number[]> {
  const binary = runtime.candidates.find((candidate) => existsSync(candidate));
  if (!binary) throw new Error(`${runtime.name} is not installed (looked at ${runtime.candidates.join(', ')})`);
  // crun refuses a hybrid host while cgroup2 holds controllers: claim them for v1 (see ./lifecycle.ts).
  const claimV1 =
    runtime.name === 'crun' ? v2ControllersBefore.map((controller) => ({ controller, target: join(work, `v1-${controller}`) })) : [];
  const result = benchOciRuntime({
    binary,
    bundle: bundle.path,
    stateRoot: join(work, `${runtime.name}-state`),
    idPrefix,
    warmup: WARMUP_PER_ROUND,
    iterations: RUNS_PER_ROUND,
    claimV1,
  });
  if (claimV1.length > 0 && !(await waitForV2Controllers(v2ControllersBefore))) {
    warnings.push(`after crun, cgroup2 controllers did not return to [${v2ControllersBefore.join(' ')}]`);
  }
  if ('error' in result) throw new Error(result.error);
  if (result.timedDelete) say(`  (${runtime.name} run left its container: \`delete\` is timed too)`);
  return result.samples;
}

/** Removes any container of ours the service still has, then stops the service. */
async function stopService(service: BenchService, created: Set<string>, warnings: string[]): Promise<void> {
  try {
    for (const summary of await service.client.call('container.list', {})) {
      if (!created.has(summary.id)) continue;
      warnings.push(`container ${summary.name} was still there at the end (removed now)`);
      await service.client.call('container.remove', { id: summary.id, force: true });
    }
  } catch (error) {
    warnings.push(`could not list/remove containers before stopping the service: ${reason(error)}`);
  }
  await service.stop();
}

// --- the report -----------------------------------------------------------------------------------

const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const mib = (value: number): string => `${value.toFixed(1)} MiB`;
const ratio = (value: number): string => `${value.toFixed(2)}×`;
const verdict = (pass: boolean): string => (pass ? 'PASS' : 'MISS');

/** What protects the timed container, read from the config.json every runtime is given. */
function securityDefaults(): string {
  const linux = configFromRunOptions(LIFECYCLE_OPTIONS, { rootfs: 'rootfs', name: 'busybox' }).linux;
  const rules = linux?.seccomp?.syscalls?.length ?? 0;
  const devices = linux?.resources?.devices?.length ?? 0;
  return `${rules ? `the default seccomp profile (${rules} rules)` : 'no seccomp filter'}, ${devices ? `Docker's device rules (${devices})` : 'no device rules'}`;
}

function printReport(results: Results, only: Only): void {
  say();
  say(`Containers Lab benchmark — kernel ${release()}, Node ${process.version}, ${availableParallelism()} CPUs`);
  say();
  say(`Container lifecycle: busybox /bin/true, create → running → deleted; ${ITERATIONS} timed runs per runtime in ${ROUNDS} interleaved rounds (${WARMUP_PER_ROUND} warm-up each)`);
  say(`  same config.json for all: pid, ipc, uts, mount, network, cgroup namespaces; memory 64 MiB, cpu 50000/100000, pids 64; ${securityDefaults()}`);
  say(`  containers-lab: the service started with --warm-pool ${BENCH_WARM_POOL} (sandboxes made ahead while idle); runc and crun are timed after it has refilled`);
  say(`  ${'runtime'.padEnd(16)}${'median'.padStart(11)}${'p95'.padStart(11)}${'min'.padStart(11)}${'max'.padStart(11)}`);
  for (const [name, measured] of Object.entries(results.lifecycle)) {
    if (!measured.ok) {
      say(`  ${name.padEnd(16)}  could not run: ${measured.why}`);
      continue;
    }
    const s = measured.value;
    say(`  ${name.padEnd(16)}${ms(s.median).padStart(11)}${ms(s.p95).padStart(11)}${ms(s.min).padStart(11)}${ms(s.max).padStart(11)}`);
  }
  if (only === 'lifecycle') {
    say();
    say('Summary');
    say(lifecycleLine(results));
    sayCleanup(results);
    return;
  }
  say();
  say('Service memory (VmRSS of the service process, default settings)');
  say(`  idle (after start + agent.info): ${results.idle.ok ? mib(results.idle.value) : `not measured: ${results.idle.why}`}`);
  if (results.warmIdleMiB !== undefined) say(`  idle with --warm-pool ${BENCH_WARM_POOL} (the lifecycle's service): ${mib(results.warmIdleMiB)}`);
  if (results.atScale.ok) {
    const a = results.atScale.value;
    say(`  with ${a.count} running containers: ${mib(a.rssMiB)}; started one by one in ${ms(a.startAllMs)} (${ms(a.startAllMs / a.count)} each), removed in ${ms(a.removeAllMs)}`);
  } else {
    say(`  with ${CONTAINER_COUNT} running containers: not measured: ${results.atScale.why}`);
  }
  say();
  say('Host snapshot');
  if (results.snapshot.ok) {
    const s = results.snapshot.value;
    say(`  ${s.name}: containers-lab ${ms(s.ours_ms)}, lsns ${ms(s.lsns_ms)}`);
    say(`  every container on the host (host.containers, ${s.containers} found): ${ms(s.containers_ms)} → ${ratio(s.containers_ratio)} lsns -J`);
  } else {
    say(`  not measured: ${results.snapshot.why}`);
  }
  say();
  say('VS Code extension: code-server + headless Chromium, the packaged .vsix, agent over loopback SSH');
  if (results.extension.ok) {
    const e = results.extension.value;
    say(`  ${e.runs} timed runs (${EXTENSION_WARMUP} warm-up) after connecting once; set-up (sshd, agent, code-server, workbench, connect) took ${e.setupSeconds.toFixed(1)} s`);
    say(`  ${'from → to'.padEnd(44)}${'median'.padStart(11)}${'p95'.padStart(11)}${'min'.padStart(11)}${'max'.padStart(11)}`);
    const row = (label: string, s: Summary): void =>
      say(`  ${label.padEnd(44)}${ms(s.median).padStart(11)}${ms(s.p95).padStart(11)}${ms(s.min).padStart(11)}${ms(s.max).padStart(11)}`);
    row('"Start busybox container" → running (agent)', e.running);
    row('"Start busybox container" → node in the tree', e.treeNode);
    row('"Open Shell in Container" → `/ # ` shown', e.shell);
    row('start → node, + open shell → prompt', e.toPrompt);
  } else {
    say(`  ${results.extension.why.startsWith(SKIPPED) ? '' : 'not measured: '}${results.extension.why}`);
  }
  say();
  say('Summary');
  say(lifecycleLine(results));
  say(memoryLine('memory idle', results.idle.ok ? results.idle.value : null, TARGETS.idleMiB, results.idle.ok ? '' : results.idle.why));
  say(
    memoryLine(
      `memory with ${CONTAINER_COUNT} containers`,
      results.atScale.ok ? results.atScale.value.rssMiB : null,
      TARGETS.atScaleMiB,
      results.atScale.ok ? '' : results.atScale.why,
    ),
  );
  say(snapshotLine(results.snapshot));
  say(extensionLine(results.extension));
  sayCleanup(results);
}

function sayCleanup(results: Results): void {
  say();
  if (results.warnings.length === 0) say('cleanup: nothing left behind (service stopped; no containers, cgroups, mounts, runtime state or temp files)');
  for (const warning of results.warnings) say(`WARNING: left behind or not restored: ${warning}`);
}

function lifecycleLine(results: Results): string {
  const { 'containers-lab': ours, runc, crun } = results.lifecycle;
  const median = (m: Measured<Summary>): string => (m.ok ? ms(m.value.median) : 'n/a');
  const head = `lifecycle: containers-lab ${median(ours)}, runc ${median(runc)}, crun ${median(crun)}`;
  const target = `(target ≤ ${TARGETS.lifecycleVsCrun}× crun)`;
  if (!ours.ok || !crun.ok) return `${head} → no ratio: ${!ours.ok ? 'containers-lab' : 'crun'} could not run ${target} MISS`;
  const vsCrun = ours.value.median / crun.value.median;
  const vsRunc = runc.ok ? `, ${ratio(ours.value.median / runc.value.median)} runc` : '';
  return `${head} → ${ratio(vsCrun)} crun${vsRunc} ${target} ${verdict(vsCrun <= TARGETS.lifecycleVsCrun)}`;
}

function memoryLine(label: string, value: number | null, limit: number, why: string): string {
  if (value === null) return `${label}: not measured (${why}) (target < ${limit} MiB) MISS`;
  return `${label}: ${mib(value)} (target < ${limit} MiB) ${verdict(value < limit)}`;
}

function snapshotLine(snapshot: Measured<SnapshotBenchResult>): string {
  const target = `(target ≤ ${TARGETS.snapshotVsLsns}× lsns)`;
  if (!snapshot.ok) return `snapshot: not measured (${snapshot.why}) ${target} MISS`;
  const s = snapshot.value;
  return `snapshot: containers-lab ${ms(s.ours_ms)}, lsns ${ms(s.lsns_ms)} at ${s.processes} processes → ${ratio(s.ratio)} lsns ${target} ${verdict(s.ratio <= TARGETS.snapshotVsLsns)}\n` +
    `host containers: ${ms(s.containers_ms)} → ${ratio(s.containers_ratio)} lsns ${target} ${verdict(s.containers_ratio <= TARGETS.snapshotVsLsns)}`;
}

function extensionLine(extension: Measured<ExtensionBenchResult>): string {
  const target = `(target < ${EXTENSION_TARGET_MS / 1000} s)`;
  if (!extension.ok) {
    return `palette → running, → shell prompt: ${extension.why.startsWith(SKIPPED) ? extension.why : `not measured (${extension.why})`} ${target} MISS`;
  }
  const { running, toPrompt } = extension.value;
  const both = (s: Summary): string => `${ms(s.median)} p50 / ${ms(s.p95)} p95`;
  const pass = running.p95 < EXTENSION_TARGET_MS && toPrompt.p95 < EXTENSION_TARGET_MS;
  return `palette → running: ${both(running)}, → shell prompt: ${both(toPrompt)} over ${EXTENSION_RUNS} runs ${target} ${verdict(pass)}`;
}

async function main(): Promise<void> {
  if (process.argv[2] === OCI_HARNESS_FLAG) {
    runOciHarness(process.argv.slice(3));
    return;
  }
  if (process.getuid?.() !== 0) {
    say('the benchmark must run as root (it creates containers with the agent, runc and crun)');
    process.exitCode = 1;
    return;
  }
  const only = onlyFrom(process.argv.slice(2));
  if (typeof only === 'object') {
    say(only.error);
    process.exitCode = 1;
    return;
  }
  if (only === 'images') return runImagesBench(say);
  if (only === 'pods') return runPodsBench(say);
  if (only === 'runc-cli') return runRuncCliBench(say);
  printReport(await runBenchmarks(only), only);
  if (only === 'all') await runTopologyBench(say);
  if (only === 'all') await runImagesBench(say);
  if (only === 'all') await runPodsBench(say);
  if (only === 'all') await runRuncCliBench(say);
}

main().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
