/*
 * A container's line in `ps` / container.list: its record and the command from its config.json.
 */
import type { ContainerSummary, OciSpec, PublishedPort } from '../../protocol';
import { portsFromConfig } from '../network/ports/publish-syntax';
import type { ContainerState } from './store';

/** `config` null: config.json could not be read (the command is then shown empty). */
export function summaryOf(state: ContainerState, config: OciSpec | null): ContainerSummary {
  return {
    id: state.id,
    name: state.name,
    status: state.status,
    pid: state.status === 'stopped' ? null : state.pid,
    ip: state.network.ip,
    ports: config ? readablePorts(config) : [],
    image: state.image,
    command: config?.process?.args.join(' ') ?? '',
    createdAt: state.createdAt,
    exitCode: state.exitCode,
  };
}

/** The document's published ports; a list line shows none rather than fail on a malformed annotation. */
function readablePorts(config: OciSpec): PublishedPort[] {
  try {
    return portsFromConfig(config);
  } catch {
    return [];
  }
}
