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

interface RuntimeModule {
  openRuntime(options: { stateRoot: string }): ContainerRuntime;
}

/** Loads the runtime only when it is needed: `help`, usage errors and service mode never pay for koffi. */
export async function loadRuntime(stateRoot: string): Promise<ContainerRuntime> {
  // @ts-ignore -- agent/runtime/runtime.ts is written in parallel with this file; drop this line once it exists.
  const runtimeModule: RuntimeModule = await import('../runtime/runtime');
  return runtimeModule.openRuntime({ stateRoot });
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
