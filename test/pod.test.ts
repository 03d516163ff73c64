/*
 * Pods, volumes and the init step, against the kernel: members of a pod share the sandbox's
 * net/ipc/uts namespace inodes and keep their own pid/mnt; they reach each other on localhost;
 * an emptyDir is one host directory bind-mounted into each member; a hostPath shows host files;
 * an init step runs to completion before the main process. Removing the last member removes the
 * sandbox and the pod's volumes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { execCollect } from './helpers/exec';
import { hostLinkNames, leftovers, NONE_LEFT, nsInode, removeBridgeIfCreated } from './helpers/kernel-witness';

// Also the runtime's default network, for pods whose first member names none ("lonely" below):
// this file's own, not the shared cl0.
const BRIDGE = 'clpod0';
const SUBNET = '10.79.0.0/24';
let stateRoot: string;
let runtime: ContainerRuntime;
let removeBridge: () => void = () => undefined;
const made: ContainerRecord[] = [];

beforeAll(() => {
  stateRoot = mkdtempSync('/tmp/cl-pod-test-');
  removeBridge = removeBridgeIfCreated(BRIDGE);
  runtime = openRuntime({ stateRoot, defaultBridge: { name: BRIDGE, subnet: SUBNET } });
});

afterAll(async () => {
  for (const record of runtime.list()) await runtime.remove(record.id, true).catch(() => undefined);
  removeBridge();
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(hostLinkNames()).not.toContain(BRIDGE);
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
});

async function run(options: RunOptions): Promise<ContainerRecord> {
  const record = await runtime.run({ args: ['sleep', '120'], ...options });
  made.push(record);
  return record;
}

describe('a pod of two containers', () => {
  let web: ContainerRecord;
  let sidecar: ContainerRecord;
  let sandbox: ContainerRecord;

  beforeAll(async () => {
    web = await run({ name: 'web', pod: 'shop', bridge: BRIDGE, subnet: SUBNET, args: ['httpd', '-f', '-p', '8080', '-h', '/shared'], volumes: [{ name: 'shared', mountPath: '/shared' }] });
    sidecar = await run({ name: 'sidecar', pod: 'shop', volumes: [{ name: 'shared', mountPath: '/data' }] });
    sandbox = runtime.inspect('shop-pause');
    made.push(sandbox);
  });

  test('the first member made the sandbox; both members are in its net, ipc and uts namespaces and have their own pid and mnt', () => {
    expect(sandbox.pod).toEqual({ name: 'shop', sandbox: true });
    expect(web.pod).toEqual({ name: 'shop', sandbox: false });
    for (const member of [web, sidecar]) {
      for (const type of ['net', 'ipc', 'uts']) expect(nsInode(member.pid!, type), `${member.name} ${type}`).toBe(nsInode(sandbox.pid!, type));
      for (const type of ['pid', 'mnt']) expect(nsInode(member.pid!, type), `${member.name} ${type}`).not.toBe(nsInode(sandbox.pid!, type));
    }
    expect(nsInode(web.pid!, 'net')).not.toBe(nsInode('self', 'net'));
    expect(web.config.linux?.namespaces).toContainEqual({ type: 'network', path: `/proc/${sandbox.pid}/ns/net` });
    expect(web.network.ip).toBe(sandbox.network.ip);
  });

  test('they share one hostname (the pod’s) and reach each other on localhost', async () => {
    expect((await execCollect(runtime, 'sidecar', ['hostname'])).stdout.trim()).toBe('shop');
    expect((await execCollect(runtime, 'sidecar', ['sh', '-c', 'echo from-sidecar > /data/index.html'])).code).toBe(0);
    const fetched = await execCollect(runtime, 'sidecar', ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/index.html']);
    expect(fetched.stdout.trim()).toBe('from-sidecar');
  });

  test('the emptyDir is one host directory, bind-mounted into both', async () => {
    const onHost = join(stateRoot, 'pods', 'shop', 'volumes', 'shared', 'index.html');
    expect(readFileSync(onHost, 'utf8').trim()).toBe('from-sidecar');
    const mountinfo = readFileSync(`/proc/${web.pid}/mountinfo`, 'utf8');
    expect(mountinfo.split('\n').some((line) => line.split(' ')[4] === '/shared')).toBe(true);
  });

  test('the sandbox cannot be removed while members run; removing the last member removes the pod', async () => {
    await expect(runtime.remove('shop-pause', true)).rejects.toThrow(/remove its containers first/);
    await runtime.remove('web', true);
    expect(runtime.list().some((c) => c.name === 'shop-pause')).toBe(true);
    await runtime.remove('sidecar', true);
    expect(runtime.list().some((c) => c.name === 'shop-pause')).toBe(false);
    expect(existsSync(join(stateRoot, 'pods', 'shop'))).toBe(false);
  });

  test('a member may not bring its own network or hostname', async () => {
    await expect(runtime.run({ name: 'lonely', pod: 'shop2', hostname: 'x' })).rejects.toThrow(/share its hostname/);
    expect(runtime.list().some((c) => c.name.startsWith('shop2') || c.name === 'lonely')).toBe(false);
  });
});

describe('volumes and the init step', () => {
  test('hostPath shows the host directory, read-only when asked', async () => {
    const host = mkdtempSync('/tmp/cl-pod-hostpath-');
    try {
      writeFileSync(join(host, 'greeting'), 'hello from the host\n');
      const record = await run({ name: 'hostpath', net: 'none', volumes: [{ name: 'site', mountPath: '/site', hostPath: host, readOnly: true }] });
      expect((await execCollect(runtime, record.id, ['cat', '/site/greeting'])).stdout).toBe('hello from the host\n');
      const write = await execCollect(runtime, record.id, ['touch', '/site/new']);
      expect(write.stderr).toMatch(/read-only/i);
      await runtime.remove(record.id, true);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
    await expect(runtime.run({ name: 'hostpath-bad', net: 'none', volumes: [{ name: 'x', mountPath: '/x', hostPath: '/no/such/dir' }] })).rejects.toThrow(/not a directory on the host/);
  });

  test('an init step runs to completion first; its output is in the log and its work is there for the main process', async () => {
    const record = await run({
      name: 'with-init', net: 'none',
      init: ['sh', '-c', 'echo preparing; echo ready > /work/state'],
      volumes: [{ name: 'work', mountPath: '/work' }],
      args: ['sh', '-c', 'cat /work/state; sleep 60'],
    });
    expect(record.status).toBe('running');
    expect(record.init).toEqual({ args: ['sh', '-c', 'echo preparing; echo ready > /work/state'], exitCode: 0 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runtime.logs(record.id).toString()).toBe('preparing\nready\n');
    const volume = join(stateRoot, 'containers', record.id, 'volumes', 'work');
    expect(statSync(volume).mode & 0o777).toBe(0o777);
  });

  test('a failing init step leaves the container stopped with its exit code; the main process never ran', async () => {
    const record = await run({ name: 'init-fails', net: 'none', init: ['sh', '-c', 'echo no database; exit 3'], args: ['sh', '-c', 'echo main ran; sleep 60'] });
    expect(record.status).toBe('stopped');
    expect(record.init?.exitCode).toBe(3);
    expect(record.exitCode).toBe(3);
    expect(runtime.logs(record.id).toString()).toBe('no database\n');
  });
});
