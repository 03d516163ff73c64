/*
 * Images and pods in the lab VM, through the VM's own agent service and its `containers-lab`:
 *
 * - A registry on the host (issue 15: "the lab VM can pull from a registry on its host"): Debian's
 *   docker-registry, started here on this host's address on the VM's network (inside the job's
 *   network namespace: only the VMs of this run reach it), with an image this test builds and
 *   pushes with skopeo. The VM pulls it over plain HTTP, named with --insecure-registry as a
 *   learner would, runs it (Entrypoint + Cmd from the image config), removes it and prunes its
 *   layers. Witnesses: the digest the registry holds, its access log of blob GETs from the VM.
 *
 * - Pods on cgroup v2 (issue 17): the VM's kernel has the unified hierarchy only, so the QoS
 *   classes land as the kubelet's cgroupfs driver puts them there — kubepods/pod<uid> (Guaranteed),
 *   kubepods/burstable/pod<uid>, kubepods/besteffort/pod<uid> — with cpu.weight from the requests
 *   (runc's shares→weight conversion), cpu.max from CPU limits, memory.max from memory limits, at
 *   container and pod level, and oom_score_adj by QoS (−997, the Burstable formula, 1000). All read
 *   from the VM's kernel: /proc/<pid>/cgroup, the cgroup files, /proc/<pid>/oom_score_adj.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { buildRunnableImages, pushImage, type RunnableImages } from '../helpers/runnable-images';
import { FIRST_NODE, labVm, vmInspect, type LabVm } from './lab-vm';

let vm: LabVm;

beforeAll(() => {
  vm = labVm(FIRST_NODE);
});

afterAll(() => {
  vm?.dispose();
});

/** This host's address on the network that reaches `vmAddress` (the kernel's own choice of source). */
function hostAddressToward(vmAddress: string): string {
  const route = spawnSync('ip', ['-j', 'route', 'get', vmAddress], { encoding: 'utf8' });
  const source = (JSON.parse(route.stdout || '[]') as { prefsrc?: string }[])[0]?.prefsrc;
  if (!source) throw new Error(`no route from this host to the VM at ${vmAddress}: ${route.stderr}`);
  return source;
}

