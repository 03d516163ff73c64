/*
 * Kubernetes quantities and Docker sizes (agent/protocol/quantity.ts): every accepted spelling, the
 * rounding, each one-line refusal, and — on the real kernel — `run --memory 128Mi --cpus 500m`
 * landing in the cgroup files as 134217728 bytes and a 50000/100000 quota.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../agent/errors';
import { configFromRunOptions } from '../agent/oci/from-run-options';
import { CPU_FORMS, MEMORY_FORMS, parseCpuQuantity, parseMemoryQuantity } from '../agent/protocol/quantity';
import type { ContainerRecord } from '../agent/protocol';
import { openRuntime } from '../agent/runtime/runtime';
import { runCli, type CliResult } from './helpers/cli';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';

const Ki = 1024;
const Mi = 1024 ** 2;
const Gi = 1024 ** 3;
const Ti = 1024 ** 4;
const Pi = 1024 ** 5;

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).kind).toBe('bad-input');
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a refusal');
}

describe('memory quantities', () => {
  test.each<[string | number, number]>([
    // plain bytes
    [0, 0],
    [4096, 4096],
    ['4096', 4096],
    [' 4096 ', 4096],
    ['+4096', 4096],
    // Kubernetes binary suffixes, and their IEC names with B
    ['1Ki', Ki],
    ['128Mi', 128 * Mi],
    ['1Gi', Gi],
    ['2Ti', 2 * Ti],
    ['1Pi', Pi],
    ['64KiB', 64 * Ki],
    ['64MiB', 64 * Mi],
    ['1GiB', Gi],
    ['1TiB', Ti],
    ['1PiB', Pi],
    // Kubernetes decimal suffixes: k is 1000 here, not Docker's 1024
    ['1k', 1000],
    ['512k', 512_000],
    ['128M', 128_000_000],
    ['1G', 1e9],
    ['1T', 1e12],
    ['1P', 1e15],
    // exponent form
    ['129e6', 129_000_000],
    ['129E6', 129_000_000],
    ['1e+3', 1000],
    ['12e-1', 2],
    // Docker's lowercase sizes keep their binary meaning
    ['64m', 64 * Mi],
    ['64mb', 64 * Mi],
    ['1g', Gi],
    ['1gb', Gi],
    ['1t', Ti],
    ['1tb', Ti],
    ['100b', 100],
    // decimals
    ['1.5Gi', 1.5 * Gi],
    ['0.5Mi', 512 * Ki],
    ['.5Ki', 512],
    ['1.5g', 1.5 * Gi],
    ['1.5M', 1_500_000],
    ['1.1k', 1100],
  ])('%j → %d bytes', (text, bytes) => {
    expect(parseMemoryQuantity(text)).toBe(bytes);
  });

  test('a fraction of a byte is rounded up to the next byte, as Kubernetes does', () => {
    expect(parseMemoryQuantity('0.1Ki')).toBe(103); // 102.4
    expect(parseMemoryQuantity('1.5')).toBe(2);
    expect(parseMemoryQuantity(1.5)).toBe(2);
    expect(parseMemoryQuantity('0.0001k')).toBe(1); // 0.1 byte
    expect(parseMemoryQuantity('1e-9')).toBe(1);
    expect(parseMemoryQuantity('0.1Gi')).toBe(107374183); // 107374182.4, computed exactly, not in floating point
    expect(parseMemoryQuantity('1.000000001k')).toBe(1001); // 1000.000001
  });

  test('each refusal is one line saying what was not understood and what is accepted', () => {
    const general = (shown: string, what = 'memory'): string => `invalid ${what} ${shown}: use ${MEMORY_FORMS}`;
    expect(MEMORY_FORMS).toBe("bytes, Ki/Mi/Gi (1024-based), k/M/G (1000-based) or Docker's m/g (e.g. 128Mi, 64m)");
    for (const bad of ['128MB!', '', '   ', '-1', '-1Gi', 'NaN', 'Infinity', 'Mi', '64 Mi', '64x', '1Ei', '1E', '1e3Mi', '64mi', '64MIB', '1u', '1..5Gi', '0x10', '1e999']) {
      expect(refusal(() => parseMemoryQuantity(bad)), bad).toBe(general(JSON.stringify(bad)));
    }
    for (const bad of [-5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusal(() => parseMemoryQuantity(bad)), String(bad)).toBe(general(String(bad)));
    }
    expect(refusal(() => parseMemoryQuantity('64x', 'size'))).toBe(general('"64x"', 'size'));
  });

  test('K and the MB-style spellings are refused as ambiguous, naming the two unambiguous choices', () => {
    expect(refusal(() => parseMemoryQuantity('512K'))).toBe('invalid memory "512K": "K" is ambiguous, use k (1000) or Ki (1024)');
    expect(refusal(() => parseMemoryQuantity('512kb'))).toBe('invalid memory "512kb": "kb" is ambiguous, use k (1000) or Ki (1024)');
    expect(refusal(() => parseMemoryQuantity('512KB'))).toBe('invalid memory "512KB": "KB" is ambiguous, use k (1000) or Ki (1024)');
    expect(refusal(() => parseMemoryQuantity('128MB'))).toBe('invalid memory "128MB": "MB" is ambiguous, use M (1000) or Mi (1024)');
    expect(refusal(() => parseMemoryQuantity('1GB'))).toBe('invalid memory "1GB": "GB" is ambiguous, use G (1000) or Gi (1024)');
    expect(refusal(() => parseMemoryQuantity('1p'))).toBe('invalid memory "1p": "p" is ambiguous, use P (1000) or Pi (1024)');
  });

  test('sizes beyond what a JavaScript number holds exactly are refused', () => {
    expect(parseMemoryQuantity(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(refusal(() => parseMemoryQuantity('8Pi'))).toBe(`invalid memory "8Pi": too large, at most ${Number.MAX_SAFE_INTEGER} bytes (just under 8Pi)`);
    expect(refusal(() => parseMemoryQuantity(1e21))).toMatch(/^invalid memory 1e\+21: too large/);
  });
});

describe('CPU quantities', () => {
  test.each<[string | number, number]>([
    [0.5, 0.5],
    [2, 2],
    ['1', 1],
    ['0.5', 0.5],
    ['.25', 0.25],
    ['500m', 0.5],
    ['250m', 0.25],
    ['1500m', 1.5],
    ['2000m', 2],
    ['100.5m', 0.1005],
    [' 500m ', 0.5],
  ])('%j → %d CPUs', (text, cpus) => {
    expect(parseCpuQuantity(text)).toBe(cpus);
  });

  test('each refusal is one line saying what was not understood and what is accepted', () => {
    expect(CPU_FORMS).toBe('a number of CPUs above 0 or millicores, e.g. 0.5 or 500m');
    for (const bad of ['half', '', '-1', '-500m', '0', '0m', '500M', '500 m', '1Ki', 'NaN', '1e3']) {
      expect(refusal(() => parseCpuQuantity(bad)), bad).toBe(`invalid cpus ${JSON.stringify(bad)}: use ${CPU_FORMS}`);
    }
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusal(() => parseCpuQuantity(bad)), String(bad)).toBe(`invalid cpus ${bad}: use ${CPU_FORMS}`);
    }
  });
});

describe('config.json from Kubernetes units', () => {
  test('128Mi and 500m become memory.limit 134217728 and a 50000/100000 quota; 64m stays 64 MiB', () => {
    const kubernetes = configFromRunOptions({ name: 'k8s-units', memory: '128Mi', cpus: '500m' }, { rootfs: '/rootfs' });
    expect(kubernetes.linux!.resources).toMatchObject({ memory: { limit: 134217728 }, cpu: { quota: 50000, period: 100000 } });
    const docker = configFromRunOptions({ name: 'docker-units', memory: '64m', cpus: 0.5 }, { rootfs: '/rootfs' });
    expect(docker.linux!.resources).toMatchObject({ memory: { limit: 64 * Mi }, cpu: { quota: 50000, period: 100000 } });
    expect(configFromRunOptions({ memory: '129e6' }, { rootfs: '/rootfs' }).linux!.resources!.memory).toEqual({ limit: 129_000_000 });
  });
});

describe('on the kernel: containers-lab run --memory 128Mi --cpus 500m', () => {
  let stateRoot: string;
  const cli = (...argv: string[]): Promise<CliResult> => runCli(['--root', stateRoot, '--socket', `${stateRoot}/no-agent.sock`, ...argv]);

  beforeAll(() => {
    stateRoot = mkdtempSync('/tmp/cl-quantity-');
  });

  afterAll(async () => {
    const runtime = openRuntime({ stateRoot });
    const made = runtime.list().map((summary) => ({ id: summary.id, pid: summary.pid }));
    for (const summary of runtime.list()) await runtime.remove(summary.id, true);
    runtime.close();
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test('the cgroup holds 134217728 bytes and a 50000/100000 quota', async () => {
    const started = await cli('run', '-d', '--name', 'quantities', '--memory', '128Mi', '--cpus', '500m', '--net', 'none', 'busybox');
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const inspected = await cli('inspect', '--json', 'quantities');
    expect(inspected.code).toBe(0);
    const record = JSON.parse(inspected.stdout) as ContainerRecord;
    const dirs = record.cgroup!.directories;
    const read = (dir: string | undefined, file: string): string => readFileSync(join(dir!, file), 'utf8').trim();
    if (record.cgroup!.version === 1) {
      expect(read(dirs.memory, 'memory.limit_in_bytes')).toBe('134217728');
      expect(read(dirs.cpu, 'cpu.cfs_quota_us')).toBe('50000');
      expect(read(dirs.cpu, 'cpu.cfs_period_us')).toBe('100000');
    } else {
      expect(read(dirs.unified, 'memory.max')).toBe('134217728');
      expect(read(dirs.unified, 'cpu.max')).toBe('50000 100000');
    }
    expect((await cli('rm', '-f', 'quantities')).code).toBe(0);
  });

  test('an ambiguous size is refused with one line before anything is made', async () => {
    const refused = await cli('run', '-d', '--name', 'ambiguous', '--memory', '128K', '--net', 'none', 'busybox');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('invalid memory "128K": "K" is ambiguous, use k (1000) or Ki (1024)');
    expect((await cli('ps', '-a')).stdout).not.toContain('ambiguous');
  });
});
