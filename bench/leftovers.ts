/*
 * After the benchmark: proof that it left nothing behind, read from the kernel's own view.
 *
 * Everything the run made carries a name unique to it — container ids returned by the service,
 * runc/crun ids `<runId>-…`, the temporary directory — so leftovers can be searched for by name:
 *   - processes: any /proc/<pid> still alive that is the service, whose cgroup path names one of
 *     our ids, or whose command line mentions our temporary directory;
 *   - cgroups: any directory named after one of our ids in any cgroup hierarchy mounted on the
 *     host (found in /proc/self/mountinfo; the agent, runc and crun each place them differently);
 *   - mounts: any mount point under our temporary directory;
 *   - runc/crun state directories and the temporary directory itself.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface LeftoverQuery {
  /** Substrings that only our containers' names and ids contain. */
  markers: string[];
  servicePid: number | null;
  /** The benchmark's temporary directory (should be gone). */
  workDirectory: string;
}

export function findLeftovers(query: LeftoverQuery): string[] {
  const found: string[] = [];
  const ours = (text: string): boolean => query.markers.some((marker) => marker.length > 0 && text.includes(marker));

  if (query.servicePid !== null && isAlive(query.servicePid)) found.push(`the service (PID ${query.servicePid}) is still running`);
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const cgroups = readOrEmpty(`/proc/${pid}/cgroup`);
    const command = readOrEmpty(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim();
    if (ours(cgroups) || command.includes(query.workDirectory)) found.push(`process ${pid} (${command || '?'}) is still running`);
  }
  for (const hierarchy of cgroupMountPoints()) {
    for (const directory of directoriesUnder(hierarchy, 8)) {
      if (ours(directory.slice(hierarchy.length))) found.push(`cgroup ${directory} still exists`);
    }
  }
  for (const line of readOrEmpty('/proc/self/mountinfo').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint?.startsWith(query.workDirectory)) found.push(`${mountPoint} is still mounted`);
  }
  for (const stateDir of ['/run/runc', '/run/crun']) {
    for (const entry of existsSync(stateDir) ? readdirSync(stateDir) : []) {
      if (ours(entry)) found.push(`runtime state ${join(stateDir, entry)} still exists`);
    }
  }
  if (existsSync(query.workDirectory)) found.push(`${query.workDirectory} still exists`);
  return found;
}

function isAlive(pid: number): boolean {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return stat !== '' && state !== 'Z' && state !== 'X';
}

function listPids(): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
}

function cgroupMountPoints(): string[] {
  return readOrEmpty('/proc/self/mountinfo')
    .split('\n')
    .filter((line) => /^cgroup2? /.test(line.split(' - ')[1] ?? ''))
    .map((line) => line.split(' ')[4]!);
}

/** Every directory below `root`, at most `depth` levels down (cgroup trees are shallow). */
function directoriesUnder(root: string, depth: number): string[] {
  if (depth === 0) return [];
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const path = join(root, entry.name);
    found.push(path, ...directoriesUnder(path, depth - 1));
  }
  return found;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Removes the temporary directory, but never through a mount point (that would delete its contents). */
export function removeWorkDirectory(work: string, warnings: string[]): void {
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === work || mountPoint.startsWith(`${work}/`));
  if (mounted.length > 0) {
    warnings.push(`not removing ${work}: still mounted there: ${mounted.join(', ')}`);
    return;
  }
  rmSync(work, { recursive: true, force: true });
}

/** The report's last word on a part: what it checked was left behind, or each warning on a line of its own. */
export function cleanupReport(warnings: readonly string[], nothingLeft: string): string {
  return warnings.length === 0 ? `cleanup: nothing left behind (${nothingLeft})` : warnings.map((warning) => `WARNING: left behind or not restored: ${warning}`).join('\n');
}

/**
 * The end every benchmark part in a scratch directory has: `part` runs (a failure is one
 * "<label>: could not run: …" line), the directory goes, then what is left of the run is looked
 * for by `markers` and reported beside the `warnings` the part gathered.
 */
export async function runInScratch(
  say: (line?: string) => void,
  label: string,
  scratch: string,
  markers: string[],
  nothingLeft: string,
  warnings: string[],
  part: () => Promise<void>,
): Promise<void> {
  try {
    await part();
  } catch (error) {
    say(`${label}: could not run: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  warnings.push(...findLeftovers({ markers, servicePid: null, workDirectory: scratch }));
  say(cleanupReport(warnings, nothingLeft));
}
