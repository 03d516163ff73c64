/*
 * Networks for lab attempts. A troubleshooting lab needs a bridge of its own ("web15 cannot reach
 * client15 on bridge …"), but a fixed name and subnet would collide: two learners (two state
 * roots) on one lab host, or a lab and a network the host already has. So each attempt borrows a
 * bridge name and a /24 from a pool — clab1 with 10.78.1.0/24, clab2 with 10.78.2.0/24, … — and
 * gives them back when it stops.
 *
 * A candidate is free when the host has no link of that name, no address or route overlapping its
 * subnet (../runtime/network/host-subnets.ts), and no other attempt holds it. That
 * last part is a host-wide reservation file per candidate in /run (cleared at boot like the
 * bridges themselves), created with O_EXCL so two agents racing for one candidate cannot both win.
 * A reservation whose attempt has ended (its state root no longer lists it) is stale and reclaimed.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict } from '../errors';
import { parseIPv4 } from '../runtime/network/addresses';
import { hostRanges, overlaps } from '../runtime/network/host-subnets';
import { withHostSocket } from '../runtime/network/netns';
import type { LabNetwork } from './template';

export const RESERVATIONS_DIRECTORY = '/run/containers-lab/lab-networks';
const POOL_SIZE = 254;
const candidate = (index: number): LabNetwork => ({ bridge: `clab${index}`, subnet: `10.78.${index}.0/24` });

/** Who holds a reservation: enough to tell whether that attempt still runs. */
export interface NetworkOwner {
  stateRoot: string;
  lab: string;
  token: string;
}

function ownerStillRuns(owner: NetworkOwner): boolean {
  try {
    const state = JSON.parse(readFileSync(join(owner.stateRoot, 'labs', 'state.json'), 'utf8')) as { labs?: Record<string, { attempt?: { token?: string } | null }> };
    return state.labs?.[owner.lab]?.attempt?.token === owner.token;
  } catch {
    return false;
  }
}

/** Takes the reservation for `network` unless a running attempt holds it; true when it is ours. */
function reserve(network: LabNetwork, owner: NetworkOwner, directory: string): boolean {
  const file = join(directory, network.bridge);
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(file, `${JSON.stringify({ ...owner, ...network })}\n`, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: NetworkOwner | null = null;
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as NetworkOwner;
      } catch {
        // half-written by a racing agent: treat as held
        return false;
      }
      if (ownerStillRuns(holder)) return false;
      rmSync(file, { force: true }); // a stale reservation: its attempt ended without giving it back
    }
  }
  return false;
}

/** One bridge and subnet per name, none in use on this host; reserved for `owner` until released. */
/** `startAt` (1–254): where the scan begins, for tests that need to know; random otherwise. */
export function allocateNetworks(names: readonly string[], owner: NetworkOwner, directory = RESERVATIONS_DIRECTORY, startAt?: number): Record<string, LabNetwork> {
  if (names.length === 0) return {};
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const use = withHostSocket(hostRanges);
  const allocated: Record<string, LabNetwork> = {};
  // From a random place in the pool, so a bridge a stopped attempt just gave back is not at once
  // someone else's under the same name (a learner reading `ip link` would take it for a leftover).
  const first = startAt === undefined ? randomInt(POOL_SIZE) : (startAt - 1) % POOL_SIZE;
  let step = 0;
  try {
    for (const name of names) {
      for (; step < POOL_SIZE; step++) {
        const network = candidate(((first + step) % POOL_SIZE) + 1);
        const subnet = { network: parseIPv4(network.subnet.split('/')[0]!)!, prefixLength: 24 };
        if (use.links.has(network.bridge) || use.ranges.some((range) => overlaps(range, subnet))) continue;
        if (!reserve(network, owner, directory)) continue;
        allocated[name] = network;
        step++;
        break;
      }
      if (!allocated[name]) throw conflict(`no free lab network left (clab1–clab${POOL_SIZE} with 10.78.0.0/16 are all in use): stop a lab first`);
    }
    return allocated;
  } catch (error) {
    releaseNetworks(allocated, owner, directory);
    throw error;
  }
}

/** Gives the attempt's networks back (only reservations that are still this owner's). */
export function releaseNetworks(networks: Record<string, LabNetwork>, owner: NetworkOwner, directory = RESERVATIONS_DIRECTORY): void {
  for (const network of Object.values(networks)) {
    const file = join(directory, network.bridge);
    try {
      const holder = JSON.parse(readFileSync(file, 'utf8')) as NetworkOwner;
      if (holder.stateRoot === owner.stateRoot && holder.lab === owner.lab && holder.token === owner.token) rmSync(file, { force: true });
    } catch {
      // not reserved (any more): nothing to give back
    }
  }
}
