/*
 * Publishing a port, as written: Docker's `-p` syntax.
 *
 * A container on a bridge has an address only the host and its neighbours on the bridge can
 * reach (10.77.0.2 lives on the host's private cl0). "Publishing" container port 80 on host port
 * 8080 means: whatever arrives at the host's port 8080 is sent on to 10.77.0.2:80. Docker's
 * spelling of that, which this module reads and writes back:
 *
 *   8080:80              host port 8080 on every host address → container port 80, tcp
 *   127.0.0.1:8080:80    only on the host's loopback address (reachable from the host alone)
 *   5353:53/udp          udp instead of tcp
 *
 * Docker also accepts a container port alone (a random host port) and ranges (8000-8010:80-90);
 * the lab asks for both ports, so a learner always knows which host port to open, and says so in
 * one line. Every mistake is refused here, before anything exists, naming the bad value.
 *
 * The document keeps the list (config.json annotation lab.containers.ports, one canonical string
 * each), so a container's config alone says which ports it publishes; ps shows them Docker's way,
 * "0.0.0.0:8080->80/tcp".
 */
import { badInput, quote } from '../../../errors';
import { ANNOTATIONS, formatPublishedPort, type OciSpec, type PublishedPort } from '../../../protocol';
import { parseIPv4 } from '../addresses';

export const PUBLISH_FORMS = '[HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp], e.g. 8080:80 or 127.0.0.1:5353:53/udp';

const PORT = /^\d{1,5}$/;

function portNumber(text: string, what: string, spec: string): number {
  if (/^\d+-\d+$/.test(text)) throw badInput(`-p ${quote(spec)}: port ranges are not supported here; publish each port with its own -p`);
  const value = Number(text);
  if (!PORT.test(text) || value < 1 || value > 65535) throw badInput(`-p ${quote(spec)}: ${what} ${quote(text)} is not a port number (1–65535)`);
  return value;
}

/** One `-p` value → what it publishes; a one-line error names whatever is wrong. */
export function parsePublishSpec(spec: unknown): PublishedPort {
  if (typeof spec !== 'string' || spec.trim() === '') throw badInput(`-p ${quote(spec)}: expected ${PUBLISH_FORMS}`);
  if (spec.startsWith('[') || spec.split(':').length > 3) {
    throw badInput(`-p ${quote(spec)}: IPv6 host addresses are not supported (the agent publishes IPv4 ports only)`);
  }
  const slash = spec.lastIndexOf('/');
  const protocol = slash === -1 ? 'tcp' : spec.slice(slash + 1);
  if (protocol !== 'tcp' && protocol !== 'udp') throw badInput(`-p ${quote(spec)}: protocol ${quote(protocol)} is not supported: use tcp or udp`);
  const parts = (slash === -1 ? spec : spec.slice(0, slash)).split(':');
  if (parts.length === 1 || (parts.length === 3 && parts[1] === '')) {
    throw badInput(`-p ${quote(spec)}: give the host port too, e.g. 8080:${parts[parts.length - 1]} (a random host port is not supported)`);
  }
  const [hostIpText, hostPortText, containerPortText] = parts.length === 3 ? parts : [null, ...parts];
  let hostIp: string | null = null;
  if (hostIpText !== null) {
    const value = parseIPv4(hostIpText ?? '');
    if (value === null) throw badInput(`-p ${quote(spec)}: host address ${quote(hostIpText)} is not an IPv4 address`);
    // 0.0.0.0 is Docker's way of saying "every address"; canonical form is the dotted quad parsed back.
    hostIp = value === 0 ? null : [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
  }
  return {
    hostIp,
    hostPort: portNumber(hostPortText ?? '', 'host port', spec),
    containerPort: portNumber(containerPortText ?? '', 'container port', spec),
    protocol,
  };
}

/** Two mappings that would both claim one host port: same protocol and port, and an address in common. */
export function samePublishedPort(a: PublishedPort, b: PublishedPort): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === null || b.hostIp === null || a.hostIp === b.hostIp);
}

/** Every `-p` of one container, parsed; a host port asked for twice is refused. */
export function parsePublishSpecs(specs: unknown): PublishedPort[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) throw badInput(`invalid ports: give a list of ${PUBLISH_FORMS}`);
  const ports: PublishedPort[] = [];
  for (const spec of specs) {
    const port = parsePublishSpec(spec);
    const twice = ports.find((earlier) => samePublishedPort(earlier, port));
    if (twice) throw badInput(`-p ${quote(spec)}: host port ${formatHostSide(port)} is already published by -p ${canonicalSpec(twice)}`);
    ports.push(port);
  }
  return ports;
}

/** The canonical -p form kept in config.json: "8080:80/tcp", "127.0.0.1:5353:53/udp". */
export function canonicalSpec(port: PublishedPort): string {
  return `${port.hostIp === null ? '' : `${port.hostIp}:`}${port.hostPort}:${port.containerPort}/${port.protocol}`;
}

/** "0.0.0.0:8080/tcp": the host side alone, for messages. */
export function formatHostSide(port: PublishedPort): string {
  return `${port.hostIp ?? '0.0.0.0'}:${port.hostPort}/${port.protocol}`;
}

/** As docker ps shows it: "0.0.0.0:8080->80/tcp" (the protocol's, so the extension prints it alike). */
export { formatPublishedPort };

const DISPLAYED = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})->(\d{1,5})\/(tcp|udp)$/;

/** formatPublishedPort read back (the agent's rule comments carry it); null when it is not one. */
export function parsePublishedPort(text: string): PublishedPort | null {
  const match = DISPLAYED.exec(text);
  if (!match) return null;
  const [, hostIp, hostPort, containerPort, protocol] = match;
  return { hostIp: hostIp === '0.0.0.0' ? null : hostIp!, hostPort: Number(hostPort), containerPort: Number(containerPort), protocol: protocol as 'tcp' | 'udp' };
}

/** The annotation's value for these ports (absent when there are none). */
export function portsAnnotation(ports: PublishedPort[]): string | undefined {
  return ports.length === 0 ? undefined : JSON.stringify(ports.map(canonicalSpec));
}

/** The ports a document publishes; a malformed annotation is a one-line error naming it. */
export function portsFromConfig(spec: OciSpec): PublishedPort[] {
  const text = spec.annotations?.[ANNOTATIONS.ports];
  if (text === undefined) return [];
  let specs: unknown;
  try {
    specs = JSON.parse(text);
  } catch {
    throw badInput(`annotations["${ANNOTATIONS.ports}"] ${quote(text)}: expected a JSON list such as ["8080:80/tcp"]`);
  }
  return parsePublishSpecs(specs);
}
