/*
 * Check "cpu-share": prioritisation is behaviour. A CPU weight (v2 cpu.weight, 1–10000, default
 * 100; v1 cpu.shares, default 1024) does nothing while a CPU is idle: it only says how busy groups
 * split a CPU they contend for. So the check makes them contend — every process of both containers
 * is pinned to one CPU (sched_setaffinity, `taskset`) for a moment — and measures each cgroup's
 * CPU time over that moment, then gives the processes their CPUs back. A quota (cpu.max,
 * cpu.cfs_quota_us) also shifts the split, but it caps a container even on an idle node: it is
 * not an answer to "give it priority", so a capped container fails here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import type { CgroupRecord } from '../../protocol';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { cpuLimit } from './cgroup-limit';
import { cpuUsageNs } from './cgroup-usage';
import { CheckFailed, failIf, running } from './outcome';

const MEASURE_MS = 1_200;

/** Every process in the cgroup (v1: the cpu hierarchy's; v2: the unified directory's). */
function processesOf(cgroup: CgroupRecord): number[] {
  const directory = cgroup.directories.cpuacct ?? cgroup.directories.cpu ?? cgroup.directories.unified;
  if (!directory) return [];
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    for (const line of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n')) if (line) pids.add(Number(line));
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(`${dir}/${entry.name}`);
  };
  walk(directory);
  return [...pids];
}

/** Each thread's CPU list now, to give it back. */
function affinityOf(pid: number): string | null {
  try {
    return /:\s*(\S+)\s*$/.exec(execFileSync('taskset', ['-pc', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1] ?? null;
  } catch {
    return null; // gone meanwhile
  }
}

function setAffinity(pid: number, cpus: string): void {
  try {
    execFileSync('taskset', ['-apc', cpus, String(pid)], { stdio: 'ignore' });
  } catch {
    // a process that exited meanwhile needs nothing
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function checkCpuShare(params: CheckParamsByKind['cpu-share'], context: LabContext): Promise<void> {
  const favoured = running(context, params.favoured).cgroup;
  const other = running(context, params.other).cgroup;
  if (!favoured || !other) throw new CheckFailed('both containers need a cgroup');
  for (const [name, cgroup] of [[params.favoured, favoured], [params.other, other]] as const) {
    const quota = cpuLimit(cgroup);
    failIf(quota !== null, `"${name}" is capped at ${quota} CPUs by a quota — a cap holds even when the CPU is idle; a weight only shares`);
  }
  const pids = [...processesOf(favoured), ...processesOf(other)];
  const before = new Map(pids.map((pid) => [pid, affinityOf(pid)]));
  const cpu = String(Math.max(0, ...readFileSync('/sys/devices/system/cpu/online', 'utf8').trim().split(/[,-]/).map(Number).slice(-1)));
  try {
    for (const pid of pids) setAffinity(pid, cpu);
    await sleep(200); // let the scheduler settle on the one CPU
    const [a0, b0] = [cpuUsageNs(favoured), cpuUsageNs(other)];
    await sleep(MEASURE_MS);
    const [a, b] = [cpuUsageNs(favoured) - a0, cpuUsageNs(other) - b0];
    failIf(a + b < MEASURE_MS * 1e6 * 0.1, `the two containers used ${((a + b) / 1e6).toFixed(0)} ms of CPU in ${MEASURE_MS} ms: they are not both busy`);
    const ratio = a / Math.max(b, 1);
    failIf(ratio < params.atLeast, `on one CPU "${params.favoured}" got ${(a / 1e6).toFixed(0)} ms and "${params.other}" ${(b / 1e6).toFixed(0)} ms (${ratio.toFixed(1)}×, not ${params.atLeast}×)`);
  } finally {
    for (const [pid, cpus] of before) if (cpus) setAffinity(pid, cpus);
  }
}
