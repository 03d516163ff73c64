/*
 * One pod's worker: the kubelet's syncPod for it. Each pass looks at what runs and moves one step
 * towards the spec — the sandbox first (shared namespaces, the pod's cgroup, /etc files), then the
 * init containers one at a time, each to completion, then the app containers — and acts on
 * containers that ended by the restart policy, with the crash-loop back-off (./backoff.ts). A
 * restart makes a new runtime container (<pod>.<container>.<restartCount>) and keeps the one
 * before for `logs --previous`. Passes never overlap; an exit, a timer or a probe asks for one.
 */
import { existsSync, rmSync } from 'node:fs';
import type { ContainerRecord } from '../../protocol';
import type { ContainerRuntime } from '../../runtime/api';
import { detachMountsUnder, podDirectory } from '../../runtime/lifecycle/pod';
import type { Container } from '../manifest/types';
import { containerPlan, sandboxAmendment } from '../plan/container-plan';
import { writeNetworkFiles, podHostname } from '../plan/network-files';
import { podCgroupParent, podLevelResources, qosClass } from '../plan/qos';
import { nextBackoff } from './backoff';
import { OnePassAtATime } from './one-pass-at-a-time';
import { containerRef, recordEvent } from './events';
import { runHandler, type Handler } from './handlers';
import { writePodCgroup } from './pod-cgroup';
import { preparePodVolumes } from './pod-volumes';
import { Prober } from './probes';
import type { ContainerTrack, PodTrack } from './record';
import { terminatedState } from './status';

export interface WorkerHost {
  runtime: ContainerRuntime;
  stateRoot: string;
  node: string;
  hostIP: string;
  /** The lowest oom_score_adj the agent may set. */
  oomFloor: number;
  save(track: PodTrack): void;
  record(id: string | null): ContainerRecord | null;
  /** Whether `image` stands for the built-in busybox. */
  builtIn(image: string): boolean;
  /** Whether the node has `image` (pulled, imported or built). */
  present(image: string): boolean;
  /** Pulls `image` with the node's registry credentials (./image-pull.ts). */
  pull(image: string): Promise<void>;
}

export class PodWorker {
  private readonly passes = new OnePassAtATime(() => this.passOnce(), () => !this.stopped);
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly probers = new Map<string, Prober>();
  private stopped = false;

  constructor(private readonly host: WorkerHost, readonly track: PodTrack) {}

  get cgroupParent(): string {
    return podCgroupParent(qosClass(this.track.pod), this.track.uid);
  }

  private spec(name: string): { container: Container; where: string } {
    const spec = this.track.pod.spec!;
    const inits = spec.initContainers ?? [];
    const index = inits.findIndex((c) => c.name === name);
    if (index >= 0) return { container: inits[index]!, where: `spec.initContainers[${index}]` };
    const app = spec.containers.findIndex((c) => c.name === name);
    return { container: spec.containers[app]!, where: `spec.containers[${app}]` };
  }

