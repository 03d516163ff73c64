/*
 * The Pods view and Apply Pod YAML without a browser.
 *
 *   The tree's rules (extension/views/pods/model.ts) on records: pod and container labels, state,
 *   restarts, last state with reason and exit code, namespaces against the sandbox's.
 *   The agent's refusal turned into editor places (apply-problems.ts), fed with the messages the
 *   agent's own manifest reader writes (agent/pods/manifest/read.ts), not hand-written ones.
 *   The store (pod-store.ts) against a real agent service: it follows pod.changed / pod.removed
 *   from an apply to Running and a delete to nothing, and the sandbox rows it makes name the
 *   containers whose /proc/<pid>/ns/net is the sandbox's — checked against the kernel.
 *
 * Names: bridge "clpvsc1", subnet 10.219.48.0/24, pod "pvm"; removed in afterAll and checked gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, PodContainerStatus, PodRecord, PodSummary } from '../agent/protocol';
import { podManifestProblems, readPodManifest } from '../agent/pods/manifest/read';
import { applyProblems, manifestFileName, problemColumns, unlistedProblems } from '../extension/views/pods/apply-problems';
import {
  podContainerDescription, podContainerLabel, podContainerRows, podContainers, podDescription, podStatusIcon, sandboxNamespaceRows, sharedWithPod, sortPods, stateText,
} from '../extension/views/pods/model';
import { PodStore } from '../extension/views/pods/pod-store';
import { leftovers, NONE_LEFT, nsInode, removeBridgeIfCreated } from './helpers/kernel-witness';
import { startService, stopService, type RunningService } from './helpers/service';

const summary = (over: Partial<PodSummary>): PodSummary => ({
  name: 'web', namespace: 'default', ready: '1/2', status: 'Running', restarts: 0, lastRestartAt: null,
  createdAt: '2026-01-01T00:00:00Z', ip: '10.1.2.3', node: 'lab', qosClass: 'Burstable', ...over,
});
const status = (over: Partial<PodContainerStatus>): PodContainerStatus => ({
  name: 'app', image: 'busybox', containerID: 'web.app.0', ready: true, started: true, restartCount: 0,
  state: { running: { startedAt: '2026-01-01T00:00:01Z' } }, lastState: {}, ...over,
});
const ns = (net: number, mnt: number, extra: Partial<ContainerRecord['namespaces']> = {}): Pick<ContainerRecord, 'namespaces' | 'sharedWithHost'> => ({
  namespaces: { net, ipc: net + 1, uts: net + 2, mnt, pid: mnt + 1, cgroup: mnt + 2, user: 1, ...extra }, sharedWithHost: ['user'],
});

describe('the Pods tree model', () => {
  test('a pod: STATUS as kubectl says it, ready, QoS class, restarts and IP; sorted by name; icons by status', () => {
    expect(podDescription(summary({}))).toBe('Running · 1/2 ready · Burstable · 10.1.2.3');
    expect(podDescription(summary({ status: 'CrashLoopBackOff', restarts: 3, ip: null, qosClass: 'BestEffort' }))).toBe('CrashLoopBackOff · 1/2 ready · BestEffort · 3 restarts');
    expect(podDescription(summary({ status: 'Init:0/2', restarts: 1 }))).toBe('Init:0/2 · 1/2 ready · Burstable · 1 restart · 10.1.2.3');
    expect(sortPods([summary({ name: 'b' }), summary({ name: 'a' })]).map((pod) => pod.name)).toEqual(['a', 'b']);
    expect(podStatusIcon('Running').icon).toBe('vm-running');
    expect(podStatusIcon('Init:1/2').icon).toBe('loading~spin');
    expect(podStatusIcon('OOMKilled').color).toBe('charts.red');
    expect(podStatusIcon('Completed').icon).toBe('pass');
  });

  test('containers: init first in order, then app; state, readiness, restarts and the last state with reason and exit code', () => {
    const record = { status: {
      initContainerStatuses: [status({ name: 'setup', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: null, finishedAt: 'T' } } })],
      containerStatuses: [
        status({ name: 'app', restartCount: 2, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: null, finishedAt: 'T2' } } }),
        status({ name: 'side', ready: false, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' } }, restartCount: 1,
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: null, finishedAt: null } } }),
      ],
    } } as unknown as PodRecord;
    const entries = podContainers(record);
    expect(entries.map((entry) => [entry.kind, podContainerLabel(entry)])).toEqual([['init', 'init: setup'], ['app', 'app'], ['app', 'side']]);
    expect(entries.map(podContainerDescription)).toEqual([
      'Terminated: Completed (exit 0) · 0 restarts',
      'Running · ready · 2 restarts · last: OOMKilled (exit 137)',
      'Waiting: CrashLoopBackOff · not ready · 1 restart · last: Error (exit 1)',
    ]);
    expect(stateText({})).toBe('—');
    const rows = podContainerRows(entries[2]!, undefined, undefined);
    expect(rows.map((row) => row.label)).toEqual(['State: Waiting: CrashLoopBackOff', 'Last State: Terminated: Error (exit 1)', 'Restart Count: 1', 'Image: busybox', 'Container: web.app.0']);
    expect(rows[0]!.description).toBe('back-off 20s restarting failed container');
    // no last state: no such row
    expect(podContainerRows({ kind: 'app', status: status({}) }, undefined, undefined).map((row) => row.key)).toEqual(['state', 'restarts', 'image', 'container']);
  });

  test("namespaces: a container's net/ipc/uts are the pod's when their inodes are the sandbox's; mnt/pid its own", () => {
    const sandbox = ns(100, 200);
    const one = ns(100, 300);
    const stranger = ns(900, 400);
    expect(sharedWithPod(one, sandbox)).toEqual(['ipc', 'net', 'user', 'uts']);
    expect(sharedWithPod(stranger, sandbox)).toEqual(['user']);
    const rows = podContainerRows({ kind: 'app', status: status({}) }, one, sandbox);
    const children = rows.find((row) => row.key === 'namespaces')!.children!;
    expect(Object.fromEntries(children.map((row) => [row.key, `${row.label} ${row.description}`]))).toEqual({
      cgroup: 'cgroup: 302 own', ipc: "ipc: 101 the pod's (sandbox's)", mnt: 'mnt: 300 own', net: "net: 100 the pod's (sandbox's)",
      pid: 'pid: 301 own', user: 'user: 1 shared with host', uts: "uts: 102 the pod's (sandbox's)",
    });
    const sandboxRows = sandboxNamespaceRows(sandbox, new Map([['one', one], ['two', ns(100, 500)], ['odd', stranger]]));
    const byType = Object.fromEntries(sandboxRows.map((row) => [row.type, row]));
    expect(byType.net!.members).toEqual(['one', 'two']);
    expect(byType.net!.description).toBe('shared by one, two');
    expect(byType.mnt!.members).toEqual([]);
    expect(byType.mnt!.description).toBe('the sandbox only');
    expect(byType.user!.description).toBe('shared with host');
    // shareProcessNamespace: the pid namespace is the sandbox's too
    expect(sandboxNamespaceRows(sandbox, new Map([['one', ns(100, 300, { pid: 201 })]])).find((row) => row.type === 'pid')!.members).toEqual(['one']);
  });
});

const BROKEN = `apiVersion: v1
kind: Pod
metadata:
  name: broken
spec:
  containers:
  - name: app
    image: busybox
    imagePullPolicyy: Always
    command: ["sleep", "600"]
  - name: other
    image: busybox
    ports:
    - containerPort: 70000
`;

/** The agent's one-line refusal for `text`, as pod.apply answers it. */
function refusal(text: string, file: string): string {
  try {
    readPodManifest(text, file);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the manifest was accepted');
}

describe("the agent's refusal as editor places", () => {
  test('each problem the agent names lands on the line its own reader reports, the key marked', () => {
    const message = refusal(BROKEN, 'broken.yaml');
    const problems = applyProblems(message, 'broken.yaml');
    expect(problems.length).toBeGreaterThan(0);
    // the agent's own problem list (what an editor would want) agrees on every line and path
    const truth = podManifestProblems(BROKEN, 'broken.yaml').slice(0, 3);
    expect(problems.map((problem) => [problem.line, problem.path])).toEqual(truth.map((problem) => [problem.line, problem.path]));
    expect(problems[0]).toMatchObject({ line: 9, path: 'spec.containers[0].imagePullPolicyy' });
    const lines = BROKEN.split('\n');
    const columns = problemColumns(lines[8]!, problems[0]!.path);
    expect(lines[8]!.slice(columns.start, columns.end)).toBe('imagePullPolicyy');
  });

  test('a value error and a syntax error: the line, and the whole line when no key names it', () => {
    const value = BROKEN.replace('    imagePullPolicyy: Always\n', '');
    const problems = applyProblems(refusal(value, 'v.yaml'), 'v.yaml');
    expect(problems).toEqual([expect.objectContaining({ line: 13, path: 'spec.containers[1].ports[0].containerPort' })]);
    const lines = value.split('\n');
    expect(lines[12]!.slice(...Object.values(problemColumns(lines[12]!, problems[0]!.path)) as [number, number])).toBe('containerPort');
    const syntax = applyProblems(refusal('apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n', 's.yaml'), 's.yaml');
    expect(syntax).toHaveLength(1);
    expect(syntax[0]!.path).toBe('');
    expect(syntax[0]!.message).toMatch(/^error converting YAML to JSON/);
    expect(problemColumns('    - name: x   ', 'spec.containers[1]')).toEqual({ start: 4, end: 13 });
  });

  test('more than three problems: the rest counted; another file, or an error about no place, gives none', () => {
    const many = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: m\nspec:\n  containers:\n${['a', 'b', 'c', 'd', 'e'].map((n) => `  - name: ${n}\n    image: busybox\n    badField${n}: 1\n`).join('')}`;
    const message = refusal(many, 'm.yaml');
    expect(applyProblems(message, 'm.yaml').map((problem) => problem.line)).toEqual([9, 12, 15]);
    expect(unlistedProblems(message)).toBe(2);
    expect(applyProblems(message, 'other.yaml')).toEqual([]);
    expect(applyProblems('pod "x" not found', 'm.yaml')).toEqual([]);
    expect(manifestFileName('/home/me/my pods/web:1.yaml')).toBe('web_1.yaml');
    expect(manifestFileName('Untitled-1')).toBe('Untitled-1');
  });
});

const BRIDGE = 'clpvsc1';
const SUBNET = '10.219.48.0/24';
const POD = `apiVersion: v1
kind: Pod
metadata:
  name: pvm
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: setup
    image: busybox
    command: ["true"]
  containers:
  - name: one
    image: busybox
    command: ["sleep", "600"]
  - name: two
    image: busybox
    command: ["sleep", "600"]
`;

describe('the store against a real agent', () => {
  let dir: string;
  let service: RunningService;
  let store: PodStore;
  let removeBridge: () => void = () => undefined;
  const seen = new Map<string, number | null>();
  const changes: (string | undefined)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync('/tmp/cl-pods-view-');
    removeBridge = removeBridgeIfCreated(BRIDGE);
    service = await startService(join(dir, 'state'), join(dir, 'agent.sock'), [], { CONTAINERS_LAB_BRIDGE: BRIDGE, CONTAINERS_LAB_SUBNET: SUBNET });
    service.client.on('container.changed', (change) => seen.set(change.id, change.summary.pid ?? seen.get(change.id) ?? null));
    store = new PodStore(() => service.client);
    service.client.on('pod.changed', (change) => store.handleChanged(change));
    service.client.on('pod.removed', (change) => store.handleRemoved(change));
    store.onDidChange((name) => changes.push(name));
    await store.load();
  });

  afterAll(async () => {
    await service.client.call('pod.delete', { name: 'pvm', gracePeriodSeconds: 0 }).catch(() => undefined);
    await stopService(service);
    expect(leftovers(join(dir, 'state'), [...seen].map(([id, pid]) => ({ id, pid })))).toEqual(NONE_LEFT);
    removeBridge();
    rmSync(dir, { recursive: true, force: true });
  });

  test('apply → the store follows pod.changed to Running; its sandbox rows name the containers in the sandbox\'s net, as the kernel says', async () => {
    expect(store.list()).toEqual([]);
    await service.client.call('pod.apply', { yaml: POD, file: 'pvm.yaml' });
    await expect.poll(() => store.summary('pvm')?.status, { timeout: 30_000 }).toBe('Running');
    expect(changes).toContain(undefined); // the new pod: the list changed
    await expect.poll(async () => (await store.fetchDetails('pvm'))?.containers.size, { timeout: 15_000 }).toBe(2);
    const details = store.cachedDetails('pvm')!;
    expect(podContainers(details.record).map(podContainerLabel)).toEqual(['init: setup', 'one', 'two']);
    expect(podContainerDescription(podContainers(details.record)[0]!)).toBe('Terminated: Completed (exit 0) · 0 restarts');
    const sandbox = details.sandbox!;
    const net = sandboxNamespaceRows(sandbox, details.containers).find((row) => row.type === 'net')!;
    expect(net.members).toEqual(['one', 'two']);
    // the kernel's own view: both containers' processes are in the sandbox's network namespace
    const pids = [...details.containers.values()].map((record) => record.pid!);
    expect(pids.map((pid) => nsInode(pid, 'net'))).toEqual([nsInode(sandbox.pid!, 'net'), nsInode(sandbox.pid!, 'net')]);
    expect(net.inode).toBe(nsInode(sandbox.pid!, 'net'));
    // and each has a mount namespace of its own
    expect(new Set([...pids, sandbox.pid!].map((pid) => nsInode(pid, 'mnt'))).size).toBe(3);
    expect(sandboxNamespaceRows(sandbox, details.containers).find((row) => row.type === 'mnt')!.members).toEqual([]);
  });

  test('a change to an opened pod fetches its details again (a killed container: exit 137); delete → pod.removed empties the store', async () => {
    changes.length = 0;
    const one = store.cachedDetails('pvm')!.containers.get('one')!;
    process.kill(one.pid!, 'SIGKILL');
    const exitOfOne = (): number | undefined => {
      const entry = podContainers(store.cachedDetails('pvm')!.record).find((candidate) => candidate.status.name === 'one')!.status;
      return entry.state.terminated?.exitCode ?? entry.lastState.terminated?.exitCode;
    };
    // nobody asks the store: the pod.changed notification alone brings the opened pod's details up to date
    await expect.poll(exitOfOne, { timeout: 30_000 }).toBe(137);
    expect(changes).toContain('pvm');
    changes.length = 0;
    await service.client.call('pod.delete', { name: 'pvm', gracePeriodSeconds: 0 });
    await expect.poll(() => store.list(), { timeout: 20_000 }).toEqual([]);
    expect(store.cachedDetails('pvm')).toBeUndefined();
    expect(changes.at(-1)).toBeUndefined();
    expect((await service.client.call('pod.list', {}))).toEqual([]);
    expect(await service.client.call('container.list', {})).toEqual([]);
  });
});
