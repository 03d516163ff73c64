/*
 * The `lab.*` JSON-RPC methods, as handlers the agent's service mounts beside its container
 * methods, and the parameter rules its validator applies to them. The engine is created on first
 * use, so an agent that never serves a lab never reads the lab files; once it exists, what it
 * announces unasked (an attempt's time ran out: 'lab.changed') is passed on through `events`.
 */
import { EventEmitter } from 'node:events';
import type { ContainerRuntime } from '../runtime/api';
import type { LabMethod, LabMethods, LabNotifications } from '../protocol/labs';
import { LabEngine, type LabEngineOptions } from './engine';

export type LabHandlers = { [M in LabMethod]: (params: LabMethods[M][0]) => LabMethods[M][1] | Promise<LabMethods[M][1]> };

type LabEvents = { [K in keyof LabNotifications]: [LabNotifications[K]] };

export class LabService {
  readonly events = new EventEmitter<LabEvents>();
  private engine: LabEngine | null = null;

  /** `runtime` may be a getter: the service builds its handler table before its runtime field is set. */
  constructor(
    private readonly runtime: ContainerRuntime | (() => ContainerRuntime),
    private readonly options: Partial<LabEngineOptions> = {},
  ) {}

  private labs(): LabEngine {
    if (this.engine) return this.engine;
    const current = typeof this.runtime === 'function' ? this.runtime() : this.runtime;
    this.engine = new LabEngine(current, { stateRoot: current.info().stateRoot, ...this.options });
    this.engine.events.on('lab.changed', (change) => this.events.emit('lab.changed', change));
    return this.engine;
  }

  readonly handlers: LabHandlers = {
    'lab.list': () => this.labs().list(),
    'lab.show': ({ id }) => this.labs().show(id),
    'lab.start': ({ id }) => this.labs().start(id),
    'lab.check': ({ id }) => this.labs().check(id),
    'lab.reset': ({ id }) => this.labs().reset(id),
    'lab.stop': ({ id }) => this.labs().stop(id),
    'lab.solution': ({ id }) => this.labs().solution(id),
    'lab.solve': ({ id, partial }) => this.labs().solve(id, partial === true),
  };

  close(): void {
    this.engine?.close();
  }
}

export { LAB_PARAM_RULES } from './params';
