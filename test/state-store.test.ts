/*
 * The state store (agent/runtime/state/store.ts): a container's record is written into an empty
 * file made ahead of time, which trades places with state.json (renameat2 RENAME_EXCHANGE); a
 * claimed sandbox's config.json is written over in place. What must hold, checked on the files
 * and inodes themselves: a reader always finds a whole record, the newest one after each save;
 * the exchange really happens; nothing stale is left in a rewritten file, nothing else behind.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { OciSpec } from '../agent/protocol';
import { StateStore, type ContainerState } from '../agent/runtime/state/store';

const root = mkdtempSync('/tmp/cl-state-store-test-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function stateFor(id: string, name: string): ContainerState {
  return {
    id, name, status: 'creating', pid: null, pidStartTime: null, exitCode: null, oomKilled: false,
    createdAt: new Date(0).toISOString(), startedAt: null, finishedAt: null, image: 'busybox', hostname: null,
    namespaces: ['mnt'], rootfs: null, cgroup: null,
    network: { mode: 'none', ifname: null, ip: null, prefixLength: null, gateway: null, mac: null, vethHost: null, bridge: null },
    logPath: `/nonexistent/${id}.log`,
  };
}

const config = (args: string[]): OciSpec => ({ ociVersion: '1.1.0', process: { args, cwd: '/', user: { uid: 0, gid: 0 } }, root: { path: '/' } }) as OciSpec;
const premadeName = (index: number): string => `state.json.next-${process.pid}-${index}`;
const inodes = (directory: string): Map<number, string> =>
  new Map(readdirSync(directory).map((entry) => [statSync(join(directory, entry)).ino, entry]));

describe('the state store', () => {
  const store = new StateStore(root);

  test('create premakes two empty files; each save takes one, trades places with state.json and unlinks the old record', async () => {
    const id = 'a'.repeat(32);
    const directory = store.directory(id);
    store.create(stateFor(id, 'first'), config(['true']));
    expect(readdirSync(directory).sort()).toEqual(['config.json', 'state.json', premadeName(0), premadeName(1)]);
    expect([0, 1].map((index) => statSync(join(directory, premadeName(index))).size)).toEqual([0, 0]);

    for (const [index, status] of [[0, 'running'], [1, 'stopped']] as const) {
      const oldRecord = statSync(join(directory, 'state.json')).ino;
      const premade = statSync(join(directory, premadeName(index))).ino;
      store.save({ ...stateFor(id, 'first'), status });
      await store.deletionsSettled();
      // The kernel's inodes: the premade file is now state.json; the old record is gone.
      expect(statSync(join(directory, 'state.json')).ino).toBe(premade);
      expect(inodes(directory).has(oldRecord)).toBe(false);
      expect(statSync(join(directory, 'state.json')).mode & 0o777).toBe(0o600);
      expect(store.load(id)).toEqual({ ...stateFor(id, 'first'), status });
    }
    expect(readdirSync(directory).sort()).toEqual(['config.json', 'state.json']);

    // More saves than were premade: a temporary file renamed into place, none left behind.
    const before = statSync(join(directory, 'state.json')).ino;
    store.save({ ...stateFor(id, 'x'), status: 'stopped', exitCode: 0 });
    await store.deletionsSettled();
    expect(statSync(join(directory, 'state.json')).ino).not.toBe(before);
    expect(store.load(id)).toEqual({ ...stateFor(id, 'x'), status: 'stopped', exitCode: 0 });
    expect(readdirSync(directory).sort()).toEqual(['config.json', 'state.json']);
  });

  test('a save into a directory without state.json renames the premade file into place', () => {
    const id = 'b'.repeat(32);
    const directory = store.directory(id);
    store.create(stateFor(id, 'second'), config(['true']));
    rmSync(join(directory, 'state.json'));
    store.save({ ...stateFor(id, 'second'), status: 'created' });
    expect(store.load(id)).toMatchObject({ status: 'created' });
    expect(readdirSync(directory).sort()).toEqual(['config.json', 'state.json', premadeName(1)]);
  });

  test('discard forgets the premade files with the directory', async () => {
    const id = 'e'.repeat(32);
    store.create(stateFor(id, 'discarded'), config(['true']));
    store.discard(id);
    expect(existsSync(store.directory(id))).toBe(false);
    // The id is free again, and a new record under it starts with files of its own.
    store.create(stateFor(id, 'again'), config(['true']));
    store.save({ ...stateFor(id, 'again'), status: 'running' });
    await store.deletionsSettled();
    expect(store.load(id)).toMatchObject({ name: 'again', status: 'running' });
    expect(readdirSync(store.directory(id)).sort()).toEqual(['config.json', 'state.json', premadeName(1)]);
  });

  test('config.json of a claimed sandbox is written over in place, with nothing of the old document left', () => {
    const id = 'c'.repeat(32);
    const directory = store.directory(id);
    store.create(stateFor(id, 'third'), config(['sh', '-c', 'a rather long command line that the next document does not have']));
    const inode = statSync(join(directory, 'config.json')).ino;
    store.replaceConfigWhileCreating(id, config(['true']));
    expect(store.config(id)).toEqual(config(['true']));
    expect(statSync(join(directory, 'config.json')).ino).toBe(inode);
    expect(statSync(join(directory, 'config.json')).mode & 0o777).toBe(0o600);
  });

  test('a reader on another thread only ever finds a whole record, while records are saved', async () => {
    const id = 'd'.repeat(32);
    const names = Array.from({ length: 1500 }, (_, index) => `saved-${index}-${'x'.repeat((index * 7919) % 1500)}`);
    // Every save through a premade file, the fast path under test.
    const manySaves = new StateStore(root, names.length);
    manySaves.create(stateFor(id, 'saved-0'), config(['true']));
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const reader = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const { readFileSync } = require('node:fs');
       const stop = new Int32Array(workerData.stop);
       const seen = new Set(); let reads = 0; const torn = [];
       while (Atomics.load(stop, 0) === 0) {
         const text = readFileSync(workerData.path, 'utf8');
         reads += 1;
         try { seen.add(JSON.parse(text).name); } catch { torn.push(text.length); }
       }
       parentPort.postMessage({ reads, torn, seen: [...seen] });`,
      { eval: true, workerData: { path: join(manySaves.directory(id), 'state.json'), stop: stop.buffer } },
    );
    const report = new Promise<{ reads: number; torn: number[]; seen: string[] }>((resolve, reject) => {
      reader.once('message', resolve);
      reader.once('error', reject);
    });
    // Names of changing length: a record written over in place would be read torn or mixed.
    // The reader starts in its own time: wait until it has read once before saving.
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const name of names) manySaves.save({ ...stateFor(id, name), status: 'running' });
    await manySaves.deletionsSettled();
    Atomics.store(stop, 0, 1);
    const { reads, torn, seen } = await report;
    await reader.terminate();
    expect(torn).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    for (const name of seen) expect(['saved-0', ...names]).toContain(name);
    expect(manySaves.load(id)?.name).toBe(names.at(-1));
    expect(readdirSync(manySaves.directory(id)).sort()).toEqual(['config.json', 'state.json']);
  });
});
