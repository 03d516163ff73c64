/*
 * The pod engine: the kubelet's node-side job on Pod YAML, over the runtime. It admits manifests
 * (../manifest/read.ts), keeps one worker per pod (./pod-worker.ts), reports status and events as
 * kubectl shows them (./status.ts), and picks its pods up again from disk when the agent starts,
 * with their restart counts and back-off.
 */
import { presentOnNode, pullForPod } from './image-pull';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { badInput, conflict, notFound } from '../../errors';
import type { ContainerRecord, PodNotifications, PodRecord, PodSummary } from '../../protocol';
import type { ContainerRuntime } from '../../runtime/api';
import { podDirectory } from '../../runtime/lifecycle/pod';
import { readPodManifest } from '../manifest/read';
import { qosClass } from '../plan/qos';
import { PodWorker } from './pod-worker';
import { loadPodTracks, savePodTrack, type ContainerTrack, type PodTrack } from './record';
import { podStatus, podSummary } from './status';

type PodEvents = { [K in keyof PodNotifications]: [PodNotifications[K]] };

export interface PodEngineOptions {
  /** Supervise: act on exits, back-off timers and probes (the service). A one-shot CLI only creates and deletes. */
  supervise: boolean;
  log?: (line: string) => void;
}

function hostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}

/** The lowest oom_score_adj this agent may set: its own unless it holds CAP_SYS_RESOURCE. */
function oomFloor(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const effective = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? '0'}`);
  if (effective & (1n << 24n)) return -1000;
  return Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim());
}

export class PodEngine {
  readonly events = new EventEmitter<PodEvents>();
  private readonly workers = new Map<string, PodWorker>();
  private readonly stateRoot: string;
  private readonly node = hostname();
  private readonly hostIP = hostAddress();
  private readonly floor = oomFloor();
  private readonly onContainer = (change: { id: string; summary: { name: string } }): void => this.containerChanged(change.id, change.summary.name);

  constructor(private readonly runtime: ContainerRuntime, private readonly options: PodEngineOptions) {
    this.stateRoot = runtime.info().stateRoot;
    for (const track of loadPodTracks(join(this.stateRoot, 'pods'), options.log ?? (() => undefined))) this.adopt(track);
    if (options.supervise) {
      runtime.events.on('container.changed', this.onContainer);
      for (const worker of this.workers.values()) void worker.sync();
    }
  }

  private adopt(track: PodTrack): PodWorker {
    const worker = new PodWorker({
      runtime: this.runtime, stateRoot: this.stateRoot, node: this.node, hostIP: this.hostIP, oomFloor: this.floor,
      save: (saved) => this.save(saved),
      record: (id) => this.record(id),
      builtIn: (image) => this.builtIn(image),
      present: (image) => presentOnNode(this.runtime, image),
      pull: (image) => pullForPod(this.runtime, this.stateRoot, image),
    }, track);
    this.workers.set(track.name, worker);
    return worker;
  }

  private save(track: PodTrack): void {
    if (!this.workers.has(track.name)) return;
    savePodTrack(podDirectory(this.stateRoot, track.name), track);
    this.events.emit('pod.changed', { name: track.name, summary: this.summary(track) });
  }

  private record(id: string | null): ContainerRecord | null {
    if (!id) return null;
    try {
      return this.runtime.inspect(id);
    } catch {
      return null;
    }
  }

  /** `busybox` (any tag) is the built-in image unless an image of that name was pulled. */
  private builtIn(image: string): boolean {
    if (!/^(docker\.io\/(library\/)?)?busybox(:[\w.-]+)?$/.test(image)) return false;
    if (image === 'busybox') return true;
    try {
      this.runtime.images.inspect(image);
      return false;
    } catch {
      return true;
    }
  }

  /** By name too: a container may end before run() has told the worker its id. */
  private containerChanged(id: string, name: string): void {
    for (const worker of this.workers.values()) {
      const track = worker.track;
      if (track.sandboxId === id || name.startsWith(`${track.name}.`) || track.containers.some((c) => c.current === id)) void worker.sync();
    }
  }

  async apply(text: string, file = 'pod.yaml', source = 'api'): Promise<{ name: string; action: 'created' | 'unchanged' }> {
    const manifest = readPodManifest(text, file);
    const existing = this.workers.get(manifest.name);
    if (existing) {
      if (existing.track.text === text) return { name: manifest.name, action: 'unchanged' };
      throw conflict(`The Pod "${manifest.name}" is invalid: spec: Forbidden: pod updates may not change fields other than image and activeDeadlineSeconds on this node: delete it first (containers-lab delete pod ${manifest.name})`);
    }
    const fresh = (name: string, init: boolean): ContainerTrack => ({
      name, init, restartCount: 0, current: null, previous: null, backoff: { delaySeconds: 0 }, restartAt: null,
      lastState: {}, waiting: null, started: false, ready: false, done: false, settled: null,
    });
    const track: PodTrack = {
      name: manifest.name, namespace: manifest.namespace, uid: randomUUID(), source, createdAt: new Date().toISOString(), text,
      pod: manifest.pod,
      containers: [...(manifest.pod.spec!.initContainers ?? []).map((c) => fresh(c.name, true)), ...manifest.pod.spec!.containers.map((c) => fresh(c.name, false))],
      events: [], sandboxId: null, podIP: null, terminating: false, failedReason: null,
    };
    const worker = this.adopt(track);
    this.save(track);
    // Supervised: the pod comes up in the background, as after kubectl apply. One-shot: up to its app containers now.
    const first = worker.sync();
    if (!this.options.supervise) {
      await first;
      while (!track.failedReason && track.containers.some((c) => c.init && !c.done) && !track.containers.some((c) => c.restartAt || c.waiting)) {
        await this.waitForExit(track);
        await worker.sync();
      }
    }
    return { name: track.name, action: 'created' };
  }

  /** One-shot mode: waits for the running init container to end. */
  private waitForExit(track: PodTrack): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        const running = track.containers.find((c) => c.init && !c.done && this.record(c.current)?.status === 'running');
        if (!running) {
          this.runtime.events.off('container.changed', check);
          clearInterval(poll);
          resolve();
        }
      };
      const poll = setInterval(() => this.runtime.list(), 50);
      this.runtime.events.on('container.changed', check);
      check();
    });
  }

  async delete(params: { name?: string; yaml?: string; file?: string; gracePeriodSeconds?: number }): Promise<{ name: string }> {
    const name = params.name ?? (params.yaml !== undefined ? readPodManifest(params.yaml, params.file).name : undefined);
    if (!name) throw badInput('give a pod name or its YAML');
    const worker = this.workers.get(name);
    if (!worker) throw notFound(`pods "${name}" not found`);
    this.save(worker.track);
    await worker.terminate(params.gracePeriodSeconds);
    this.workers.delete(name);
    this.events.emit('pod.removed', { name });
    return { name };
  }

  list(): PodSummary[] {
    this.runtime.list();
    return [...this.workers.values()].sort((a, b) => a.track.createdAt.localeCompare(b.track.createdAt)).map((worker) => this.summary(worker.track));
  }

  get(name: string): PodRecord {
    this.runtime.list();
    const worker = this.workers.get(name);
    if (!worker) throw notFound(`pods "${name}" not found`);
    const track = worker.track;
    const sandbox = this.record(track.sandboxId);
    return {
      name: track.name, namespace: track.namespace, uid: track.uid, source: track.source, node: this.node,
      manifest: track.pod as unknown as Record<string, unknown>,
      status: this.status(track),
      events: track.events.map((event) => ({ ...event })),
      cgroupParent: worker.cgroupParent,
      sandbox: sandbox ? { id: sandbox.id, name: sandbox.name, pid: sandbox.pid } : null,
    };
  }

  resolve(params: { name: string; container?: string; previous?: boolean }): { id: string; container: string; defaulted: string[] | null } {
    const worker = this.workers.get(params.name);
    if (!worker) {
      if (params.container !== undefined || params.previous) throw notFound(`pods "${params.name}" not found`);
      return { id: this.runtime.resolveId(params.name), container: params.name, defaulted: null };
    }
    const apps = worker.track.containers.filter((c) => !c.init);
    const chosen = params.container !== undefined ? worker.track.containers.find((c) => c.name === params.container) : apps[0];
    if (!chosen) throw badInput(`container ${params.container} is not valid for pod ${params.name}`);
    const id = params.previous ? chosen.previous : chosen.current;
    if (!id) throw badInput(params.previous ? `previous terminated container "${chosen.name}" in pod "${params.name}" not found` : `container "${chosen.name}" in pod "${params.name}" is waiting to start`);
    const defaulted = params.container === undefined && apps.length > 1 ? apps.map((c) => c.name) : null;
    return { id, container: chosen.name, defaulted };
  }

  /** Where each pod came from ("api" or a static pod file) and the text it was made from. */
  sources(): { name: string; source: string; text: string }[] {
    return [...this.workers.values()].map(({ track }) => ({ name: track.name, source: track.source, text: track.text }));
  }

  /** Waits until every pod's current pass has ended (tests, the CLI). */
  async settled(): Promise<void> {
    await Promise.all([...this.workers.values()].map((worker) => worker.idle()));
  }

  private status(track: PodTrack) {
    const sandbox = this.record(track.sandboxId);
    return podStatus(track, qosClass(track.pod), this.hostIP, (id) => this.record(id), sandbox?.status === 'running');
  }

  private summary(track: PodTrack): PodSummary {
    return podSummary(track, this.status(track), this.node);
  }

  close(): void {
    this.runtime.events.off('container.changed', this.onContainer);
    for (const worker of this.workers.values()) worker.stop();
    this.events.removeAllListeners();
  }
}
