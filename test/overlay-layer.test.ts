/*
 * container.pathLayer: which overlay layer a path comes from, checked against what the container
 * itself does (a write copies a file up; rm leaves a whiteout) and against the kernel's own
 * directories (the upper directory really holds the copied file, the whiteout is a 0:0 device).
 */
import { lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { execCollect } from './helpers/exec';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';

let stateRoot: string;
let runtime: ContainerRuntime;
let container: ContainerRecord;

beforeAll(async () => {
  stateRoot = mkdtempSync('/tmp/cl-layer-test-');
  runtime = openRuntime({ stateRoot });
  container = await runtime.run({ name: 'layers', args: ['sleep', '60'], net: 'none' });
});

afterAll(async () => {
  await runtime.remove(container.id, true).catch(() => undefined);
  runtime.close();
  expect(leftovers(stateRoot, [container])).toEqual(NONE_LEFT);
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('container.pathLayer', () => {
  test('an image file comes from the lower layer until a write copies it up', async () => {
    const before = runtime.pathLayer(container.id, '/etc/passwd');
    expect(before).toMatchObject({ layer: 'lower', lowerIndex: 0, inLower: true });
    expect(readFileSync(before.lowerPath!, 'utf8')).toContain('root:');

    const append = await execCollect(runtime, container.id, ['sh', '-c', 'echo learner:x:1000:1000::/home:/bin/sh >> /etc/passwd']);
    expect(append.code).toBe(0);
    const after = runtime.pathLayer(container.id, '/etc/passwd');
    expect(after).toMatchObject({ layer: 'upper', copiedUp: true, inLower: true });
    // The kernel put the whole file in the upper directory; the image's copy is untouched.
    expect(readFileSync(after.upperPath, 'utf8')).toContain('learner:x:1000');
    expect(readFileSync(after.lowerPath!, 'utf8')).not.toContain('learner');
  });

  test('a new file is upper only; a deleted image file is a whiteout; a missing one is absent', async () => {
    expect((await execCollect(runtime, container.id, ['sh', '-c', 'echo hi > /root-note && rm /etc/group'])).code).toBe(0);
    expect(runtime.pathLayer(container.id, '/root-note')).toMatchObject({ layer: 'upper', copiedUp: false, inLower: false, size: 3 });
    const deleted = runtime.pathLayer(container.id, '/etc/group');
    expect(deleted).toMatchObject({ layer: 'deleted', inLower: true });
    const whiteout = lstatSync(deleted.upperPath);
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    expect(runtime.pathLayer(container.id, '/no/such/file')).toMatchObject({ layer: 'absent', inLower: false });
  });

  test('".." cannot climb out of the root; a relative path is refused', () => {
    expect(runtime.pathLayer(container.id, '/../../etc/passwd').path).toBe('/etc/passwd');
    expect(() => runtime.pathLayer(container.id, 'etc/passwd')).toThrow(/path must be absolute/);
  });
});
