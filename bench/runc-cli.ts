/*
 * Benchmark: containers-lab-runc as containerd's shim runs it — `create`, `start`, `delete`, each
 * a cold process — against runc and crun with the same bundle, in the same run.
 *
 * One sample is one container's life through the three commands: `create --bundle B --pid-file F
 * ID` (the first process left waiting on its exec FIFO), `start ID` (it runs busybox /bin/true),
 * the wait for that process's exit (the harness is its subreaper and reaps it, as the shim is),
 * then `delete ID`. The bundle is ./oci-bundle.ts's (the agent's own config.json for the
 * lifecycle's options), its root a plain copy of the busybox layer; each runtime keeps its state
 * in a private --root. The same harness as ./lifecycle.ts times all three, interleaved in rounds,
 * inside a private mount namespace (crun on a hybrid host needs it).
 *
 * Where the time of containers-lab-runc goes is mostly Node: three processes each start V8 and
 * load the runtime's bundle; runc (Go) and crun (C) start in a few milliseconds. So the table
 * also times Node's own start-up, three `node -e 0` per sample: the floor of any runtime that is
 * three Node processes. Targets from issue 16: ≤ 1× runc and ≤ 2× crun, median against median.
 *
 * What is timed is the command containerd runs: the installed /usr/local/bin/containers-lab-runc
 * (scripts/setup-host.sh) when it runs this build, else `node dist/agent/containers-lab-runc.js`
 * the same way. That command drops NODE_EXTRA_CA_CERTS, which makes every Node process parse the
 * system's CA bundle at start-up (~50 ms each, before any JavaScript) for a runtime that makes no
 * TLS connection; when the variable is set here, a second line shows what it would cost.
 *
 * Then ./ctr-run.ts: the same runtime under containerd's shim, `ctr run --rm` against runc.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBusyboxImage } from '../agent/runtime/image/busybox';
import { benchCtrRun } from './ctr-run';
import { runInScratch } from './leftovers';
import { benchOciRuntime, hybridV2Controllers, LIFECYCLE_OPTIONS, waitForV2Controllers, WARMUP_PER_ROUND } from './lifecycle';
import { createOciBundle, type OciBundle } from './oci-bundle';
import { formatMs, summarize, summaryRow, type Summary } from './stats';

export const RUNC_CLI_ROUNDS = 5;
export const RUNC_CLI_RUNS_PER_ROUND = 6;
export const RUNC_CLI_TARGETS = { vsRunc: 1, vsCrun: 2 } as const;

/** The runtime bundled beside this benchmark (dist/bench.js → dist/agent/containers-lab-runc.js). */
const OUR_RUNTIME = join(__dirname, 'agent', 'containers-lab-runc.js');
/** The command scripts/setup-host.sh installs for containerd (`--runc-binary containers-lab-runc`). */
const INSTALLED_COMMAND = '/usr/local/bin/containers-lab-runc';

const WITH_EXTRA_CA = 'node containers-lab-runc.js, NODE_EXTRA_CA_CERTS kept';
const NODE_FLOOR = "Node's start-up alone: 3 × node -e 0";

/** The installed command, when it is the one for this build; else Node running the bundle (the same thing, minus the shell). */
function ourCommand(): { binary: string; prefixArgs: string[]; unsetEnv: string[] } | undefined {
  if (!existsSync(OUR_RUNTIME)) return undefined;
  let installed = '';
  try {
    installed = readFileSync(INSTALLED_COMMAND, 'utf8');
  } catch {
    // not installed: Node runs the bundle directly
  }
  // The script's own `exec node <path> "$@"` line: a path that merely ends like ours (another checkout's) is not this build.
  const runsThisBuild = installed.split('\n').some((line) => line.trim().split(/\s+/).includes(OUR_RUNTIME));
  return runsThisBuild
    ? { binary: INSTALLED_COMMAND, prefixArgs: [], unsetEnv: [] }
    : { binary: process.execPath, prefixArgs: [OUR_RUNTIME], unsetEnv: ['NODE_EXTRA_CA_CERTS'] };
}

