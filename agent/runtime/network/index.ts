/*
 * Container networking, the "bridge" mode: what `docker run` does by default, step by step.
 *
 *   host namespace                               container namespace (pid's)
 *   ┌─────────────────────────────┐              ┌──────────────────────────────┐
 *   │ cl0 (bridge) 10.77.0.1/24   │              │ lo            up             │
 *   │   └─ port: veth1a2b3c4d5e6 ═╪══ veth cable ═╪═ eth0 10.77.0.2/24 up       │
 *   └─────────────────────────────┘              │ default via 10.77.0.1        │
 *                                                 └──────────────────────────────┘
 *
 * 1. make sure the bridge exists, is up and holds the gateway address  (./bridge.ts)
 * 2. lease the container an address and write the lease down          (./addresses.ts)
 * 3. create the veth pair with its peer born inside the container     (./veth.ts)
 * 4. plug the host end into the bridge and switch it on
 * 5. inside the container (./netns.ts): lo up, address on eth0, eth0 up, default route
 *
 * With the bridge's first container comes its way out (masquerade to the rest of the world), and
 * with a container that publishes ports (`run -p`) its DNAT rules — both in the agent's nftables
 * table (./ports/); they go when the last container leaves and when the container's network does.
 *
 * Any failure undoes steps 1–3 in reverse before the error propagates. Every call is
 * synchronous (a handful of netlink round trips, well under a millisecond each).
 * `none` mode is `setupLoopback` alone; `host` mode needs nothing here. Which bridge a container
 * gets when it names none is the runtime's choice (./default-bridge.ts), made before this point.
 */
import type { NetworkRecord, PublishedPort } from '../../protocol';
import { badInput, conflict } from '../../errors';
import { closeFd } from '../../kernel/files';
import { addDefaultRoute, addIPv4Address, deleteLink, findLink, setLinkUp, setMasterAndUp } from './interfaces';
import { deleteBridgeLink, ensureBridge, validateBridgeName } from './bridge';
import { createVethPair, vethNameFor } from './veth';
import { gatewayOf, deleteLedger, nextFreeAddress, parseSubnet, readLedger, writeLedger, type BridgeLedger } from './addresses';
import { openNetns, withHostSocket, withNetnsOf } from './netns';
import type { RouteSocket } from '../../kernel/rtnetlink';
import { UndoStack } from '../undo';
import { closeWayOut, enableHairpin, openWayOut, publishPorts, unpublishPorts } from './ports';
import { overlayMtuOf } from './nodes/state';
import { deleteNeighbour } from './neighbours';

export { checkDefaultBridge, defaultBridgeFromEnv, type DefaultBridge } from './default-bridge';

export interface BridgeNetworkOptions {
  /** [a-z0-9]{12,64}; the host veth is named after it. */
  containerId: string;
  /** A process already inside the container's new network namespace. */
  pid: number;
  /** Leases are kept in <stateDir>/network/<bridge>.json. */
  stateDir: string;
  bridge: string;
  subnet: string;
  /** Host ports to forward to the container (checked free beforehand: ./ports/ checkPortsFree). */
  ports?: PublishedPort[];
}

const CONTAINER_IFNAME = 'eth0';
const CONTAINER_ID = /^[a-z0-9]{12,64}$/;

function validateContainerId(id: string): void {
  if (typeof id !== 'string' || !CONTAINER_ID.test(id)) throw badInput(`invalid container id "${id}": expected 12–64 lowercase letters or digits`);
}

function validatePid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw badInput(`invalid pid ${pid}: expected a positive integer`);
}

/** Brings `lo` up inside the network namespace of `pid` (a new namespace starts with it down). */
export function setupLoopback(pid: number): void {
  validatePid(pid);
  withNetnsOf(pid, (socket) => loopbackUp(socket));
}

function loopbackUp(socket: RouteSocket): void {
  const lo = findLink(socket, 'lo');
  if (!lo) throw conflict('network namespace has no loopback device');
  setLinkUp(socket, lo.index, 'lo');
}

