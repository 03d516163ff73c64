/*
 * A published port as people read it — Docker's `ps` form, "0.0.0.0:8080->80/tcp": host address
 * and port, then the container's port it leads to. The CLI's PORTS column, `inspect` and the
 * extension's views all print it this way (agent/runtime/network/ports/ reads and writes `-p`).
 */
import type { PublishedPort } from './records';

/** "0.0.0.0:8080->80/tcp"; 0.0.0.0 stands for every address of the host. */
export function formatPublishedPort(port: PublishedPort): string {
  return `${port.hostIp ?? '0.0.0.0'}:${port.hostPort}->${port.containerPort}/${port.protocol}`;
}

/** A container's ports on one line, as docker ps's PORTS column: "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp". */
export function formatPublishedPorts(ports: readonly PublishedPort[]): string {
  return ports.map(formatPublishedPort).join(', ');
}
