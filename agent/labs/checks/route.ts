/*
 * Check "route": a container's routing table, read from /proc/<pid>/net/route — the kernel prints
 * the IPv4 routes of the *network namespace of that process* there. Destination, gateway and
 * mask are hex in the machine's byte order; the default route is destination 0 with mask 0.
 */
import { readFileSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running } from './outcome';

export interface RouteEntry {
  iface: string;
  destination: string;
  gateway: string;
  mask: string;
}

function hexToIp(hex: string): string {
  const value = Buffer.alloc(4);
  value.writeUInt32LE(parseInt(hex, 16) >>> 0, 0);
  return [...value].join('.');
}

export function readRoutes(pid: number): RouteEntry[] {
  const lines = readFileSync(`/proc/${pid}/net/route`, 'utf8').trim().split('\n').slice(1);
  return lines.filter(Boolean).map((line) => {
    const fields = line.trim().split(/\s+/);
    return { iface: fields[0]!, destination: hexToIp(fields[1]!), gateway: hexToIp(fields[2]!), mask: hexToIp(fields[7]!) };
  });
}

export function checkRoute(params: CheckParamsByKind['route'], context: LabContext): void {
  const record = running(context, params.container);
  const routes = readRoutes(record.pid);
  const defaultRoute = routes.find((route) => route.destination === '0.0.0.0' && route.mask === '0.0.0.0');
  failIf(!defaultRoute, `"${params.container}" has no default route (routes: ${routes.map((route) => `${route.destination}/${route.mask} dev ${route.iface}`).join('; ') || 'none'})`);
  if (params.defaultViaGateway) {
    failIf(defaultRoute!.gateway !== record.network.gateway, `the default route goes via ${defaultRoute!.gateway}, not the bridge ${record.network.gateway}`);
  }
}
