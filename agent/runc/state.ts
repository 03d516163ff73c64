/*
 * state ID: the runtime-spec's state document (ociVersion, id, status, pid, bundle, annotations)
 * with runc's extra "rootfs", "created" and "owner", as JSON on stdout.
 */
import { parseFlags, requireId } from './flags';
import type { RuncContainer } from './root';
import type { Invocation } from './verb';

export const OCI_VERSION = '1.0.2';

export interface RuncStateDocument {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export async function state(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, []);
  const container = invocation.root.load(requireId('state', parsed.positionals));
  process.stdout.write(`${JSON.stringify(stateDocument(container), null, 2)}\n`);
  return 0;
}

export function stateDocument(container: RuncContainer): RuncStateDocument {
  const alive = container.status !== 'stopped';
  return {
    ociVersion: OCI_VERSION,
    id: container.id,
    pid: alive ? container.state.pid ?? 0 : 0,
    status: container.status,
    bundle: container.meta.bundle,
    rootfs: container.spec.root?.path ?? '',
    created: container.meta.created,
    owner: container.meta.owner,
    ...(container.spec.annotations ? { annotations: container.spec.annotations } : {}),
  };
}
