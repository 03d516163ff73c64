/*
 * Nothing may outlive a container: 200 full cycles, and an agent killed in the middle of
 * creating one.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { join } from 'node:path';
import { openRuntime } from '../agent/runtime/runtime';
import { removeBridge } from '../agent/runtime/network';
import { execCollect } from './helpers/exec';
import { cgroupDirsNamed, hostMountsMentioning, leftovers, NONE_LEFT, processExists } from './helpers/kernel-witness';
import { startService, stopService } from './helpers/service';

const BRIDGE = 'cltl0';
const SUBNET = '10.77.94.0/24';
const CRASH_BRIDGE = 'cltk0';

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('200 create/start/exec/rm cycles', () => {
  const stateRoot = mkdtempSync('/tmp/cl-leak-test-');
  const runtime = openRuntime({ stateRoot });
  afterAll(() => {
    runtime.close();
    removeBridge(BRIDGE, stateRoot);
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test('leave zero leftovers', async () => {
    // one cycle first, so the bridge and image exist before counting
    const warm = await runtime.run({ name: 'warm', bridge: BRIDGE, subnet: SUBNET });
    await runtime.remove(warm.id, true);
    const fdsBefore = openFds();
    const made: { id: string; pid: number | null }[] = [];
    for (let cycle = 0; cycle < 200; cycle += 1) {
      const record = await runtime.run({ name: `cycle-${cycle}`, bridge: BRIDGE, subnet: SUBNET, memory: '32m', pids: 32 });
      made.push({ id: record.id, pid: record.pid });
      const result = await execCollect(runtime, record.id, ['cat', '/etc/hostname']);
      expect(result.code).toBe(0);
      await runtime.remove(record.id, true);
    }
    expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
    expect(readdirSync(join(stateRoot, 'containers'))).toEqual([]);
    const ledger = JSON.parse(readFileSync(join(stateRoot, 'network', `${BRIDGE}.json`), 'utf8')) as { allocations: Record<string, unknown> };
    expect(ledger.allocations).toEqual({});
    expect(openFds()).toBeLessThanOrEqual(fdsBefore + 2);
  }, 300_000);
});

describe('an agent killed mid-create', () => {
  const stateRoot = mkdtempSync('/tmp/cl-crash-test-');
  const socket = join(stateRoot, 'agent.sock');
  afterAll(() => {
    removeBridge(CRASH_BRIDGE, stateRoot);
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test('is cleaned up by the next agent: no orphans', async () => {
    const containersDir = join(stateRoot, 'containers');
    const seen: { id: string; pid: number | null }[] = [];
    for (let round = 0; round < 5; round += 1) {
      const service = await startService(stateRoot, socket);
      await service.client.call('agent.info', {});
      // SIGKILL the service the moment a new container's record appears: create has begun.
      const appeared = new Promise<string>((resolve) => {
        const watcher = watch(containersDir, (_event, name) => {
          if (name && /^[0-9a-f]{32}$/.test(name.toString())) {
            watcher.close();
            resolve(name.toString());
          }
        });
      });
      void service.client.call('container.run', { name: `crash-${round}`, bridge: CRASH_BRIDGE, subnet: '10.77.95.0/24', memory: '32m' }).catch(() => undefined);
      const id = await appeared;
      await new Promise((resolve) => setTimeout(resolve, round * 3));
      await stopService(service, 'SIGKILL');
      const state = readState(stateRoot, id);
      seen.push({ id, pid: state?.pid ?? null });

      const restarted = await startService(stateRoot, socket);
      const list = await restarted.client.call('container.list', {});
      // a container whose create finished before the kill is a real container: remove it
      for (const summary of list) await restarted.client.call('container.remove', { id: summary.id, force: true });
      await stopService(restarted);
    }
    for (const { pid } of seen) if (pid) await waitGone(pid);
    expect(leftovers(stateRoot, seen)).toEqual(NONE_LEFT);
    expect(seen.flatMap(({ id }) => cgroupDirsNamed(id))).toEqual([]);
    expect(hostMountsMentioning(stateRoot)).toEqual([]);
  }, 120_000);
});

function readState(root: string, id: string): { pid: number | null } | null {
  const path = join(root, 'containers', id, 'state.json');
  try {
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { pid: number | null }) : null;
  } catch {
    return null;
  }
}

async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (processExists(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}
