/*
 * The `pod.*` JSON-RPC methods, as handlers the agent's service mounts beside its container
 * methods, and their parameter rules. The engine is made on first use in a one-shot CLI; the
 * service (`supervise`) makes it at once, so pods left by an earlier agent are looked after again.
 */
import { EventEmitter } from 'node:events';
import type { ContainerRuntime } from '../runtime/api';
import type { PodMethod, PodMethods, PodNotifications } from '../protocol/pods';
import { PodEngine } from './engine/pod-engine';
import { MAX_MANIFEST_BYTES } from './manifest/document';
import { StaticPods } from './static-pods';

export type PodHandlers = { [M in PodMethod]: (params: PodMethods[M][0]) => PodMethods[M][1] | Promise<PodMethods[M][1]> };

type PodEvents = { [K in keyof PodNotifications]: [PodNotifications[K]] };

const name = { type: 'string', maxLength: 256 } as const;
const yaml = { type: 'string', maxLength: MAX_MANIFEST_BYTES } as const;
export const POD_PARAM_RULES = {
  'pod.apply': { yaml: { ...yaml, required: true }, file: { type: 'string' } },
  'pod.delete': { name, yaml, file: { type: 'string' }, gracePeriodSeconds: { type: 'integer', min: 0, max: 3600 } },
  'pod.list': {},
  'pod.get': { name: { ...name, required: true } },
  'pod.resolve': { name: { ...name, required: true }, container: name, previous: { type: 'boolean' } },
} as const;

export class PodService {
  readonly events = new EventEmitter<PodEvents>();
  private engine: PodEngine | null = null;
  private staticPods: StaticPods | null = null;

  constructor(private readonly runtime: () => ContainerRuntime, private readonly supervise: boolean) {}

  /** The service starts the engine with the agent, so restarts and probes resume; and watches the static pod directory. */
  start(staticPodPath: string | undefined, log: (line: string) => void): void {
    const engine = this.pods();
    if (staticPodPath !== undefined) this.staticPods = new StaticPods(engine, staticPodPath, log);
  }

  /** The node's pod engine, made on first use (labs share it). */
  podEngine(): PodEngine {
    return this.pods();
  }

  private pods(): PodEngine {
    if (this.engine) return this.engine;
    this.engine = new PodEngine(this.runtime(), { supervise: this.supervise });
    this.engine.events.on('pod.changed', (change) => this.events.emit('pod.changed', change));
    this.engine.events.on('pod.removed', (change) => this.events.emit('pod.removed', change));
    return this.engine;
  }

  readonly handlers: PodHandlers = {
    'pod.apply': ({ yaml: text, file }) => this.pods().apply(text, file),
    'pod.delete': (params) => this.pods().delete(params),
    'pod.list': () => this.pods().list(),
    'pod.get': ({ name: pod }) => this.pods().get(pod),
    'pod.resolve': (params) => this.pods().resolve(params),
  };

  close(): void {
    this.staticPods?.close();
    this.engine?.close();
    this.events.removeAllListeners();
  }
}
