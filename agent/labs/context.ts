/*
 * What setup actions, checks and solution steps share while a lab runs: the runtime (the agent's
 * own, so every read is of this machine's kernel), the lab as this attempt sees it (every template
 * filled, ./template.ts), its answer directory and the attempt itself, and small helpers to look
 * containers up and run commands inside them.
 */
import type { ContainerRecord } from '../protocol';
import type { ContainerRuntime } from '../runtime/api';
import type { PodEngine } from '../pods/engine/pod-engine';
import { LabError } from '../errors';
import type { LabAttempt } from './attempt';
import type { LabDefinition } from './format';

export interface LabContext {
  runtime: ContainerRuntime;
  /** The lab with this attempt's values filled in. */
  lab: LabDefinition;
  stateRoot: string;
  /** The lab's answer directory on the lab host ({{workdir}}). */
  workdir: string;
  attempt: LabAttempt;
  /** The node's pod engine (the agent's own: the service's, supervised, or a one-shot CLI's). */
  pods(): PodEngine;
}

/**
 * The container's record as the kernel shows it now, or null when there is no such container.
 * "POD/CONTAINER" names a pod's container as it runs now (its current runtime container).
 */
export function findContainer(context: Pick<LabContext, 'runtime'> & Partial<Pick<LabContext, 'pods'>>, name: string): ContainerRecord | null {
  try {
    const slash = name.indexOf('/');
    if (slash > 0 && context.pods) {
      const id = podContainerId(context.pods(), name.slice(0, slash), name.slice(slash + 1));
      return id === null ? null : context.runtime.inspect(id);
    }
    return context.runtime.inspect(name);
  } catch (error) {
    if (error instanceof LabError && error.kind === 'not-found') return null;
    throw error;
  }
}

/** The runtime container standing for a pod's container now, or null (no such pod, not started yet). */
export function podContainerId(pods: PodEngine, pod: string, container: string): string | null {
  try {
    return pods.resolve({ name: pod, container }).id;
  } catch (error) {
    if (error instanceof LabError && (error.kind === 'not-found' || error.kind === 'bad-input')) return null;
    throw error;
  }
}

/** A container's runtime id or name for exec: "POD/CONTAINER" resolved, other names as they are. */
export function execTarget(context: LabContext, name: string): string {
  return findContainer(context, name)?.id ?? name;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command inside a running container and collects its output; gives up after `timeoutMs`. */
export function execCapture(runtime: ContainerRuntime, container: string, args: string[], timeoutMs = 10_000, privileged = false): Promise<CommandResult> {
  const session = runtime.exec({ id: container, args, ...(privileged ? { privileged: true } : {}) });
  let stdout = '';
  let stderr = '';
  session.onOutput((stream, data) => {
    if (stream === 'stdout') stdout += data.toString();
    else stderr += data.toString();
  });
  session.close();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      session.kill('SIGKILL');
      stderr += `\n(timed out after ${timeoutMs} ms)`;
    }, timeoutMs);
    session.onExit((code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

