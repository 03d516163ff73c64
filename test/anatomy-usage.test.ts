/*
 * What the Anatomy view computes from a container record, checked against the kernel: each limit's
 * file holds the value shown; the CPU rate from cpuUsageNs deltas stays within the cgroup's CPU
 * quota while a busy loop runs; the pids series follows processes started inside; an OOM kill is
 * marked as an event on the sample that saw the counter go up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { cgroupLimitFiles } from '../extension/webviews/anatomy/cgroup-limits';
import { UsageHistory } from '../extension/webviews/anatomy/usage-history';
import { execCollect } from './helpers/exec';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

let stateRoot: string;
let runtime: ContainerRuntime;
let record: ContainerRecord;

beforeAll(async () => {
  stateRoot = mkdtempSync('/tmp/cl-anatomy-usage-test-');
  runtime = openRuntime({ stateRoot });
  record = await runtime.run({ name: 'anatomy-usage', memory: '24m', cpus: 0.5, pids: 32, net: 'none' });
});

afterAll(async () => {
  await runtime.remove(record.id, true).catch(() => undefined);
  runtime.close();
  expect(leftovers(stateRoot, [record])).toEqual(NONE_LEFT);
  rmSync(stateRoot, { recursive: true, force: true });
});

/** Samples the record the way the panel does (container.inspect → history.add). */
function sample(history: UsageHistory) {
  const usage = runtime.inspect(record.id).cgroup!.usage!;
  return history.add(usage, Date.now());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the Anatomy view\'s cgroup numbers', () => {
  test('each limit names the file that holds it, and the file holds the value shown', () => {
    const limits = cgroupLimitFiles(runtime.inspect(record.id).cgroup!);
    expect(limits.map((limit) => limit.name)).toEqual(['memory', 'cpu', 'pids']);
    for (const limit of limits) expect(readFileSync(limit.file!, 'utf8').trim(), limit.file!).toBe(limit.value);
    expect(limits[0]!.meaning).toBe('24 MiB');
    expect(limits[2]!.value).toBe('32');
  });

  test('the CPU rate of a busy loop is about the 0.5 CPU quota, never far above it', async () => {
    const history = new UsageHistory();
    const busy = runtime.exec({ id: record.id, args: ['sh', '-c', 'while :; do :; done'] });
    try {
      expect(sample(history).cpuRate).toBeNull(); // one sample is no rate yet
      await sleep(400); // let the loop start and the throttling settle in
      sample(history);
      const rates: number[] = [];
      for (let i = 0; i < 3; i++) {
        await sleep(500);
        rates.push(sample(history).cpuRate!);
      }
      const mean = rates.reduce((sum, rate) => sum + rate, 0) / rates.length;
      expect(mean, `rates ${rates.join(', ')}`).toBeGreaterThan(0.3);
      expect(mean, `rates ${rates.join(', ')}`).toBeLessThan(0.65);
    } finally {
      busy.kill('SIGKILL');
    }
  });

  test('the pids series follows processes started in the container', async () => {
    const history = new UsageHistory();
    // the previous test's busy loop may still be on its way out: start from a settled count
    let before = sample(history).pids;
    for (let i = 0; i < 20; i++) {
      await sleep(50);
      const now = sample(history).pids;
      if (now === before) break;
      before = now;
    }
    const sleepers = runtime.exec({ id: record.id, args: ['sh', '-c', 'sleep 30 & sleep 30 & sleep 30 & wait'] });
    try {
      // three sleepers and their shell, forked one after another: wait until the count stops moving
      let previous = -1;
      let since = Date.now();
      await waitFor(() => {
        const pids = sample(history).pids;
        if (pids !== previous) [previous, since] = [pids, Date.now()];
        return Date.now() - since >= 250 ? pids : -1;
      }, (pids) => pids >= before + 3, 5_000);
      const after = history.list().at(-1)!.pids;
      expect(after).toBeGreaterThanOrEqual(before + 3);
      expect(Number(readFileSync(record.cgroup!.files.pidsCurrent!, 'utf8').trim())).toBe(after);
    } finally {
      sleepers.kill('SIGKILL');
    }
  });

  test('an OOM kill is an event on the sample that saw the counter go up', async () => {
    const history = new UsageHistory();
    const first = sample(history);
    expect(first.oomEvent).toBe(false);
    // dd fills one 64 MiB buffer: it cannot fit under a 24 MiB limit
    const result = await execCollect(runtime, record.id, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
    expect(result.code, result.stderr).toBe(137); // SIGKILL from the OOM killer
    const after = sample(history);
    expect(after.oomKills).toBeGreaterThan(first.oomKills);
    expect(after.oomEvent).toBe(true);
    expect(runtime.inspect(record.id).status).toBe('running'); // only the hog died, not the container
    expect(sample(history).oomEvent).toBe(false); // the next sample sees no new kill
  });
});
