/*
 * How `containers-lab lab` reaches the lab engine: through the running agent's `lab.*` methods
 * when a service answers on the socket (its containers are the ones to set up and check), and
 * otherwise with the engine in this process on the runtime of the chosen state root — the same
 * choice every other verb makes (../../context.ts), kept here until the service serves labs in
 * its in-process form too.
 */
import { RpcErrorCode } from '../../../protocol';
import type { LabMethod, LabMethods } from '../../../protocol/labs';
import { connectAgent, type AgentClient } from '../../../service/client';
import { RpcError } from '../../../service/jsonrpc';
import { LabService } from '../../../labs/service';
import { resolveStateRoot, type CliContext } from '../../context';
import { loadRuntime } from '../../standalone';

export interface LabConnection {
  call<M extends LabMethod>(method: M, params: LabMethods[M][0]): Promise<LabMethods[M][1]>;
  close(): void;
}

type RawCall = (method: string, params: unknown) => Promise<unknown>;

function overService(client: AgentClient): LabConnection {
  const raw = client.call as unknown as RawCall;
  return {
    call: async (method, params) => {
      try {
        return (await raw(method, params)) as never;
      } catch (error) {
        if (error instanceof RpcError && error.code === RpcErrorCode.MethodNotFound) {
          throw new Error('the running agent does not serve labs: restart it (containers-lab serve) with this version');
        }
        throw error;
      }
    },
    close: () => client.close(),
  };
}

export async function openLabs(context: CliContext): Promise<LabConnection> {
  const client = await connectAgent(context.socketPath);
  if (client) {
    const info = context.requestedRoot === undefined ? null : await client.call('agent.info', {});
    if (!info || resolveStateRoot(info.stateRoot) === resolveStateRoot(context.requestedRoot)) return overService(client);
    client.close();
  }
  const runtime = await loadRuntime(resolveStateRoot(context.requestedRoot));
  // No clock runs here: an attempt whose time is up ends at this command, with its last in-time check.
  const labs = new LabService(runtime);
  return {
    call: async (method, params) => (labs.handlers[method] as (params: unknown) => unknown)(params) as never,
    close: () => {
      labs.close();
      runtime.close();
    },
  };
}
