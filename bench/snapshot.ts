/*
 * Benchmark: a host snapshot (every process's namespaces, uid and cgroups, grouped like lsns)
 * against util-linux `lsns -J`, at ≥ 2000 processes — and host.containers (every container on the
 * host, whoever made it: the same one pass over /proc, then its groups named by their makers).
 *
 * Both sides produce the namespace table: lsns as JSON that we parse (its output format is its
 * cost, as for any caller that wants the data), ours as objects (and per-process detail lsns
 * does not even give). Runs alternate so that load drifts hit both equally; the medians compare.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { snapshotProcesses } from '../agent/inspect/processes';
import { discoverHostContainers } from '../agent/inspect/host/host-containers';

export interface SnapshotBenchResult {
  name: string;
  ours_ms: number;
  lsns_ms: number;
  ratio: number;
  processes: number;
  /** host.containers (the same pass over /proc, grouped into containers and named by maker) vs lsns -J. */
  containers_ms: number;
  containers_ratio: number;
  containers: number;
}

const EXTRA_PROCESSES = 2000;
const BATCH = 200;
const RUNS = 9;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function time(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Starts `count` idle `sleep` processes, `BATCH` at a time, resolving once each has exec'd. */
async function startSleepers(count: number, into: ChildProcess[]): Promise<void> {
  for (let started = 0; started < count; started += BATCH) {
    const batch: Promise<void>[] = [];
    for (let index = started; index < Math.min(count, started + BATCH); index++) {
      const child = spawn('sleep', ['600'], { stdio: 'ignore' });
      into.push(child);
      batch.push(
        new Promise((resolve, reject) => {
          child.once('spawn', () => resolve());
          child.once('error', reject);
        }),
      );
    }
    await Promise.all(batch);
  }
}

/** Kills exactly the sleepers this benchmark started and waits until each is reaped. */
async function stopSleepers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

function runLsns(): unknown {
  const result = spawnSync('lsns', ['-J'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`lsns -J failed: ${result.stderr || result.error?.message}`);
  return JSON.parse(result.stdout);
}

export async function benchSnapshot(): Promise<SnapshotBenchResult> {
  const children: ChildProcess[] = [];
  try {
    await startSleepers(EXTRA_PROCESSES, children);
    const processes = fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).length;

    // One warm-up each: first-call costs (koffi binding, page cache of lsns) are not the steady state.
    snapshotProcesses();
    const containers = discoverHostContainers({ own: [] }).containers.length;
    runLsns();
    const ours: number[] = [];
    const theirs: number[] = [];
    const discovery: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      ours.push(time(() => snapshotProcesses()));
      theirs.push(time(() => runLsns()));
      discovery.push(time(() => discoverHostContainers({ own: [] })));
    }
    const containers_ms = median(discovery);
    const ours_ms = median(ours);
    const lsns_ms = median(theirs);
    return {
      name: `host snapshot vs lsns -J (${processes} processes)`,
      ours_ms: Number(ours_ms.toFixed(2)),
      lsns_ms: Number(lsns_ms.toFixed(2)),
      ratio: Number((ours_ms / lsns_ms).toFixed(3)),
      processes,
      containers_ms: Number(containers_ms.toFixed(2)),
      containers_ratio: Number((containers_ms / lsns_ms).toFixed(3)),
      containers,
    };
  } finally {
    await stopSleepers(children);
  }
}
