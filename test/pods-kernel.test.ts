/*
 * A pod from Pod YAML on the real kernel: the sandbox's namespaces shared, an init container run
 * to completion first, the kubelet's cgroup layout with its values, oom_score_adj by QoS, the
 * kubelet-managed /etc files, env from the downward API; deleting it leaves nothing.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { execCollect } from './helpers/exec';
import { usePods } from './helpers/pods';

const fixture = usePods('kernel', 'clpods0', '10.231.71.0/24');

const WEB = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: shop
spec:
  hostname: front
  volumes:
  - name: shared
    emptyDir: {}
  initContainers:
  - name: prepare
    image: busybox
    command: ["sh", "-c", "echo prepared > /work/note"]
    volumeMounts:
    - name: shared
      mountPath: /work
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    resources:
      requests:
        cpu: 250m
        memory: 64Mi
      limits:
        memory: 128Mi
    volumeMounts:
    - name: shared
      mountPath: /work
  - name: side
    image: busybox
`;

const ns = (pid: number, type: string): string => readlinkSync(`/proc/${pid}/ns/${type}`);

describe('a pod on the kernel', () => {
  test('apply: init first, shared namespaces, kubelet cgroups and files', async () => {
    const engine = fixture.engine();
    const runtime = fixture.runtime();
    expect(await engine.apply(WEB, 'web.yaml')).toEqual({ name: 'web', action: 'created' });
    const pod = await fixture.waitFor('web', (p) => p.status.phase === 'Running' && p.status.containerStatuses.every((s) => s.ready));
    expect(pod.status.qosClass).toBe('Burstable');
    expect(pod.cgroupParent).toBe(`kubepods/burstable/pod${pod.uid}`);
    expect(pod.status.initContainerStatuses[0]!.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(engine.list()[0]).toMatchObject({ name: 'web', ready: '2/2', status: 'Running', restarts: 0 });

    const sandbox = runtime.inspect(pod.sandbox!.id);
    const app = runtime.inspect(pod.status.containerStatuses[0]!.containerID!);
    const side = runtime.inspect(pod.status.containerStatuses[1]!.containerID!);
    expect(app.name).toBe('web.app.0');
    for (const type of ['net', 'ipc', 'uts']) {
      expect(ns(app.pid!, type)).toBe(ns(sandbox.pid!, type));
      expect(ns(side.pid!, type)).toBe(ns(sandbox.pid!, type));
    }
    for (const type of ['pid', 'mnt']) expect(ns(app.pid!, type)).not.toBe(ns(side.pid!, type));
    expect(ns(app.pid!, 'net')).not.toBe(ns(process.pid, 'net'));

    // The kubelet's layout, read from the kernel: /proc/<pid>/cgroup and the files themselves.
    const cgroupLines = readFileSync(`/proc/${app.pid}/cgroup`, 'utf8');
    expect(cgroupLines).toContain(`kubepods/burstable/pod${pod.uid}/web.app.0`);
    const files = app.cgroup!.directories;
    if (app.cgroup!.version === 1) {
      expect(readFileSync(`${files.cpu}/cpu.shares`, 'utf8').trim()).toBe('256');
      expect(readFileSync(`${files.memory}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(128 * 1024 ** 2));
      expect(readFileSync(`${files.cpu}/../cpu.shares`, 'utf8').trim()).toBe('256');
    } else {
      expect(readFileSync(`${files.unified}/memory.max`, 'utf8').trim()).toBe(String(128 * 1024 ** 2));
    }
    // Burstable: 1000 − 1000 × request / node memory, within 2…999; BestEffort-like side container too.
    const totalmem = (await import('node:os')).totalmem();
    expect(Number(readFileSync(`/proc/${app.pid}/oom_score_adj`, 'utf8'))).toBe(Math.min(999, Math.max(2, 1000 - Math.floor((1000 * 64 * 1024 ** 2) / totalmem))));
    expect(Number(readFileSync(`/proc/${side.pid}/oom_score_adj`, 'utf8'))).toBe(999);

    const inside = async (args: string[]) => (await execCollect(runtime, app.id, args)).stdout;
    expect(await inside(['cat', '/work/note'])).toBe('prepared\n');
    expect(await inside(['hostname'])).toBe('front\n');
    expect(await inside(['cat', '/etc/hosts'])).toContain(`${pod.status.podIP}\tfront\n`);
    const env = await inside(['env']);
    expect(env).toContain('POD_NAME=web\n');
    expect(env).toContain(`POD_IP=${pod.status.podIP}\n`);
    expect(pod.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Pulled', 'Created', 'Started', 'MissingClusterDNS']));

    // Deleting: every container, the sandbox, the pod's cgroups and directory.
    const pids = [sandbox.pid!, app.pid!, side.pid!];
    await engine.delete({ name: 'web', gracePeriodSeconds: 2 });
    expect(engine.list()).toEqual([]);
    expect(runtime.list()).toEqual([]);
    for (const pid of pids) expect(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')).toBe(false);
    for (const dir of Object.values(app.cgroup!.directories)) expect(existsSync(`${dir}/..`)).toBe(false);
  }, 60_000);

  test('a bad manifest changes nothing', async () => {
    await expect(fixture.engine().apply(WEB.replace('image: busybox\n    command', 'imag: busybox\n    command'), 'web.yaml')).rejects.toThrow(/web\.yaml:14: spec\.initContainers\[0\]\.imag: unknown field/);
    expect(fixture.engine().list()).toEqual([]);
    expect(fixture.runtime().list()).toEqual([]);
  });
});
