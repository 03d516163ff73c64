/*
 * start: let the waiting first process execve the container's program.
 *
 * The process has sat at its last checkpoint since create. One byte on the go pipe releases it;
 * the report pipe then closes at a successful execve (close-on-exec), or carries "E" first when
 * execve failed — the program is missing or not executable inside the container.
 * Around it run config.json's startContainer hooks (inside the container, before the byte; one
 * that fails stops the container) and poststart hooks (after; a failure is a warning): ../hooks.ts.
 */
import { badInput, conflict, LabError } from '../../errors';
import type { OciSpec } from '../../protocol';
import { SIGKILL } from '../../kernel/constants';
import { signalProcess } from '../../kernel/processes';
import { EXEC_FAILED } from '../process/checkpoints';
import { securityMismatch, securityPlanFor } from '../process/security-plan';
import type { ContainerState } from '../state/store';
import { assertTransition } from '../state/state-machine';
import type { RuntimeContext } from './context';
import { hookState, runHooks, warnOnStderr } from '../hooks';

/**
 * A startContainer hook failed: the runtime-spec (runtime.md, lifecycle step 9) says the runtime
 * MUST then stop the container and go on at step 12, destroying it. The first process is killed
 * here; whoever holds the container's record (../runtime.ts) deletes it.
 */
export class StartHookFailure extends LabError {
  constructor(message: string) {
    super('bad-input', message);
  }
}

export function startContainer(context: RuntimeContext, state: ContainerState, spec: OciSpec): void {
  const program = spec.process?.args[0] ?? '';
  assertTransition(state.name, state.status, 'running');
  const parked = context.waiting.get(state.id);
  if (!parked) throw badInput(`container "${state.name}" was created by an agent that has since exited; remove it and run it again`);
  context.waiting.delete(state.id);
  const { checkpoints } = parked;
  const bundle = context.store.directory(state.id);
  const warn = context.warn ?? warnOnStderr;
  try {
    if (state.pid !== null) {
      const cgroup = state.cgroup ? context.cgroups.open(state.cgroup) : null;
      try {
        runHooks(spec.hooks, 'startContainer', hookState(spec, state.id, 'created', state.pid, bundle), { pid: state.pid, namespaces: state.namespaces, cgroup }, warn);
      } catch (error) {
        signalProcess(state.pid, SIGKILL);
        throw new StartHookFailure(`container "${state.name}" was stopped and deleted: ${(error as Error).message}`);
      }
    }
    checkpoints.go();
    const report = checkpoints.nextReport();
    if (report === EXEC_FAILED) throw badInput(`cannot execute "${program}" in container "${state.name}"`);
  } finally {
    checkpoints.close();
    // End-of-file or "E": the child has exec'd or is exiting; it no longer runs in the arena.
    parked.program.release();
  }
  const mismatch = state.pid !== null ? securityMismatch(state.pid, securityPlanFor(spec)) : null;
  if (mismatch) {
    signalProcess(state.pid!, SIGKILL);
    throw conflict(`container "${state.name}" was stopped: its security settings did not take effect (${mismatch})`);
  }
  state.status = 'running';
  state.startedAt = new Date().toISOString();
  context.store.save(state);
  runHooks(spec.hooks, 'poststart', hookState(spec, state.id, 'running', state.pid, bundle), null, warn);
}
