/*
 * Check "node-route": a lab node's routing table (../nodes.ts), read from the kernel inside that
 * node's network namespace (`ip -n NETNS -j route show to exact SUBNET`). Any route to the subnet
 * via the expected gateway passes — the agent's (proto 77) or one added by hand with `ip route
 * add`: the kernel forwards by the route, not by who made it. With `noVxlan`, the node must have
 * no VXLAN device: routed pod networking wraps nothing.
 */
import { execFile } from 'node:child_process';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { labNode } from '../nodes';
import { CheckFailed, failIf } from './outcome';

function ipJson<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['-j', ...args], { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new CheckFailed(`ip ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve((stdout.trim() ? JSON.parse(stdout) : []) as T);
    });
  });
}

interface ShownRoute { dst: string; gateway?: string; dev?: string }

export async function checkNodeRoute(params: CheckParamsByKind['node-route'], context: LabContext): Promise<void> {
  const netns = labNode(context.workdir, params.node)?.netns;
  if (!netns) throw new CheckFailed(`no lab node ${params.node}`);
  const routes = await ipJson<ShownRoute[]>(['-n', netns, 'route', 'show', 'to', 'exact', params.to]);
  const shown = routes.map((route) => `${route.dst} ${route.gateway ? `via ${route.gateway}` : `dev ${route.dev ?? '?'}`}`).join('; ');
  failIf(!routes.some((route) => route.gateway === params.via), `node ${params.node} routes ${params.to}: ${shown || 'not at all (only the default, if any)'}`);
  if (params.noVxlan) {
    const devices = await ipJson<{ ifname: string }[]>(['-n', netns, 'link', 'show', 'type', 'vxlan']);
    failIf(devices.length > 0, `node ${params.node} has the VXLAN device ${devices.map((device) => device.ifname).join(', ')}`);
  }
}
