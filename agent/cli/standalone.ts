/*
 * Standalone mode: when no agent answers on the socket, the CLI runs the runtime in its own
 * process. It still speaks JSON-RPC — to an in-process AgentService over a pair of in-memory
 * pipes — so every verb has exactly one code path, and standalone behaves like the service
 * (same parameter checks, same error codes, same notifications).
 */
import { PassThrough } from 'node:stream';
import type { ContainerRuntime } from '../runtime/api';
import { attachAgent } from '../service/client';
import type { AgentClient } from '../service/client';
import { AgentService, logToStderr } from '../service/server';

export const DEFAULT_STATE_ROOT = '/var/lib/containers-lab';

/**
 * Loads the runtime only when it is needed: `help`, usage errors and service mode never pay for
 * koffi and the kernel bindings. `watchLinks` makes it report network-link events (the service).
 */
export async function loadRuntime(stateRoot: string, options: { watchLinks?: boolean; warmPool?: number; applyNodes?: boolean } = {}): Promise<ContainerRuntime> {
  const { openRuntime } = await import('../runtime/runtime.js');
  return openRuntime({ stateRoot, ...options });
}

export interface InProcessAgent {
  client: AgentClient;
  runtime: ContainerRuntime;
  close(): void;
}

export async function openInProcessAgent(stateRoot: string): Promise<InProcessAgent> {
  const runtime = await loadRuntime(stateRoot);
  const service = new AgentService(runtime, logToStderr);
  const toService = new PassThrough();
  const toClient = new PassThrough();
  service.accept({ input: toService, output: toClient });
  const client = attachAgent({ input: toClient, output: toService });
  return {
    client,
    runtime,
    close: () => {
      client.close();
      service.close();
      runtime.close();
    },
  };
}