/** Three bare Node start-ups per sample, without NODE_EXTRA_CA_CERTS as the runtime's command has it. */
function timeNodeFloor(samples: number): number[] {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const times: number[] = [];
  for (let index = 0; index < samples; index++) {
    const start = process.hrtime.bigint();
    for (let verb = 0; verb < 3; verb++) spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', env });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

interface Contender {
  name: 'containers-lab-runc' | 'runc' | 'crun' | typeof WITH_EXTRA_CA;
  binary: string | undefined;
  prefixArgs: string[];
  unsetEnv?: string[];
  /** In container ids and directory names (default: the name). */
  slug?: string;
}

type Measured = Summary | { why: string };
export type RuncCliResult = Record<'containers-lab-runc' | 'runc' | 'crun', Measured> & { [WITH_EXTRA_CA]?: Measured; [NODE_FLOOR]?: Measured };

/** Times the three runtimes; `claimV1` as ./lifecycle.ts needs it for crun on a hybrid host. */
export async function benchRuncCli(
  bundle: OciBundle,
  work: string,
  runId: string,
  claimV1ForCrun: { controller: string; target: string }[],
  afterCrun: () => Promise<void>,
): Promise<RuncCliResult> {
  const ours = ourCommand();
  const contenders: Contender[] = [
    { name: 'containers-lab-runc', binary: ours?.binary, prefixArgs: ours?.prefixArgs ?? [], unsetEnv: ours?.unsetEnv ?? [] },
    { name: 'runc', binary: ['/usr/sbin/runc', '/usr/bin/runc'].find((path) => existsSync(path)), prefixArgs: [] },
    { name: 'crun', binary: ['/usr/bin/crun', '/usr/sbin/crun'].find((path) => existsSync(path)), prefixArgs: [] },
  ];
  if (process.env.NODE_EXTRA_CA_CERTS !== undefined && existsSync(OUR_RUNTIME)) {
    contenders.splice(1, 0, { name: WITH_EXTRA_CA, binary: process.execPath, prefixArgs: [OUR_RUNTIME], slug: 'containers-lab-runc-extra-ca' });
  }
  const samples = new Map<Contender['name'] | typeof NODE_FLOOR, number[]>();
  const failed = new Map<Contender['name'], string>();
  for (const { name, binary } of contenders) if (!binary) failed.set(name, `${name} is not installed`);
  for (let round = 0; round < RUNC_CLI_ROUNDS; round++) {
    for (const contender of contenders) {
      if (failed.has(contender.name)) continue;
      const result = benchOciRuntime({
        binary: contender.binary!,
        prefixArgs: contender.prefixArgs,
        mode: 'create-start-delete',
        bundle: bundle.path,
        stateRoot: join(work, `cli-${contender.slug ?? contender.name}-state`),
        idPrefix: `${runId}-cli-${contender.slug ?? contender.name}${round}`,
        warmup: WARMUP_PER_ROUND,
        iterations: RUNC_CLI_RUNS_PER_ROUND,
        claimV1: contender.name === 'crun' ? claimV1ForCrun : [],
        ...(contender.unsetEnv ? { unsetEnv: contender.unsetEnv } : {}),
      });
      if (contender.name === 'crun') await afterCrun();
      if ('error' in result) failed.set(contender.name, result.error);
      else samples.set(contender.name, [...(samples.get(contender.name) ?? []), ...result.samples]);
    }
    samples.set(NODE_FLOOR, [...(samples.get(NODE_FLOOR) ?? []), ...timeNodeFloor(RUNC_CLI_RUNS_PER_ROUND)]);
  }
  const one = (name: Contender['name']): Measured =>
    failed.has(name) ? { why: failed.get(name)! } : summarize(samples.get(name) ?? []);
  return {
    'containers-lab-runc': one('containers-lab-runc'),
    ...(contenders.some((contender) => contender.name === WITH_EXTRA_CA) ? { [WITH_EXTRA_CA]: one(WITH_EXTRA_CA) } : {}),
    runc: one('runc'),
    crun: one('crun'),
    [NODE_FLOOR]: summarize(samples.get(NODE_FLOOR) ?? []),
  };
}


/** The table and the summary line, with the ratios of this run's medians. */
export function runcCliReport(result: RuncCliResult): { table: string[]; summary: string } {
  const table: string[] = [
    `runc command line: create + start + delete of busybox /bin/true as cold processes, same bundle; ${RUNC_CLI_ROUNDS * RUNC_CLI_RUNS_PER_ROUND} timed per runtime in ${RUNC_CLI_ROUNDS} interleaved rounds (${WARMUP_PER_ROUND} warm-up each)`,
    summaryRow('runtime', 46),
  ];
  for (const [name, s] of Object.entries(result) as [string, Measured][]) {
    table.push('why' in s ? `  ${name.padEnd(46)}  could not run: ${s.why}` : summaryRow(name, 46, s));
  }
  const median = (s: Measured): string => ('why' in s ? 'n/a' : formatMs(s.median));
  const versus = (ours: Measured, other: Measured, name: string, target: number): string => {
    if ('why' in ours || 'why' in other) return `no ratio to ${name} (target ≤ ${target}× ${name}) MISS`;
    const ratio = ours.median / other.median;
    return `${ratio.toFixed(2)}× ${name} (target ≤ ${target}×) ${ratio <= target ? 'PASS' : 'MISS'}`;
  };
  const line = (label: string, ours: Measured): string =>
    `runc CLI: ${label} ${median(ours)}, runc ${median(result.runc)}, crun ${median(result.crun)} → ${versus(ours, result.runc, 'runc', RUNC_CLI_TARGETS.vsRunc)}, ${versus(ours, result.crun, 'crun', RUNC_CLI_TARGETS.vsCrun)}`;
  const withExtraCa = result[WITH_EXTRA_CA];
  const floor = result[NODE_FLOOR];
  return {
    table,
    summary: [
      line('containers-lab-runc', result['containers-lab-runc']),
      ...(withExtraCa ? [line(WITH_EXTRA_CA, withExtraCa)] : []),
      ...(floor && !('why' in floor) && !('why' in result.runc)
        ? [`runc CLI: ${NODE_FLOOR} is ${formatMs(floor.median)} = ${(floor.median / result.runc.median).toFixed(2)}× runc's whole create + start + delete (the floor of three Node processes)`]
        : []),
    ].join('\n'),
  };
}

/** The whole part: its own bundle and state in a temporary directory, the report, the cleanup check. */
export async function runRuncCliBench(say: (line?: string) => void): Promise<void> {
  const runId = `clr${randomBytes(4).toString('hex')}`;
  const work = mkdtempSync('/tmp/containers-lab-bench-runc-');
  const warnings: string[] = [];
  const v2Before = hybridV2Controllers();
  say();
  say('… runc command line: containers-lab-runc, runc and crun, create + start + delete');
  await runInScratch(say, 'runc CLI', work, [runId], 'no processes, cgroups, mounts, runtime state or temp files', warnings, async () => {
    const bundle = createOciBundle(join(work, 'bundle'), ensureBusyboxImage(join(work, 'root')).path, LIFECYCLE_OPTIONS);
    const claimV1 = v2Before.map((controller) => ({ controller, target: join(work, `v1-${controller}`) }));
    const result = await benchRuncCli(bundle, work, runId, claimV1, async () => {
      if (!(await waitForV2Controllers(v2Before))) warnings.push(`after crun, cgroup2 controllers did not return to [${v2Before.join(' ')}]`);
    });
    const { table, summary } = runcCliReport(result);
    say();
    for (const line of table) say(line);
    say(summary);
  });
  const ours = ourCommand();
  await benchCtrRun(say, ours?.binary === INSTALLED_COMMAND ? INSTALLED_COMMAND : undefined, OUR_RUNTIME);
}
