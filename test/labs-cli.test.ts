/*
 * `containers-lab lab …` end to end on real containers, standalone (no service on the socket):
 * the exact --json shapes, a learner's run through the real `run` verb turning a check green,
 * the kernel's own view as witness, and one-line errors for bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadLabs } from '../agent/labs/loader';
import { openRuntime } from '../agent/runtime/runtime';
import { runCli, type CliResult } from './helpers/cli';
import { addressesOf, ipAddr } from './helpers/ip-addr';
import { useOwnDefaultNetwork } from './helpers/default-network';
import { ipJson, leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { LABS_DIRECTORY } from './labs-harness';

// This file's default network, given to the CLI the way a shell would: other suites run on cl0
// or their own bridges at the same time, each with its own address leases.
const BRIDGE = 'cllabc0';
const SUBNET = '10.77.123.0/24';
let stateRoot: string;
let releaseNetwork: () => { bridgeGone: boolean };

/** One verb through the CLI's own main(), standalone: no agent answers on this socket. */
const cli = (verb: string, argv: string[]): Promise<CliResult> => runCli(['--root', stateRoot, '--socket', `${stateRoot}/no-agent.sock`, verb, ...argv]);
const lab = (...argv: string[]): Promise<CliResult> => cli('lab', argv);

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-labs-cli-');
  releaseNetwork = useOwnDefaultNetwork(BRIDGE, SUBNET);
});

