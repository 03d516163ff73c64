/*
 * The agent's nftables table, rule by rule — and what each rule does to a packet.
 *
 *   table ip containers_lab
 *     chain prerouting   nat, hook prerouting (priority dstnat)   packets arriving from outside
 *     chain output       nat, hook output (priority -100)          packets this host makes
 *     chain postrouting  nat, hook postrouting (priority srcnat)   packets about to leave
 *     chain input        filter, hook input                        packets for this host
 *
 * DNAT (destination NAT) rewrites where a packet goes. `tcp dport 8080 dnat to 10.77.0.2:80`
 * turns a packet for host:8080 into one for 10.77.0.2:80 before the routing decision, so the
 * kernel then routes it to the bridge like any packet for the container. Two chains need it:
 * prerouting for packets that arrive (from another machine, or from a container through the
 * bridge), output for connections the host itself opens (curl 127.0.0.1:8080), which never pass
 * prerouting. "Every host address" is `fib daddr type local`: the kernel's own routing table says
 * whether the destination is one of this host's addresses.
 *
 * conntrack is why one rule is enough for a whole connection. netfilter's connection tracker
 * remembers every flow it sees; NAT rules are consulted only for a flow's FIRST packet, and the
 * translation chosen then is applied to every later packet of the flow — and undone on every
 * answer: the container's reply from 10.77.0.2:80 leaves the host as if from host:8080. (Watch it:
 * `conntrack -L`, or /proc/net/nf_conntrack where the kernel has it.)
 *
 * Masquerade is source NAT to "whatever address the outgoing interface has": the packet's source
 * becomes the host's own address on the way out, and conntrack maps the answers back. Three
 * places need it:
 *   - the way out: a container's packet for the internet leaves eth0 with source 10.77.0.2, an
 *     address nobody outside can answer. `ip saddr 10.77.0.0/24 oifname != "cl0" masquerade`
 *     sends it as the host's, one rule per bridge.
 *   - the hairpin: container B opens gateway:8080, DNAT sends it to container A on the same
 *     bridge — but A would answer B directly (same subnet, no router needed), from 10.77.0.2
 *     instead of the gateway B spoke to, and B drops that answer. Masquerading the flow makes A
 *     see the host as the client, so the answer goes back through the host, where conntrack
 *     undoes both translations.
 *   - localhost: the host's connection to 127.0.0.1:8080 has source 127.0.0.1, and a container's
 *     answer to that would stay inside the container. Masqueraded, it comes from the bridge's
 *     address. (It can leave by the bridge at all only with route_localnet: ./host-switches.ts.)
 * A client from another machine is not masqueraded: the container sees its real address.
 *
 * Every rule carries a comment saying whose it is — "container <id> on <bridge>: …" or "bridge
 * <bridge>: …" — which is how the agent finds exactly its rules to delete. A rule without such a
 * comment is someone else's (a learner's, added by hand) and is left alone.
 */
import type { PublishedPort } from '../../../protocol';
import { TABLE } from './nft';
import { formatPublishedPort, parsePublishedPort } from './publish-syntax';

export const CHAINS = [
  { name: 'prerouting', spec: 'type nat hook prerouting priority dstnat; policy accept;' },
  { name: 'output', spec: 'type nat hook output priority -100; policy accept;' },
  { name: 'postrouting', spec: 'type nat hook postrouting priority srcnat; policy accept;' },
  { name: 'input', spec: 'type filter hook input priority filter; policy accept;' },
] as const;

export type ChainName = (typeof CHAINS)[number]['name'];

/** A rule to add: its chain, its text after `add rule ip containers_lab <chain>`, and whose it is. */
export interface RuleText {
  chain: ChainName;
  text: string;
  /** "container <id> on <bridge>: …", "bridge <bridge>: …" or "node <name>: …" (see ownerOf). */
  comment: string;
  /** Goes before every rule of its chain (`insert`, not `add`): a peer node's accept precedes masquerade. */
  first?: boolean;
}

/** Whose a rule is, read from its comment. */
export type RuleOwner =
  | { kind: 'port'; containerId: string; bridge: string; port: PublishedPort | null }
  | { kind: 'way-out'; bridge: string }
  | { kind: 'guard'; bridge: string }
  | { kind: 'node'; node: string }
  | { kind: 'unknown' };

const LOOPBACK = '127.0.0.0/8';
const TABLE_COMMENT = 'Containers Lab: published ports (run -p) and the way out of its bridges; made and removed by the agent';

/** The script lines that make the table and its chains (`add` leaves existing ones as they are). */
export function tableScript(): string[] {
  return [
    `add table ${TABLE} { comment "${TABLE_COMMENT}"; }`,
    ...CHAINS.map((chain) => `add chain ${TABLE} ${chain.name} { ${chain.spec} }`),
  ];
}

export const addRuleLine = (rule: RuleText): string => `${rule.first ? 'insert' : 'add'} rule ${TABLE} ${rule.chain} ${rule.text} comment "${rule.comment}"`;
export const deleteRuleLine = (chain: string, handle: number): string => `delete rule ${TABLE} ${chain} handle ${handle}`;
export const deleteTableLine = (): string => `delete table ${TABLE}`;