export function attachBridgeNetwork(options: BridgeNetworkOptions): NetworkRecord {
  const bridgeName = options.bridge;
  validateContainerId(options.containerId);
  validateBridgeName(bridgeName);
  validatePid(options.pid);
  const subnet = parseSubnet(options.subnet);
  const gateway = gatewayOf(subnet);
  const vethHost = vethNameFor(options.containerId);

  const existingLedger = readLedger(options.stateDir, bridgeName);
  if (existingLedger && existingLedger.subnet !== subnet.cidr) {
    throw conflict(`bridge ${bridgeName} serves subnet ${existingLedger.subnet}, not ${subnet.cidr}`);
  }
  if (existingLedger?.allocations[options.containerId]) {
    throw conflict(`container ${options.containerId} is already attached to bridge ${bridgeName}`);
  }

  return withHostSocket((host) => {
    const undo = new UndoStack();
    try {
      const { bridge, created } = ensureBridge(host, bridgeName, `${gateway}/${subnet.prefixLength}`);
      const ledger: BridgeLedger = existingLedger ?? {
        bridge: bridgeName,
        subnet: subnet.cidr,
        gateway,
        prefixLength: subnet.prefixLength,
        createdBridge: created,
        allocations: {},
      };
      if (created) {
        ledger.createdBridge = true;
        undo.push(() => {
          // Remove the bridge only if no other container leased an address on it meanwhile.
          const current = readLedger(options.stateDir, bridgeName);
          if (current && Object.keys(current.allocations).length > 0) return;
          deleteBridgeLink(host, bridgeName);
          deleteLedger(options.stateDir, bridgeName);
        });
      }

      // Lease first and write it down, so that a crash after this point leaves a record
      // detachNetwork can clean up from.
      const ip = nextFreeAddress(subnet, ledger);
      const first = Object.keys(ledger.allocations).length === 0;
      const ports = options.ports ?? [];
      ledger.allocations[options.containerId] = { ip, vethHost, ...(ports.length ? { published: true } : {}) };
      writeLedger(options.stateDir, ledger);
      undo.push(() => releaseAllocation(options.stateDir, bridgeName, options.containerId));
      if (first) {
        openWayOut(bridgeName, subnet.cidr);
        // Unless another container came meanwhile (this one's lease may not be released yet).
        undo.push(() => {
          const others = Object.keys(readLedger(options.stateDir, bridgeName)?.allocations ?? {}).filter((id) => id !== options.containerId);
          if (others.length === 0) closeWayOut(bridgeName);
        });
      }

      const namespaceFd = openNetns(options.pid);
      try {
        // On a bridge with an overlay port, the overlay's smaller MTU (./nodes/overlay.ts).
        createVethPair(host, vethHost, CONTAINER_IFNAME, namespaceFd, overlayMtuOf(options.stateDir, bridgeName) ?? undefined);
      } finally {
        closeFd(namespaceFd);
      }
      undo.push(() => deleteLink(host, vethHost));

      const hostEnd = findLink(host, vethHost);
      if (!hostEnd) throw conflict(`veth ${vethHost} vanished right after it was created`);
      setMasterAndUp(host, hostEnd.index, vethHost, bridge.index, bridgeName);
      // The address may have had a holder a moment ago: the host's ARP entry for it still names
      // that container's MAC (REACHABLE for up to ~45 s), and the host's packets to the new
      // holder would go to a port that is gone — a pod made again would fail its probes.
      // `ip neigh del IP dev BRIDGE`: the host asks again (Docker's IPAM avoids reuse instead).
      deleteNeighbour(host, bridge.index, ip);

      const mac = withNetnsOf(options.pid, (inside) => {
        loopbackUp(inside);
        const eth0 = findLink(inside, CONTAINER_IFNAME);
        if (!eth0) throw conflict(`${CONTAINER_IFNAME} did not appear in the network namespace of pid ${options.pid}`);
        addIPv4Address(inside, eth0.index, CONTAINER_IFNAME, ip, subnet.prefixLength);
        setLinkUp(inside, eth0.index, CONTAINER_IFNAME);
        addDefaultRoute(inside, gateway, eth0.index, CONTAINER_IFNAME);
        return eth0.mac;
      });
      if (ports.length) {
        enableHairpin(vethHost);
        publishPorts({ containerId: options.containerId, bridge: bridgeName, subnet: subnet.cidr, ip }, ports);
        undo.push(() => unpublishPorts(options.containerId));
      }

      return { mode: 'bridge', ifname: CONTAINER_IFNAME, ip, prefixLength: subnet.prefixLength, gateway, mac, vethHost, bridge: bridgeName };
    } catch (error) {
      undo.unwind();
      throw error;
    }
  });
}

function releaseAllocation(stateDir: string, bridge: string, containerId: string): void {
  const ledger = readLedger(stateDir, bridge);
  if (!ledger || !ledger.allocations[containerId]) return;
  delete ledger.allocations[containerId];
  writeLedger(stateDir, ledger);
}

/**
 * Undoes attachBridgeNetwork: deletes the container's published-port rules, the host veth if it
 * still exists (it is gone already when the container's namespace died) and releases the address;
 * the last container takes the bridge's way out along. Idempotent. The bridge stays, like docker0
 * does, for the next container; removeBridge deletes it.
 */
export function detachNetwork(options: { containerId: string; stateDir: string; bridge: string }): void {
  const bridgeName = options.bridge;
  validateContainerId(options.containerId);
  validateBridgeName(bridgeName);
  const allocation = readLedger(options.stateDir, bridgeName)?.allocations[options.containerId];
  if (!allocation) return; // never attached, or detached already: nothing of ours to delete
  if (allocation.published) unpublishPorts(options.containerId);
  withHostSocket((host) => deleteLink(host, allocation.vethHost));
  releaseAllocation(options.stateDir, bridgeName, options.containerId);
  if (Object.keys(readLedger(options.stateDir, bridgeName)?.allocations ?? {}).length === 0) closeWayOut(bridgeName);
}

/** Deletes the bridge (if it is one), the agent's rules for it and its lease file. For tests and full clean-up. */
export function removeBridge(name: string, stateDir: string): void {
  validateBridgeName(name);
  withHostSocket((host) => deleteBridgeLink(host, name));
  closeWayOut(name);
  deleteLedger(stateDir, name);
}
