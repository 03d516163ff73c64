/*
 * The `lab.*` JSON-RPC methods, as handlers the agent's service mounts beside its container
 * methods, and the parameter rules its validator applies to them. The engine is created on first
 * use, so an agent that never serves a lab never reads the lab files.
 */
import type { ContainerRuntime } from '../runtime/api';
import type { LabMethod, LabMethods } from '../protocol/labs';
import { LabEngine, type LabEngineOptions } from './engine';

export type LabHandlers = { [M in LabMethod]: (params: LabMethods[M][0]) => LabMethods[M][1] | Promise<LabMethods[M][1]> };

/** `runtime` may be a getter: the service builds its handler table before its runtime field is set. */
export function labHandlers(runtime: ContainerRuntime | (() => ContainerRuntime), options: Partial<LabEngineOptions> = {}): LabHandlers {
  let engine: LabEngine | null = null;
  const labs = (): LabEngine => {
    const current = typeof runtime === 'function' ? runtime() : runtime;
    return (engine ??= new LabEngine(current, { stateRoot: current.info().stateRoot, ...options }));
  };
  return {
    'lab.list': () => labs().list(),
    'lab.show': ({ id }) => labs().show(id),
    'lab.start': ({ id }) => labs().start(id),
    'lab.check': ({ id }) => labs().check(id),
    'lab.reset': ({ id }) => labs().reset(id),
    'lab.stop': ({ id }) => labs().stop(id),
    'lab.solution': ({ id }) => labs().solution(id),
    'lab.solve': ({ id, partial }) => labs().solve(id, partial === true),
  };
}

export { LAB_PARAM_RULES } from './params';
