/*
 * The lifecycle's rounds: create → running → deleted of busybox /bin/true with the same
 * config.json, timed for the service two ways and for runc and crun, interleaved round by round so
 * that a slow moment of the machine falls on all of them alike.
 *
 *   containers-lab            the service started with --warm-pool: sandboxes (namespaces, cgroup,
 *                             rootfs) made ahead while it is idle       target ≤ 0.5× crun
 *   containers-lab, no pool   the service as it runs by default: every container made from
 *                             nothing when it is asked for             target ≤ 0.7× crun
 *   runc, crun                `run` as cold processes (./lifecycle.ts's harness)
 *
 * runc and crun are timed only once the pool has refilled: its refill would share the CPUs with them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchOciRuntime, benchServiceLifecycle, ROUNDS, RUNS_PER_ROUND, waitForV2Controllers, WARMUP_PER_ROUND } from './lifecycle';
import type { OciBundle } from './oci-bundle';
import { untilWarmPoolFull, type BenchService } from './service';
import { formatMs, summarize, type Summary } from './stats';

export type Measured<T> = { ok: true; value: T } | { ok: false; why: string };

export const POOLED = 'containers-lab';
export const PLAIN = 'containers-lab, no pool';
export type LifecycleName = typeof POOLED | typeof PLAIN | 'runc' | 'crun';
export type LifecycleResults = Record<LifecycleName, Measured<Summary>>;

export const LIFECYCLE_TARGETS = { pooledVsCrun: 0.5, plainVsCrun: 0.7 } as const;

export const RUNTIMES = [
  { name: 'runc', candidates: ['/usr/sbin/runc', '/usr/bin/runc'] },
  { name: 'crun', candidates: ['/usr/bin/crun', '/usr/sbin/crun'] },
] as const;

export interface LifecycleRun {
  /** The service with its warm pool, or why it did not start. */
  pooled: BenchService | string;
  /** The service with default settings, or why it did not start. */
  plain: BenchService | string;
  bundle: Measured<OciBundle>;
  work: string;
  runId: string;
  /** Every container id a service returned, for the leftovers check. */
  created: Set<string>;
  warnings: string[];
  v2ControllersBefore: string[];
  say: (line?: string) => void;
}

export const notRun = (why: string): Measured<never> => ({ ok: false, why });

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}

/** Samples per contender across rounds; one that fails once is reported with why and not retried. */
class LifecycleSamples {
  private readonly samples = new Map<LifecycleName, number[]>();
  private readonly failed = new Map<LifecycleName, string>();

  constructor(private readonly say: (line?: string) => void) {}

  fail(name: LifecycleName, why: string): void {
    this.failed.set(name, why);
  }

  wanted(name: LifecycleName): boolean {
    return !this.failed.has(name);
  }

  async add(name: LifecycleName, run: () => Promise<number[]>): Promise<void> {
    if (!this.wanted(name)) return;
    try {
      this.samples.set(name, [...(this.samples.get(name) ?? []), ...(await run())]);
    } catch (error) {
      this.say(`  ${name} could not run: ${reason(error)}`);
      this.failed.set(name, reason(error));
    }
  }

  summaries(): LifecycleResults {
    const one = (name: LifecycleName): Measured<Summary> => {
      const failure = this.failed.get(name);
      if (failure !== undefined) return notRun(failure);
      const samples = this.samples.get(name) ?? [];
      return samples.length > 0 ? { ok: true, value: summarize(samples) } : notRun('no samples');
    };
    return { [POOLED]: one(POOLED), [PLAIN]: one(PLAIN), runc: one('runc'), crun: one('crun') };
  }
}

