/*
 * Check "reachable": can one container reach another? The check does what a learner would — it
 * runs `ping` inside the first container towards the second's address — so it fails for any
 * reason traffic fails: a link down, a missing route, a veth on the wrong bridge. Traffic only
 * ever goes to addresses of containers (or bridges) this agent made.
 */
import type { CheckParamsByKind } from '../format';
import { execCapture, type LabContext } from '../context';
import { CheckFailed, existing, failIf, running } from './outcome';

/** A container name, "gateway" (the from-container's bridge), or one of our own addresses. */
function targetAddress(to: string, from: string, context: LabContext): string {
  if (to === 'gateway') {
    const gateway = existing(context, from).network.gateway;
    if (!gateway) throw new CheckFailed(`"${from}" has no gateway`);
    return gateway;
  }
  const record = existing(context, to);
  if (!record.network.ip) throw new CheckFailed(`"${to}" has no IP address`);
  return record.network.ip;
}

export async function checkReachable(params: CheckParamsByKind['reachable'], context: LabContext): Promise<void> {
  running(context, params.from);
  const address = targetAddress(params.to, params.from, context);
  const result = await execCapture(context.runtime, params.from, ['ping', '-c', '1', '-W', '2', address]);
  const reached = result.code === 0;
  const expected = params.expect ?? true;
  failIf(reached !== expected, reached ? `"${params.from}" can still reach ${params.to} (${address})` : `"${params.from}" cannot reach ${params.to} (${address}): ${(result.stdout + result.stderr).trim().split('\n').pop() ?? ''}`);
}
