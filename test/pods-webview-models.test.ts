/*
 * The webview models for a pod made from Pod YAML on the real kernel:
 *   Manifests (extension/webviews/manifests/pod-manifests.ts) — the Pod YAML as applied (with uid
 *     and status) beside each container's config.json exactly as the runtime holds it, and cgroup
 *     paths that are the kernel's (/proc/<pid>/cgroup, directories that exist) under the pod's cgroup;
 *   Topology (extension/webviews/topology/model*.ts) — the pod's containers in ONE network namespace
 *     box, whose inode is /proc/<pid>/ns/net of each, labelled with their Kubernetes names, and the
 *     box saying which namespaces they share with the sandbox (pid only with shareProcessNamespace).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import type { ContainerRecord, PodRecord } from '../agent/protocol';
import { podManifests } from '../extension/webviews/manifests/pod-manifests';
import { buildGraph, containerNodeId, containerView, netnsNodeId } from '../extension/webviews/topology/model';
import { nsInode } from './helpers/kernel-witness';
import { usePods } from './helpers/pods';

const fixture = usePods('podsrest-models', 'podsrest2', '10.173.61.0/24');

const LOOP = 'trap \'exit 0\' TERM; while :; do sleep 1; done';
const yaml = (name: string, share: boolean) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  shareProcessNamespace: ${share}
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: prepare
    image: busybox
    command: ["true"]
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "${LOOP}"]
    resources:
      requests:
        cpu: 100m
        memory: 32Mi
      limits:
        cpu: 100m
        memory: 32Mi
  - name: side
    image: busybox
    command: ["sh", "-c", "${LOOP}"]
    resources:
      limits:
        cpu: 100m
        memory: 32Mi
`;

async function applied(name: string, share: boolean): Promise<{ pod: PodRecord; records: Map<string, ContainerRecord>; sandbox: ContainerRecord }> {
  await fixture.engine().apply(yaml(name, share), `${name}.yaml`);
  const pod = await fixture.waitFor(name, (p) => p.status.phase === 'Running' && p.status.containerStatuses.every((s) => s.ready));
  const runtime = fixture.runtime();
  const ids = [...pod.status.initContainerStatuses, ...pod.status.containerStatuses].map((s) => s.containerID!);
  return { pod, records: new Map(ids.map((id) => [id, runtime.inspect(id)])), sandbox: runtime.inspect(pod.sandbox!.id) };
}

describe('the pod webview models on a real pod', () => {
  test('Manifests: the Pod YAML beside each container\'s config.json and its cgroup paths', async () => {
    const { pod, records, sandbox } = await applied('podsrest-manifests', false);
    const model = podManifests(pod, records, sandbox);
    expect(model).toMatchObject({ name: 'podsrest-manifests', phase: 'Running', qosClass: 'Burstable', cgroupParent: `kubepods/burstable/pod${pod.uid}` });
    const document = parse(model.podYaml) as { kind: string; metadata: { name: string; uid: string }; spec: { containers: { name: string }[] }; status: { phase: string } };
    expect(document).toMatchObject({ kind: 'Pod', metadata: { name: 'podsrest-manifests', uid: pod.uid }, status: { phase: 'Running' } });
    expect(document.spec.containers.map((c) => c.name)).toEqual(['app', 'side']);
    // Init containers first, then the app containers; each with the runtime's own config.json.
    expect(model.containers.map((c) => [c.name, c.init])).toEqual([['prepare', true], ['app', false], ['side', false]]);
    for (const entry of model.containers) {
      const record = records.get(entry.id!)!;
      expect(entry.runtimeName).toBe(`podsrest-manifests.${entry.name}.0`);
      expect(JSON.parse(entry.config!)).toEqual(record.config);
      expect(entry.cgroup!.path).toContain(`kubepods/burstable/pod${pod.uid}/${entry.runtimeName}`);
    }
    // A running container's cgroup paths are the kernel's: /proc/<pid>/cgroup names the path, the directories exist.
    const app = model.containers.find((c) => c.name === 'app')!;
    const pid = records.get(app.id!)!.pid!;
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(app.cgroup!.path);
    expect(app.cgroup!.directories.length).toBeGreaterThan(0);
    for (const { directory } of app.cgroup!.directories) {
      expect(existsSync(directory)).toBe(true);
      expect(readFileSync(`${directory}/cgroup.procs`, 'utf8').split('\n')).toContain(String(pid));
    }
    expect(model.sandbox).toMatchObject({ name: 'podsrest-manifests-pause' });
    expect(model.sandbox!.cgroup!.path).toContain(`kubepods/burstable/pod${pod.uid}/podsrest-manifests-pause`);

    // Before a container exists (no record): no config.json, no cgroup — not an invented one.
    const early = podManifests(pod, new Map(), null);
    expect(early.containers.every((c) => c.config === null && c.cgroup === null && c.runtimeName === null)).toBe(true);
    expect(early.sandbox).toEqual({ name: 'podsrest-manifests-pause', cgroup: null });
    await fixture.engine().delete({ name: 'podsrest-manifests', gracePeriodSeconds: 0 });
  }, 60_000);

  test('Topology: one namespace box for the pod, its containers by name, the namespaces they share', async () => {
    for (const share of [true, false]) {
      const name = share ? 'podsrest-topo-shared' : 'podsrest-topo';
      const { pod, records, sandbox } = await applied(name, share);
      const running = [sandbox, ...pod.status.containerStatuses.map((s) => records.get(s.containerID!)!)];
      const hostNetns = nsInode('self', 'net');
      const graph = buildGraph({ hostNetns, links: [], containers: running.map(containerView) });
      const inode = nsInode(sandbox.pid!, 'net');
      for (const record of running) expect(nsInode(record.pid!, 'net')).toBe(inode);
      const box = graph.nodes.get(netnsNodeId(inode))!;
      expect(box.label).toBe(`pod ${name}`);
      expect(box.detail).toBe(`net:[${inode}] · app, side share net, ipc, uts${share ? ', pid' : ''}`);
      // Only one namespace node besides the host's: the pod is one box.
      expect([...graph.nodes.values()].filter((node) => node.kind === 'netns')).toHaveLength(1);
      for (const record of running) expect(graph.nodes.get(containerNodeId(record.id))?.parent).toBe(netnsNodeId(inode));
      const [app, side] = running.slice(1).map((record) => graph.nodes.get(containerNodeId(record.id))!);
      expect(app!.label).toBe('app');
      expect(side!.label).toBe('side');
      expect(app!.detail).toMatch(new RegExp(`^${name}\\.app\\.0 · running · 10\\.173\\.61\\.`));
      expect(graph.nodes.get(containerNodeId(sandbox.id))!.label).toBe(`${name}-pause`);
      await fixture.engine().delete({ name, gracePeriodSeconds: 0 });
    }
  }, 60_000);
});
