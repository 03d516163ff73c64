/*
 * Every lab as a learner meets it in a terminal — `containers-lab lab start`, `check`, `solve`,
 * `stop`, each a fresh CLI process — both ways: standalone (no service answers: every command
 * runs the agent itself, so one process makes several containers and the next one finds them) and
 * through a real `containers-lab serve`. Each way: the untouched setup fails with score 0, the
 * reference solution scores full, stop leaves nothing in the kernel. (The example answers are
 * graded in-process by labs-levels/labs-exercises; this file proves the ways in are the same.)
 *
 * The labs are shared out between two test files (labs-both-ways-1/2.test.ts, alternate labs each):
 * run in parallel on the suite's two workers, they are no longer the one file the whole suite waits
 * for. Each file has a default bridge and subnet of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadLabs } from '../../agent/labs/loader';
import type { LabCheckReport } from '../../agent/protocol';
import type { CliResult } from './cli';
import { useOwnDefaultNetwork } from './default-network';
import { leftovers, NONE_LEFT } from './kernel-witness';
import { AGENT_BUNDLE, ensureBuilt, startService, stopService, type RunningService } from './service';
import { attemptNetworks, bridgesLeftBy, handMadeNames, LABS_DIRECTORY, processesNaming, useThisCheckoutsCli } from '../labs-harness';

let work: string;
let releaseNetwork: () => { bridgeGone: boolean };

function cli(stateRoot: string, socket: string, argv: readonly string[]): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [AGENT_BUNDLE, '--root', stateRoot, '--socket', socket, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CONTAINERS_LAB_LABS: LABS_DIRECTORY },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/**
 * Part `part` (0 or 1) of every lab, both ways: the labs at even or odd places in the list.
 * `bridge` and `subnet`: this file's own default network.
 */
export function everyLabBothWays(part: 0 | 1, bridge: string, subnet: string): void {
  const labs = loadLabs(LABS_DIRECTORY).filter((_, index) => index % 2 === part);

  beforeAll(() => {
    ensureBuilt();
    useThisCheckoutsCli();
    work = mkdtempSync(`/tmp/cl-labs-both-${part + 1}-`);
    mkdirSync(join(work, 'run'), { mode: 0o700 });
    // The labs' learner containers that name no bridge go here, in both ways (the service reads it too).
    releaseNetwork = useOwnDefaultNetwork(bridge, subnet);
  });

  afterAll(() => {
    expect(releaseNetwork().bridgeGone).toBe(true);
    rmSync(work, { recursive: true, force: true });
  });

  describe('standalone: no service, every command a fresh CLI process', () => eachLab('standalone', labs));
  describe('through the service', () => eachLab('service', labs));
}

function eachLab(way: 'standalone' | 'service', labs: ReturnType<typeof loadLabs>): void {
  const stateRoot = (): string => join(work, way);
  const socket = (): string => join(work, 'run', way === 'service' ? 'agent.sock' : 'nobody-listens.sock');
  let service: RunningService | null = null;
  const made: { id: string; pid: number | null }[] = [];

  beforeAll(async () => {
    mkdirSync(stateRoot());
    if (way === 'service') service = await startService(stateRoot(), socket());
  });

  afterAll(async () => {
    if (service) {
      expect(service.unexpectedExit()).toBeNull();
      await stopService(service);
    }
    expect(leftovers(stateRoot(), made)).toEqual(NONE_LEFT);
  });

  for (const lab of labs) {
    test(`${lab.id}: start → check fails → solve scores full → stop leaves nothing`, { timeout: 180_000 }, async () => {
      const run = (...argv: string[]): Promise<CliResult> => cli(stateRoot(), socket(), argv);
      const started = await run('lab', 'start', lab.id);
      expect(started.stderr).toBe('');
      expect(started.code).toBe(0);
      try {
        const unsolved = await run('lab', 'check', lab.id, '--json');
        expect(unsolved.code, unsolved.stderr).toBe(0);
        expect(JSON.parse(unsolved.stdout) as LabCheckReport).toMatchObject({ passed: false, score: 0 });

        const solved = await run('lab', 'solve', lab.id, '--json');
        expect(solved.code, solved.stderr).toBe(0);
        const report = JSON.parse(solved.stdout) as LabCheckReport;
        expect(report.checks.filter((check) => !check.passed)).toEqual([]);
        expect(report.score).toBe(report.max);

        const listed = JSON.parse((await run('ps', '-a', '--json')).stdout) as { id: string; pid: number | null }[];
        made.push(...listed);
        const bridges = Object.values(attemptNetworks(stateRoot(), lab.id)).map((network) => network.bridge);
        const byHand = handMadeNames(stateRoot(), lab.id, lab.cleanup);
        const workdir = join(stateRoot(), 'labs', 'work', lab.id);
        const stopped = await run('lab', 'stop', lab.id);
        expect(stopped.code, stopped.stderr).toBe(0);
        expect(processesNaming(workdir)).toEqual([]);
        expect(JSON.parse((await run('ps', '-a', '--json')).stdout)).toEqual([]);
        expect(leftovers(stateRoot(), listed)).toEqual(NONE_LEFT);
        expect(bridgesLeftBy(stateRoot(), bridges)).toEqual([]);
        expect(byHand.netns.filter((name) => existsSync(`/run/netns/${name}`))).toEqual([]);
      } finally {
        await run('lab', 'stop', lab.id);
      }
    });
  }
}

