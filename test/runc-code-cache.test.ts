/*
 * containers-lab-runc's code cache (agent/runc/code-cache.ts): made after a command, taken by the
 * next one of the same verb, and never trusted when its bytes are damaged — the command then
 * works as without a cache and writes it anew. On a copy of dist/agent/, so the build's own cache
 * is left alone.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_CACHE_DIRECTORY } from '../agent/runc/code-cache';
import { bundleFiles } from '../extension/connection/bootstrap';
import { ensureRuncBuilt, RUNC_BUNDLE } from './helpers/runc';

let work: string;
let runtime: string;

beforeAll(() => {
  ensureRuncBuilt();
  work = mkdtempSync(join(tmpdir(), 'runc-code-cache-'));
  cpSync(dirname(RUNC_BUNDLE), join(work, 'agent'), { recursive: true, filter: (path) => !path.includes('.code-cache') });
  runtime = join(work, 'agent', 'containers-lab-runc.js');
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function features(): string {
  const result = spawnSync(process.execPath, [runtime, 'features'], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

/** The one cache file `features` uses (verbs without a cache of their own share "other"). */
function cacheFile(): string {
  const names = readdirSync(join(work, 'agent', '.code-cache')).filter((name) => name.endsWith('-other.bin'));
  expect(names).toHaveLength(1);
  return join(work, 'agent', '.code-cache', names[0]!);
}

function hasValidChecksum(path: string): boolean {
  const file = readFileSync(path);
  return file.length > 4 && crc32(file.subarray(4)) === file.readUInt32BE(0);
}

describe('containers-lab-runc code cache', () => {
  it('is written by the first command, taken as it is by the next, and written anew when damaged', () => {
    const first = features();
    expect(JSON.parse(first).ociVersionMax).toBeTruthy();
    const path = cacheFile();
    expect(hasValidChecksum(path)).toBe(true);
    expect(readFileSync(path).length).toBeGreaterThan(10_000);

    // Taken: not written again (a write renames a new file into place: another inode).
    const { ino } = statSync(path);
    expect(features()).toBe(first);
    expect(statSync(path).ino).toBe(ino);

    // Damaged past its header (V8 would crash on such bytes): same output, a new, valid file.
    const damaged = Buffer.from(readFileSync(path));
    for (let offset = 200; offset < damaged.length; offset += 97) damaged[offset] = damaged[offset]! ^ 0x5a;
    writeFileSync(path, damaged);
    const damagedIno = statSync(path).ino;
    expect(features()).toBe(first);
    expect(statSync(path).ino).not.toBe(damagedIno);
    expect(hasValidChecksum(path)).toBe(true);

    // Cut short: the same.
    writeFileSync(path, readFileSync(path).subarray(0, 100));
    expect(features()).toBe(first);
    expect(readFileSync(path).length).toBeGreaterThan(10_000);
    expect(hasValidChecksum(path)).toBe(true);
  });

  it('stays on its machine: the extension uploads the agent without it', () => {
    features();
    const { directories, files } = bundleFiles(join(work, 'agent'));
    expect(files).toContain('containers-lab-runc.bundle.js');
    expect([...directories, ...files].filter((path) => path.includes(CODE_CACHE_DIRECTORY))).toEqual([]);
  });
});
