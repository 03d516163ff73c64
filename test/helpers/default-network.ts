/*
 * A test file's own default network, given the way a shell gives it to `serve` or the CLI:
 * $CONTAINERS_LAB_BRIDGE and $CONTAINERS_LAB_SUBNET (agent/runtime/network/default-bridge.ts).
 * Runtimes this file opens without a `defaultBridge` option — the CLI it spawns, an in-process
 * agent — then put containers that name no bridge there, not on cl0, which other files use at the
 * same time with address leases of their own.
 */
import { hostLinkNames, removeBridgeIfCreated } from './kernel-witness';

/** Sets the variables; the returned function deletes the bridge if this file made it, unsets them, and says whether the bridge is gone. */
export function useOwnDefaultNetwork(bridge: string, subnet: string): () => { bridgeGone: boolean } {
  process.env.CONTAINERS_LAB_BRIDGE = bridge;
  process.env.CONTAINERS_LAB_SUBNET = subnet;
  const removeBridge = removeBridgeIfCreated(bridge);
  return () => {
    removeBridge();
    delete process.env.CONTAINERS_LAB_BRIDGE;
    delete process.env.CONTAINERS_LAB_SUBNET;
    return { bridgeGone: !hostLinkNames().includes(bridge) };
  };
}
