/*
 * The Ports section of a container: each published port (run -p) as Docker's ps writes it, and
 * for a TCP port the address a browser on the lab host opens it at. Without 'vscode': unit-tested.
 *
 * A port published on every host address (0.0.0.0) answers on 127.0.0.1 too — the agent's output
 * DNAT rule covers connections the host opens to itself — so that is where the browser goes; a
 * port published on one address only answers there.
 */
import type { PublishedPort } from '../../../agent/protocol';
import { formatPublishedPort } from '../../../agent/protocol';

export interface PortRow {
  key: string;
  label: string;
  description: string;
  tooltip: string;
  /** "port.tcp" (has Open in Browser) or "port.udp". */
  contextValue: string;
  /** http://HOST:PORT for TCP ports; null for UDP. */
  url: string | null;
}

export function portUrl(port: PublishedPort): string | null {
  if (port.protocol !== 'tcp') return null;
  const host = port.hostIp === null || port.hostIp === '0.0.0.0' ? '127.0.0.1' : port.hostIp;
  return `http://${host}:${port.hostPort}`;
}

export function portRows(ports: readonly PublishedPort[] | undefined, containerIp: string | null): PortRow[] {
  return (ports ?? []).map((port) => {
    const url = portUrl(port);
    return {
      key: `${port.hostIp ?? '*'}:${port.hostPort}/${port.protocol}`,
      label: formatPublishedPort(port),
      description: url ?? 'udp',
      tooltip: [
        `host ${port.hostIp ?? 'every address'} port ${port.hostPort}/${port.protocol} → container ${containerIp ?? '?'}:${port.containerPort}`,
        'DNAT in the agent\'s nftables table: nft list table ip containers_lab',
        url ? `Open in Browser: ${url}` : '',
      ].filter(Boolean).join('\n'),
      contextValue: `port.${port.protocol}`,
      url,
    };
  });
}

/** The section's one-line summary: "2 published" or nothing. */
export const portsDescription = (ports: readonly PublishedPort[] | undefined): string => (ports?.length ? `${ports.length} published` : 'none');