  /** Asks for a pass; resolves when one that started after this call has ended. */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.passes.request();
  }

  /** Whether the last pass has settled (no pass running). */
  idle(): Promise<void> {
    return this.passes.idle();
  }

  /** One pass; a failure is an event and a retry later, as the kubelet's. */
  private async passOnce(): Promise<void> {
    try {
      await this.pass();
    } catch (error) {
      recordEvent(this.track.events, 'Warning', 'FailedSync', '', `error syncing pod: ${(error as Error).message}`);
      // As the kubelet does: try again later.
      if (!this.track.terminating) this.later(new Date(Date.now() + 10_000).toISOString());
    }
    this.host.save(this.track);
  }

  private later(at: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.sync();
    }, Math.max(0, Date.parse(at) - Date.now()));
    this.timers.add(timer);
  }

  private async pass(): Promise<void> {
    const track = this.track;
    if (track.terminating || this.stopped) return;
    if (!(await this.ensureSandbox())) return;
    const policy = track.pod.spec?.restartPolicy ?? 'Always';
    for (const c of track.containers.filter((t) => t.init)) {
      if (c.done) continue;
      const record = this.host.record(c.current);
      if (c.restartAt || c.waiting || !record) {
        await this.startWhenDue(c);
        return;
      }
      if (record.status !== 'stopped') return;
      if (record.exitCode === 0 && !record.oomKilled) {
        c.done = true;
        c.settled = record.id;
        continue;
      }
      if (c.settled === record.id) return;
      c.settled = record.id;
      if (policy === 'Never') {
        track.failedReason = `init container ${c.name} failed (exit code ${record.exitCode})`;
        return;
      }
      await this.restartLater(c, record);
      return;
    }
    for (const c of track.containers.filter((t) => !t.init)) {
      const record = this.host.record(c.current);
      if (c.restartAt || c.waiting || !record) {
        await this.startWhenDue(c);
        continue;
      }
      if (record.status !== 'stopped' || c.settled === record.id) continue;
      c.settled = record.id;
      this.probers.get(c.name)?.stop();
      c.ready = false;
      if (record.oomKilled) recordEvent(track.events, 'Warning', 'OOMKilled', containerRef(false, c.name), `Container ${c.name} was killed by the kernel's OOM killer (memory limit reached)`);
      if (policy === 'Always' || (policy === 'OnFailure' && (record.exitCode !== 0 || record.oomKilled))) await this.restartLater(c, record);
      else c.lastState = {};
    }
  }

  private async restartLater(c: ContainerTrack, record: ContainerRecord): Promise<void> {
    const ran = record.startedAt && record.finishedAt ? (Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000 : 0;
    const step = nextBackoff(c.backoff, ran);
    c.backoff = step.next;
    c.lastState = terminatedState(record);
    if (step.waitSeconds === 0) {
      await this.start(c, true);
      return;
    }
    c.restartAt = new Date(Date.now() + step.waitSeconds * 1000).toISOString();
    recordEvent(this.track.events, 'Warning', 'BackOff', containerRef(c.init, c.name),
      `Back-off restarting failed container ${c.name} in pod ${this.track.name}_${this.track.namespace}(${this.track.uid})`);
    this.later(c.restartAt);
  }

  private async startWhenDue(c: ContainerTrack): Promise<void> {
    if (c.restartAt && Date.parse(c.restartAt) > Date.now()) {
      this.later(c.restartAt);
      return;
    }
    await this.start(c, c.current !== null);
  }

  private async ensureSandbox(): Promise<boolean> {
    const track = this.track;
    const existing = this.host.record(track.sandboxId);
    if (existing && existing.status === 'running') return true;
    if (existing) {
      track.failedReason = 'the pod sandbox ended';
      return false;
    }
    const pod = track.pod;
    const sandboxName = `${track.name}-pause`;
    const record = await this.host.runtime.podSandbox(track.name, pod.spec?.hostNetwork ? { net: 'host' } : {},
      sandboxAmendment(pod, this.cgroupParent, sandboxName, podHostname(pod), track.uid));
    track.sandboxId = record.id;
    track.podIP = pod.spec?.hostNetwork ? this.host.hostIP : record.network.ip;
    if (record.cgroup) writePodCgroup(record.cgroup, podLevelResources(pod));
    preparePodVolumes(pod, podDirectory(this.host.stateRoot, track.name));
    const files = writeNetworkFiles(podDirectory(this.host.stateRoot, track.name), pod, track.podIP);
    if (files.warning) recordEvent(track.events, 'Warning', 'MissingClusterDNS', '', files.warning);
    return true;
  }

  private async start(c: ContainerTrack, restart: boolean): Promise<void> {
    const track = this.track;
    const { container, where } = this.spec(c.name);
    const ref = containerRef(c.init, c.name);
    const restartCount = restart ? c.restartCount + 1 : c.restartCount;
    const builtIn = this.host.builtIn(container.image!);
    const ownUser = container.securityContext?.runAsUser ?? track.pod.spec?.securityContext?.runAsUser;
    if ((container.securityContext?.runAsNonRoot ?? track.pod.spec?.securityContext?.runAsNonRoot) && !ownUser) {
      c.waiting = { reason: 'CreateContainerConfigError', message: `container has runAsNonRoot and image will run as root (pod: "${track.name}_${track.namespace}(${track.uid})", container: ${c.name})` };
      recordEvent(track.events, 'Warning', 'Failed', ref, `Error: ${c.waiting.message}`);
      return;
    }
    const pulled = builtIn ? 'present' : await this.pullIfNeeded(c, container, ref);
    if (pulled === 'failed') return;
    let record: ContainerRecord;
    try {
      const plan = containerPlan({
        pod: track.pod, qos: qosClass(track.pod), cgroupParent: this.cgroupParent, container, where, builtIn,
        runtimeName: `${track.name}.${c.name}.${restartCount}`, restartCount, oomFloor: this.host.oomFloor,
        sandboxPid: this.host.record(track.sandboxId)?.pid ?? 0,
        networkMounts: writeNetworkFiles(podDirectory(this.host.stateRoot, track.name), track.pod, track.podIP).mounts,
        facts: {
          name: track.name, namespace: track.namespace, uid: track.uid, nodeName: this.host.node, podIP: track.podIP ?? '',
          hostIP: this.host.hostIP, labels: track.pod.metadata?.labels ?? {}, annotations: track.pod.metadata?.annotations ?? {},
        },
      });
      if (plan.oomScoreAdj.set !== plan.oomScoreAdj.wanted) {
        recordEvent(track.events, 'Warning', 'OOMScoreAdj', ref, `oom_score_adj ${plan.oomScoreAdj.wanted} wanted; the agent may not go below ${plan.oomScoreAdj.set} (no CAP_SYS_RESOURCE on this host): set ${plan.oomScoreAdj.set}`);
      }
      if (pulled === 'present') recordEvent(track.events, 'Normal', 'Pulled', ref, builtIn ? `Container image "${container.image}" already present on machine (the built-in busybox)` : `Container image "${container.image}" already present on machine`);
      record = await this.host.runtime.run({ ...plan.options, createOnly: false }, plan.amend);
    } catch (error) {
      const message = (error as Error).message;
      const reason = /image|pull/i.test(message) && !builtIn ? 'ErrImageNeverPull' : 'CreateContainerError';
      c.waiting = { reason, message };
      recordEvent(track.events, 'Warning', 'Failed', ref, `Error: ${message}`);
      const step = nextBackoff(c.backoff, 0);
      c.backoff = step.next;
      c.restartAt = new Date(Date.now() + Math.max(step.waitSeconds, 1) * 1000).toISOString();
      this.later(c.restartAt);
      return;
    }
    const before = c.previous;
    if (restart) {
      c.previous = c.current;
      c.restartCount = restartCount;
    }
    c.current = record.id;
    c.restartAt = null;
    c.waiting = null;
    c.started = !container.startupProbe;
    c.ready = c.started && !container.readinessProbe;
    recordEvent(track.events, 'Normal', 'Created', ref, `Created container: ${c.name}`);
    recordEvent(track.events, 'Normal', 'Started', ref, `Started container ${c.name}`);
    if (restart && before) await this.host.runtime.remove(before, true).catch(() => undefined);
    const postStart = container.lifecycle?.postStart as Handler | undefined;
    if (postStart) {
      const result = await runHandler(postStart, this.target(c, container), 30_000);
      if (!result.ok) {
        recordEvent(track.events, 'Warning', 'FailedPostStartHook', ref, `PostStartHook failed: ${result.message}`);
        await this.host.runtime.stop(record.id, 0).catch(() => undefined);
        return;
      }
    }
    if (!c.init && (container.livenessProbe || container.readinessProbe || container.startupProbe)) {
      this.probers.get(c.name)?.stop();
      this.probers.set(c.name, new Prober(container, c, this.target(c, container), {
        event: (type, reason, message) => recordEvent(track.events, type, reason, ref, message),
        changed: () => this.host.save(track),
        kill: async () => {
          await this.host.runtime.stop(record.id, this.grace()).catch(() => undefined);
        },
      }));
    }
  }

  /**
   * The kubelet's image step, by the container's imagePullPolicy: Never uses what the node has;
   * IfNotPresent (the default here, also for :latest — an offline node cannot pull every start)
   * pulls only an image the node lacks; Always pulls each time. A failed pull leaves the container
   * waiting in ErrImagePull, then ImagePullBackOff while the back-off runs; each retry pulls again.
   */
  private async pullIfNeeded(c: ContainerTrack, container: Container, ref: string): Promise<'present' | 'pulled' | 'failed'> {
    const image = container.image!;
    const policy = container.imagePullPolicy ?? 'IfNotPresent';
    if (policy === 'Never' || (policy === 'IfNotPresent' && this.host.present(image))) return 'present';
    const track = this.track;
    recordEvent(track.events, 'Normal', 'Pulling', ref, `Pulling image "${image}"`);
    try {
      await this.host.pull(image);
      recordEvent(track.events, 'Normal', 'Pulled', ref, `Successfully pulled image "${image}"`);
      return 'pulled';
    } catch (error) {
      const message = (error as Error).message;
      const again = c.waiting?.reason === 'ErrImagePull' || c.waiting?.reason === 'ImagePullBackOff';
      c.waiting = again
        ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ${message}` }
        : { reason: 'ErrImagePull', message: `failed to pull image "${image}": ${message}` };
      recordEvent(track.events, 'Warning', 'Failed', ref, `Failed to pull image "${image}": ${message}`);
      const step = nextBackoff(c.backoff, 0);
      c.backoff = step.next;
      c.restartAt = new Date(Date.now() + Math.max(step.waitSeconds, 1) * 1000).toISOString();
      this.later(c.restartAt);
      return 'failed';
    }
  }

  private target(c: ContainerTrack, container: Container) {
    return { runtime: this.host.runtime, containerId: c.current!, container, host: this.track.podIP };
  }

  grace(): number {
    return this.track.pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  /** Deletes the pod: preStop hooks, SIGTERM, the grace period, SIGKILL; then every container and the sandbox. */
  async terminate(graceSeconds = this.grace()): Promise<void> {
    this.track.terminating = true;
    this.stop();
    await this.idle();
    const deadline = Date.now() + graceSeconds * 1000;
    await Promise.all(this.track.containers.map(async (c) => {
      const record = this.host.record(c.current);
      if (!record || record.status !== 'running') return;
      const { container } = this.spec(c.name);
      recordEvent(this.track.events, 'Normal', 'Killing', containerRef(c.init, c.name), `Stopping container ${c.name}`);
      const preStop = container.lifecycle?.preStop as Handler | undefined;
      if (preStop) await runHandler(preStop, this.target(c, container), Math.max(0, deadline - Date.now()));
      await this.host.runtime.stop(record.id, Math.max(0, Math.ceil((deadline - Date.now()) / 1000))).catch(() => undefined);
    }));
    for (const c of this.track.containers) {
      for (const id of [c.previous, c.current]) if (id && this.host.record(id)) await this.host.runtime.remove(id, true).catch(() => undefined);
    }
    // A pod whose containers were never made still has its sandbox.
    if (this.track.sandboxId && this.host.record(this.track.sandboxId)) await this.host.runtime.remove(this.track.sandboxId, true);
    // The record, /etc files and volumes of a pod whose sandbox was never made (or is gone already).
    const directory = podDirectory(this.host.stateRoot, this.track.name);
    if (existsSync(directory)) detachMountsUnder(directory);
    rmSync(directory, { recursive: true, force: true });
  }

  /** Stops timers and probes (the agent closes; containers keep running). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const prober of this.probers.values()) prober.stop();
    this.probers.clear();
  }
}