afterAll(async () => {
  const runtime = openRuntime({ stateRoot });
  const made = runtime.list().map((summary) => ({ id: summary.id, pid: summary.pid }));
  for (const summary of runtime.list()) await runtime.remove(summary.id, true);
  runtime.close();
  const { bridgeGone } = releaseNetwork();
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(bridgeGone).toBe(true);
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('lab list and show', () => {
  test('list --json is exactly [{id, title, kind, domain}] for every lab file, ≥12 levels and ≥20 exercises', async () => {
    const result = await lab('list', '--json');
    expect(result.code).toBe(0);
    const entries = JSON.parse(result.stdout) as Record<string, unknown>[];
    for (const entry of entries) expect(Object.keys(entry).sort()).toEqual(['domain', 'id', 'kind', 'title']);
    expect(entries.map((entry) => entry.id)).toEqual(loadLabs(LABS_DIRECTORY).map((definition) => definition.id));
    expect(entries.filter((entry) => entry.kind === 'level').length).toBeGreaterThanOrEqual(12);
    expect(entries.filter((entry) => entry.kind === 'exercise').length).toBeGreaterThanOrEqual(20);
  });

  test('list prints a table; show --json carries the task and checks but no solution', async () => {
    const table = await lab('list');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+KIND\s+MIN\s+PROGRESS\s+DOMAIN\s+TITLE$/);
    expect(table.stdout).toContain('uts-namespace');
    const detail = JSON.parse((await lab('show', 'pid-namespace', '--json')).stdout) as Record<string, unknown>;
    expect(detail.task).toContain(`${stateRoot}/labs/work/pid-namespace/host-pid`);
    expect(JSON.stringify(detail)).not.toMatch(/"(solution|params|steps)"/);
    for (const check of detail.checks as Record<string, unknown>[]) expect(Object.keys(check).sort()).toEqual(['hint', 'id', 'needs', 'title', 'weight']);
  });

  test('show of a mock exam prints what each CKA domain is worth, weighted like the exam', async () => {
    for (const id of ['mock-exam', 'mock-exam-b']) {
      const shown = await lab('show', id);
      expect(shown.code).toBe(0);
      expect(shown.stdout.split('\n').slice(-7).join('\n')).toBe([
        'Points by domain:',
        '  Troubleshooting: 30 (30%)',
        '  Cluster Architecture, Installation & Configuration: 25 (25%)',
        '  Services & Networking: 20 (20%)',
        '  Workloads & Scheduling: 15 (15%)',
        '  Storage: 10 (10%)',
        '',
      ].join('\n'));
      const detail = JSON.parse((await lab('show', id, '--json')).stdout) as { checks: { weight: number; domain?: string }[] };
      expect(detail.checks.filter((check) => check.weight > 0).every((check) => check.domain !== undefined)).toBe(true);
    }
    expect((await lab('show', 'pid-namespace')).stdout).not.toContain('Points by domain');
  });
});

describe('a learner solves uts-namespace from the terminal', () => {
  test('start → check fails naming what is missing → run → check passes → stop removes it', async () => {
    expect((await lab('start', 'uts-namespace')).code).toBe(0);

    const before = await lab('check', 'uts-namespace', '--json');
    expect(before.code).toBe(0);
    const unsolved = JSON.parse(before.stdout);
    expect(Object.keys(unsolved)).toEqual(['id', 'passed', 'score', 'max', 'checks']);
    expect(unsolved).toMatchObject({ id: 'uts-namespace', passed: false, score: 0, max: 4 });
    for (const check of unsolved.checks) expect(Object.keys(check)).toEqual(['id', 'passed', 'weight', 'message', 'hint']);
    expect(unsolved.checks.map((check: { message: string }) => check.message)).toEqual([
      'no running container named "named" (found: no container named "named")',
      'not checked: needs “Container "named" runs” to pass first',
      'not checked: needs “It has its own UTS namespace” to pass first',
    ]);

    const run = await cli('run', ['-d', '--name', 'named', '--hostname', 'lab-uts', 'busybox', '--', 'sleep', '3600']);
    expect(run.code).toBe(0);
    const after = JSON.parse((await lab('check', 'uts-namespace', '--json')).stdout);
    expect(after).toEqual({
      id: 'uts-namespace', passed: true, score: 4, max: 4,
      checks: [
        { id: 'running', passed: true, weight: 1, message: '', hint: null },
        { id: 'own-uts', passed: true, weight: 1, message: '', hint: null },
        { id: 'hostname', passed: true, weight: 2, message: '', hint: 'containers-lab run -d --name named --hostname lab-uts busybox -- sleep 3600' },
      ],
    });
    // The kernel agrees: the container's UTS namespace holds lab-uts, the host's does not.
    const runtime = openRuntime({ stateRoot });
    const record = runtime.inspect('named');
    runtime.close();
    expect(execFileSync('nsenter', ['-t', String(record.pid), '-u', 'hostname'], { encoding: 'utf8' }).trim()).toBe('lab-uts');
    expect(execFileSync('hostname', { encoding: 'utf8' }).trim()).not.toBe('lab-uts');
    // …and plugged its veth into the bridge $CONTAINERS_LAB_BRIDGE named, with an address of its subnet.
    expect(ipJson<{ master?: string }[]>(['link', 'show', 'dev', record.network.vethHost!])[0]!.master).toBe(BRIDGE);
    expect(addressesOf(ipAddr(record.pid!, ['dev', 'eth0'])[0]!, 'inet')).toEqual([expect.stringMatching(/^10\.77\.123\.\d+\/24$/)]);

    const human = await lab('check', 'uts-namespace');
    expect(human.stdout).toContain('Score: 4/4 — passed');
    const list = JSON.parse((await lab('list', '--json')).stdout) as { id: string }[];
    expect(list.some((entry) => entry.id === 'uts-namespace')).toBe(true);

    expect((await lab('solution', 'uts-namespace')).stdout).toContain('containers-lab run -d --name named --hostname lab-uts busybox -- sleep 3600');
    expect((await lab('stop', 'uts-namespace')).code).toBe(0);
    expect(leftovers(stateRoot, [{ id: record.id, pid: record.pid }])).toEqual(NONE_LEFT);
    expect(existsSync(`${stateRoot}/labs/work/uts-namespace`)).toBe(false);
  });

  test('solve --partial scores what the partial weights say, in the human form too', async () => {
    await lab('start', 'uts-namespace');
    const partial = await lab('solve', 'uts-namespace', '--partial');
    expect(partial.stdout).toMatch(/✗ hostname \[2\] — the hostname inside "named" is not lab-uts \(found: hostname is "[^"]+"\)/);
    expect(partial.stdout).toContain('Score: 2/4');
    await lab('stop', 'uts-namespace');
    expect((await cli('rm', ['named'])).stderr).toMatch(/no container named/);
  });
});

describe('bad input: one line, non-zero exit, nothing made', () => {
  test.each([
    [['frobnicate'], 2, /^containers-lab: lab: unknown subcommand "frobnicate"/],
    [['show'], 2, /^containers-lab: lab show: missing the lab ID/],
    [['list', 'extra'], 2, /^containers-lab: lab list: unexpected argument "extra"/],
    [['check', 'no-such-lab'], 1, /^containers-lab: no lab "no-such-lab"/],
    [['check', 'a-process'], 1, /^containers-lab: lab "a-process" is not started/],
    [['start', 'a-process', '--partial'], 2, /^containers-lab: lab: --partial goes with solve/],
  ])('lab %j', async (argv, code, pattern) => {
    const result = await lab(...argv);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
  });
});