/** Times every contender in ROUNDS interleaved rounds. */
export async function timeLifecycleRounds(run: LifecycleRun): Promise<LifecycleResults> {
  const lifecycle = new LifecycleSamples(run.say);
  if (typeof run.pooled === 'string') lifecycle.fail(POOLED, `the service did not start: ${run.pooled}`);
  if (typeof run.plain === 'string') lifecycle.fail(PLAIN, `the service did not start: ${run.plain}`);
  if (!run.bundle.ok) for (const runtime of RUNTIMES) lifecycle.fail(runtime.name, `no bundle: ${run.bundle.why}`);
  for (let round = 0; round < ROUNDS; round++) {
    run.say(`… lifecycle round ${round + 1}/${ROUNDS}: ${RUNS_PER_ROUND} timed runs each after ${WARMUP_PER_ROUND} warm-up`);
    const { pooled, plain } = run;
    if (typeof pooled !== 'string') {
      await lifecycle.add(POOLED, () => benchServiceLifecycle(pooled.client, `${run.runId}-life${round}`, run.created));
      if (!(await untilWarmPoolFull(pooled))) run.warnings.push(`round ${round + 1}: the warm pool did not refill within 15 s`);
    }
    if (typeof plain !== 'string') await lifecycle.add(PLAIN, () => benchServiceLifecycle(plain.client, `${run.runId}-plain${round}`, run.created));
    if (!run.bundle.ok) continue;
    const bundle = run.bundle.value;
    for (const runtime of RUNTIMES) {
      await lifecycle.add(runtime.name, () => benchOneShot(runtime, bundle, run, `${run.runId}-${runtime.name}${round}`));
    }
  }
  return lifecycle.summaries();
}

/** One harness process (one round) for runc or crun; resolves with its timed samples. */
async function benchOneShot(runtime: (typeof RUNTIMES)[number], bundle: OciBundle, run: LifecycleRun, idPrefix: string): Promise<number[]> {
  const binary = runtime.candidates.find((candidate) => existsSync(candidate));
  if (!binary) throw new Error(`${runtime.name} is not installed (looked at ${runtime.candidates.join(', ')})`);
  const before = run.v2ControllersBefore;
  // crun refuses a hybrid host while cgroup2 holds controllers: claim them for v1 (see ./lifecycle.ts).
  const claimV1 = runtime.name === 'crun' ? before.map((controller) => ({ controller, target: join(run.work, `v1-${controller}`) })) : [];
  const result = benchOciRuntime({
    binary,
    bundle: bundle.path,
    stateRoot: join(run.work, `${runtime.name}-state`),
    idPrefix,
    warmup: WARMUP_PER_ROUND,
    iterations: RUNS_PER_ROUND,
    claimV1,
  });
  if (claimV1.length > 0 && !(await waitForV2Controllers(before))) {
    run.warnings.push(`after crun, cgroup2 controllers did not return to [${before.join(' ')}]`);
  }
  if ('error' in result) throw new Error(result.error);
  if (result.timedDelete) run.say(`  (${runtime.name} run left its container: \`delete\` is timed too)`);
  return result.samples;
}


/** The summary's lines: each way of running the service against crun (and runc), medians of this run. */
export function lifecycleLines(results: LifecycleResults): string[] {
  const { runc, crun } = results;
  const median = (m: Measured<Summary>): string => (m.ok ? formatMs(m.value.median) : 'n/a');
  const line = (name: typeof POOLED | typeof PLAIN, target: number): string => {
    const ours = results[name];
    const head = `lifecycle: ${name} ${median(ours)}, runc ${median(runc)}, crun ${median(crun)}`;
    const goal = `(target ≤ ${target}× crun)`;
    if (!ours.ok || !crun.ok) return `${head} → no ratio: ${!ours.ok ? name : 'crun'} could not run ${goal} MISS`;
    const vsCrun = ours.value.median / crun.value.median;
    const vsRunc = runc.ok ? `, ${(ours.value.median / runc.value.median).toFixed(2)}× runc` : '';
    return `${head} → ${vsCrun.toFixed(2)}× crun${vsRunc} ${goal} ${vsCrun <= target ? 'PASS' : 'MISS'}`;
  };
  return [line(POOLED, LIFECYCLE_TARGETS.pooledVsCrun), line(PLAIN, LIFECYCLE_TARGETS.plainVsCrun)];
}