const isLoopback = (ip: string): boolean => ip.startsWith('127.');

export interface ContainerTarget {
  containerId: string;
  bridge: string;
  /** The bridge's subnet, "10.77.0.0/24". */
  subnet: string;
  /** The container's address on it. */
  ip: string;
}

/** The rules that publish `ports` of a container: DNAT in prerouting and output, masquerade in postrouting. */
export function portRules(target: ContainerTarget, ports: PublishedPort[]): RuleText[] {
  const rules: RuleText[] = [];
  const masqueraded = new Set<string>();
  for (const port of ports) {
    const comment = `container ${target.containerId} on ${target.bridge}: ${formatPublishedPort(port)}`;
    const dnat = `${port.protocol} dport ${port.hostPort} dnat to ${target.ip}:${port.containerPort}`;
    if (port.hostIp === null) {
      // From outside, any host address but loopback: route_localnet on the bridge would otherwise
      // let the bridge's containers reach the port as 127.0.0.1 too.
      rules.push({ chain: 'prerouting', text: `fib daddr type local ip daddr != ${LOOPBACK} ${dnat}`, comment });
      rules.push({ chain: 'output', text: `fib daddr type local ${dnat}`, comment });
    } else {
      // A port on a loopback address is the host's alone: no prerouting rule at all.
      if (!isLoopback(port.hostIp)) rules.push({ chain: 'prerouting', text: `ip daddr ${port.hostIp} ${dnat}`, comment });
      rules.push({ chain: 'output', text: `ip daddr ${port.hostIp} ${dnat}`, comment });
    }
    // One masquerade per container port, however many host ports lead to it.
    const key = `${port.protocol}/${port.containerPort}`;
    if (masqueraded.has(key)) continue;
    masqueraded.add(key);
    rules.push({
      chain: 'postrouting',
      text: `ip daddr ${target.ip} ${port.protocol} dport ${port.containerPort} ct status dnat ip saddr { ${LOOPBACK}, ${target.subnet} } masquerade`,
      comment,
    });
  }
  return rules;
}

/** The bridge's way out: its subnet, leaving by any other interface, masqueraded as the host. */
export function wayOutRule(bridge: string, subnet: string): RuleText {
  return { chain: 'postrouting', text: `ip saddr ${subnet} oifname != "${bridge}" masquerade`, comment: `bridge ${bridge}: the way out for ${subnet} (masquerade)` };
}

/**
 * With route_localnet on, a container could send to 127.0.0.1 through the gateway and reach what
 * the host serves only to itself. Answers to the host's own connections (conntrack's "reply"
 * direction) are let in; anything the bridge starts toward 127.0.0.0/8 is dropped.
 */
export function guardRule(bridge: string): RuleText {
  return {
    chain: 'input',
    text: `iifname "${bridge}" ip daddr ${LOOPBACK} ct direction original drop`,
    comment: `bridge ${bridge}: route_localnet guard (nothing from the bridge to ${LOOPBACK})`,
  };
}

/**
 * Several nodes (../nodes/): packets from this node's containers to a peer node's subnet keep their
 * source address — the peer's containers see who really called, and answer by their own route
 * back. Without this rule the way out would masquerade them as the host (its `oifname != bridge`
 * matches the link toward the peer), as if the peer were the internet.
 */
export function peerRule(node: string, ownSubnet: string, peerSubnet: string): RuleText {
  return { chain: 'postrouting', text: `ip saddr ${ownSubnet} ip daddr ${peerSubnet} accept`, comment: `node ${node}: ${peerSubnet} reached from ${ownSubnet} unmasqueraded`, first: true };
}

const NODE_COMMENT = /^node ([a-z0-9.-]+): /;
const PORT_COMMENT = /^container ([a-z0-9]+) on ([a-zA-Z0-9_.-]+): (\S+)/;
const BRIDGE_COMMENT = /^bridge ([a-zA-Z0-9_.-]+): (the way out|route_localnet guard)/;

export function ownerOf(comment: string | undefined): RuleOwner {
  const port = PORT_COMMENT.exec(comment ?? '');
  if (port) return { kind: 'port', containerId: port[1]!, bridge: port[2]!, port: parsePublishedPort(port[3]!) };
  const bridge = BRIDGE_COMMENT.exec(comment ?? '');
  if (bridge) return { kind: bridge[2] === 'the way out' ? 'way-out' : 'guard', bridge: bridge[1]! };
  const node = NODE_COMMENT.exec(comment ?? '');
  if (node) return { kind: 'node', node: node[1]! };
  return { kind: 'unknown' };
}

/** The bridge a rule of the agent's serves; null for a rule that is not the agent's. */
export function bridgeOfOwner(owner: RuleOwner): string | null {
  return owner.kind === 'unknown' || owner.kind === 'node' ? null : owner.bridge;
}