describe('the lab VM pulls from a registry on its host', () => {
  let scratch: string;
  let images: RunnableImages;
  let registry: TestRegistry;
  let reference: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'cl-vm-registry-'));
    images = buildRunnableImages(scratch, { tall: false });
    registry = await startRegistry(scratch, join(scratch, 'storage'), { kind: 'none' }, hostAddressToward(vm.address));
    reference = `${registry.host}/lab/app:1`;
    await pushImage(images.layout.dir, 'app', reference);
  });

  afterAll(async () => {
    await vm?.tryRun(`containers-lab rm -f vm-pulled; containers-lab rmi ${reference}; containers-lab image prune`);
    await registry?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('pull --insecure-registry HOST:PORT brings the image with the registry\'s digest; it runs, and rmi + prune take it away', async () => {
    const pulled = await vm.tryRun(`containers-lab pull --insecure-registry ${registry.host} ${reference}`, 240_000);
    expect(pulled.status, pulled.stdout + pulled.stderr).toBe(0);
    // every layer came from the host's registry, asked for by the VM
    for (const layer of images.app.layers) expect(registry.blobGets(layer.digest), `${layer.digest}\n${registry.output()}`).toBeGreaterThan(0);

    const listed = JSON.parse(await vm.run('containers-lab images --json')) as { repository: string; tag: string | null; digest: string; id: string }[];
    expect(listed).toContainEqual(expect.objectContaining({ repository: `${registry.host}/lab/app`, tag: '1', digest: images.app.manifest.digest, id: images.app.config.digest }));

    // the image config's Entrypoint and Cmd make the process
    const ran = await vm.tryRun(`containers-lab run --name vm-pulled ${reference}`, 120_000);
    expect(ran.status, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toContain('from-entrypoint default-arg');

    await vm.run(`containers-lab rm -f vm-pulled && containers-lab rmi ${reference} && containers-lab image prune`);
    const after = JSON.parse(await vm.run('containers-lab images --json')) as { repository: string }[];
    expect(after.map((image) => image.repository)).not.toContain(`${registry.host}/lab/app`);
  });
});

/** A pod of one container running `sleep`, with the given resources (YAML flow style). */
const podYaml = (name: string, resources: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    resources: ${resources}
`;

const PODS = [
  { name: 'vm-guaranteed', qos: 'Guaranteed', slice: 'kubepods', resources: '{ requests: { cpu: 500m, memory: 64Mi }, limits: { cpu: 500m, memory: 64Mi } }' },
  { name: 'vm-burstable', qos: 'Burstable', slice: 'kubepods/burstable', resources: '{ requests: { cpu: 250m, memory: 64Mi }, limits: { memory: 128Mi } }' },
  { name: 'vm-besteffort', qos: 'BestEffort', slice: 'kubepods/besteffort', resources: '{}' },
] as const;

/** runc's (and the kubelet's) cgroup v1 cpu.shares → v2 cpu.weight. */
const weightOf = (shares: number): number => 1 + Math.floor(((shares - 2) * 9999) / 262142);

interface PodJson {
  metadata: { name: string; uid: string };
  status: { phase: string; qosClass: string; containerStatuses?: { containerID?: string; ready: boolean }[] };
}

describe('pods on cgroup v2: the kubelet\'s QoS classes in the VM\'s kernel', () => {
  afterAll(async () => {
    await vm?.tryRun(PODS.map((pod) => `containers-lab delete pod ${pod.name}`).join('; '));
  });

  it('Guaranteed, Burstable and BestEffort pods get the kubelet\'s cgroup paths, cpu.weight, cpu.max, memory.max and oom_score_adj', async () => {
    const applied = await vm.tryRun(PODS.map((pod) => `cat > /tmp/${pod.name}.yaml <<'EOF'\n${podYaml(pod.name, pod.resources)}EOF\ncontainers-lab apply -f /tmp/${pod.name}.yaml`).join('\n'), 180_000);
    expect(applied.status, applied.stdout + applied.stderr).toBe(0);

    const running = async (): Promise<PodJson[]> => (JSON.parse(await vm.run('containers-lab get pods -o json')) as { items: PodJson[] }).items;
    await expect.poll(async () => (await running()).filter((pod) => pod.status.phase === 'Running' && pod.status.containerStatuses?.every((status) => status.ready)).length, { timeout: 180_000, interval: 2_000 }).toBe(PODS.length);
    const pods = await running();
    const memTotal = Number(/MemTotal:\s+(\d+) kB/.exec(await vm.run('cat /proc/meminfo'))![1]) * 1024;

    for (const expected of PODS) {
      const pod = pods.find((candidate) => candidate.metadata.name === expected.name)!;
      expect(pod.status.qosClass).toBe(expected.qos);
      const container = await vmInspect<{ pid: number; cgroup: { version: number; directories: { unified?: string } } }>(vm, pod.status.containerStatuses![0]!.containerID!);
      expect(container.cgroup.version).toBe(2);
      // the kernel's word on where the process is: one line, "0::<path>", on cgroup v2
      const line = (await vm.run(`cat /proc/${container.pid}/cgroup`)).trim();
      expect(line).toMatch(new RegExp(`^0::/(.+/)?${expected.slice}/pod${pod.metadata.uid}/${expected.name}\\.app\\.0$`));
      const directory = `/sys/fs/cgroup${line.slice('0::'.length)}`;
      expect(container.cgroup.directories.unified).toBe(directory);
      const read = async (file: string): Promise<string> => (await vm.run(`cat ${file}`)).trim();
      const [containerWeight, containerCpuMax, containerMemoryMax] = [await read(`${directory}/cpu.weight`), await read(`${directory}/cpu.max`), await read(`${directory}/memory.max`)];
      const [podWeight, podCpuMax, podMemoryMax] = [await read(`${directory}/../cpu.weight`), await read(`${directory}/../cpu.max`), await read(`${directory}/../memory.max`)];
      const oomScoreAdj = Number(await read(`/proc/${container.pid}/oom_score_adj`));
      if (expected.qos === 'Guaranteed') {
        expect([containerWeight, containerCpuMax, containerMemoryMax]).toEqual([String(weightOf(512)), '50000 100000', String(64 * 1024 ** 2)]);
        expect([podWeight, podCpuMax, podMemoryMax]).toEqual([String(weightOf(512)), '50000 100000', String(64 * 1024 ** 2)]);
        expect(oomScoreAdj).toBe(-997);
      } else if (expected.qos === 'Burstable') {
        expect([containerWeight, containerCpuMax.split(' ')[0], containerMemoryMax]).toEqual([String(weightOf(256)), 'max', String(128 * 1024 ** 2)]);
        expect([podWeight, podCpuMax.split(' ')[0], podMemoryMax]).toEqual([String(weightOf(256)), 'max', String(128 * 1024 ** 2)]);
        expect(oomScoreAdj).toBe(Math.min(999, Math.max(2, 1000 - Math.floor((1000 * 64 * 1024 ** 2) / memTotal))));
      } else {
        expect([containerWeight, containerCpuMax.split(' ')[0], containerMemoryMax]).toEqual([String(weightOf(2)), 'max', 'max']);
        expect([podWeight, podMemoryMax]).toEqual([String(weightOf(2)), 'max']);
        expect(oomScoreAdj).toBe(1000);
      }
    }

    // deleting the pods takes their cgroups with them
    const uids = pods.map((pod) => pod.metadata.uid);
    await vm.run(PODS.map((pod) => `containers-lab delete pod ${pod.name} && rm -f /tmp/${pod.name}.yaml`).join(' && '), 120_000);
    const left = await vm.run(`find /sys/fs/cgroup -type d \\( ${uids.map((uid) => `-name pod${uid}`).join(' -o ')} \\) -print`);
    expect(left.trim()).toBe('');
  });
});
