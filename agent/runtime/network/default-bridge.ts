/*
 * The default network: the bridge a `--net bridge` container goes on when it names none.
 *
 * Docker has docker0 with 172.17.0.0/16; Containers Lab has cl0 with 10.77.0.0/24. The default
 * belongs to a runtime, not to the machine, because the list of leased addresses (./addresses.ts)
 * lives in the runtime's state root. Two runtimes with separate state roots on one bridge would
 * each keep their own list and hand out the same address twice; the one that made the bridge
 * would also delete it under the other's containers. So a second agent on the same host (a test
 * run, a second lab) gets a default bridge and subnet of its own:
 *
 *   openRuntime({ defaultBridge: { name: 'cllab1', subnet: '10.77.31.0/24' } })
 *   CONTAINERS_LAB_BRIDGE=cllab1 CONTAINERS_LAB_SUBNET=10.77.31.0/24 containers-lab serve
 *
 * Either variable may be left out; the missing one keeps its default.
 */
import { LabError, badInput } from '../../errors';
import { parseSubnet } from './addresses';
import { validateBridgeName } from './bridge';

export interface DefaultBridge {
  /** The bridge device, e.g. "cl0" (1–15 characters). */
  name: string;
  /** Its IPv4 subnet in CIDR notation, e.g. "10.77.0.0/24"; the bridge holds the first address. */
  subnet: string;
}

export const DEFAULT_BRIDGE = 'cl0';
export const DEFAULT_SUBNET = '10.77.0.0/24';

/** What a learner's agent uses unless told otherwise. */
export const LEARNER_DEFAULT_BRIDGE: DefaultBridge = { name: DEFAULT_BRIDGE, subnet: DEFAULT_SUBNET };

export const BRIDGE_VARIABLE = 'CONTAINERS_LAB_BRIDGE';
export const SUBNET_VARIABLE = 'CONTAINERS_LAB_SUBNET';

/**
 * Checks a default bridge before anything is made with it; the error names where the bad value
 * came from (an option or an environment variable). The subnet comes back in canonical form.
 */
export function checkDefaultBridge(bridge: DefaultBridge, source = { name: 'defaultBridge.name', subnet: 'defaultBridge.subnet' }): DefaultBridge {
  const named = <T>(what: string, check: () => T): T => {
    try {
      return check();
    } catch (error) {
      if (error instanceof LabError) throw badInput(`${what}: ${error.message}`);
      throw error;
    }
  };
  named(source.name, () => validateBridgeName(bridge.name));
  const subnet = named(source.subnet, () => parseSubnet(bridge.subnet));
  return { name: bridge.name, subnet: subnet.cidr };
}

/** $CONTAINERS_LAB_BRIDGE and $CONTAINERS_LAB_SUBNET, each defaulting to cl0's; empty counts as unset. */
export function defaultBridgeFromEnv(env: NodeJS.ProcessEnv = process.env): DefaultBridge {
  return checkDefaultBridge(
    { name: env[BRIDGE_VARIABLE] || DEFAULT_BRIDGE, subnet: env[SUBNET_VARIABLE] || DEFAULT_SUBNET },
    { name: BRIDGE_VARIABLE, subnet: SUBNET_VARIABLE },
  );
}
