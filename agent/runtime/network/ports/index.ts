/*
 * One host: published ports and the way out — what the agent asks of netfilter, and when.
 *
 *   outside ──► eth0 ──prerouting: DNAT host:8080 → 10.77.0.2:80──► cl0 ──► container A :80
 *   host: curl 127.0.0.1:8080 ──output: DNAT──postrouting: masquerade──► cl0 ──► A
 *   container B ──► cl0 (gateway:8080) ──prerouting: DNAT──postrouting: masquerade──► cl0 ──► A
 *   container A ──► cl0 ──forward──postrouting: masquerade (the way out)──► eth0 ──► outside
 *
 * (./nat-table.ts explains each rule, ./host-switches.ts the two kernel switches, ./hairpin.ts why a
 * publishing container's bridge port may send a frame back where it came from.)
 *
 * When:
 *   - a bridge's FIRST container attaches: its way-out rule; the LAST one detaching takes it away
 *     (and so does removing the bridge), so the rule lives exactly as long as someone can use it;
 *   - a container that publishes ports attaches: its rules; they go when its network does — when
 *     it stops, exits or is removed (../index.ts detachNetwork calls unpublishPorts);
 *   - while any container on a bridge publishes: that bridge's route_localnet and its guard rule;
 *   - while the table has any rule: ip_forward; when the last rule goes, the table goes with it;
 *   - a container that publishes ports gets hairpin mode on its bridge port (../index.ts).
 *
 * Every change is one transaction under the netfilter lock (./nft.ts): read the table, decide,
 * apply a delta with `nft -f -`. Each transaction also sweeps away the agent's rules for bridges
 * that no longer exist (deleted with `ip link del`, say): they could serve nothing, but a stale
 * port rule would keep its host port taken.
 */
import { existsSync } from 'node:fs';
import type { PublishedPort } from '../../../protocol';
import { refuseTakenPorts } from './in-use';
import { addRuleLine, bridgeOfOwner, deleteRuleLine, deleteTableLine, guardRule, ownerOf, peerRule, portRules, tableScript, wayOutRule } from './nat-table';
import type { ContainerTarget, RuleOwner, RuleText } from './nat-table';
import { applyScript, listTable, nftProgram, otherTables, requireNft, withNetfilterLock } from './nft';
import type { NftRule, NftTableView } from './nft';
import { raiseIpForward, raiseRouteLocalnet, restoreIpForward, restoreRouteLocalnet } from './host-switches';

export { formatPublishedPort, parsePublishSpecs, portsAnnotation, portsFromConfig } from './publish-syntax';
export { enableHairpin } from './hairpin';

interface OwnedRule {
  rule: NftRule;
  owner: RuleOwner;
}

/** What one transaction changes: rules to delete (as read) and rules to add. */
interface Delta {
  remove: OwnedRule[];
  add: RuleText[];
}

const bridgeExists = (bridge: string): boolean => existsSync(`/sys/class/net/${bridge}`);

/** Bridges with at least one published port among `owners`. */
function publishingBridges(owners: RuleOwner[]): Set<string> {
  return new Set(owners.flatMap((owner) => (owner.kind === 'port' ? [owner.bridge] : [])));
}

/**
 * Reads the table, lets `decide` say what to change, and applies it with everything that follows
 * from it: the table and chains made with the first rule, a bridge's guard rule and route_localnet
 * with its first published port (and taken away with its last), ip_forward with the table.
 */
function transact(decide: (table: NftTableView | null, rules: OwnedRule[]) => Delta): void {
  withNetfilterLock((notes) => {
    const table = listTable();
    const rules = (table?.rules ?? []).map((rule) => ({ rule, owner: ownerOf(rule.comment) }));
    const stale = rules.filter(({ owner }) => {
      const bridge = bridgeOfOwner(owner);
      return bridge !== null && !bridgeExists(bridge);
    });
    const delta = decide(table, rules.filter((rule) => !stale.includes(rule)));
    const remove = [...new Set([...stale, ...delta.remove])];
    const add = [...delta.add];

    // The guard follows the bridge's published ports: first port in, last port out.
    const kept = rules.filter((rule) => !remove.includes(rule));
    const before = publishingBridges(rules.map(({ owner }) => owner));
    const after = publishingBridges([...kept.map(({ owner }) => owner), ...add.map((rule) => ownerOf(rule.comment))]);
    const gaining = [...after].filter((bridge) => !kept.some(({ owner }) => owner.kind === 'guard' && owner.bridge === bridge));
    add.push(...gaining.map(guardRule));
    const losing = [...before].filter((bridge) => !after.has(bridge));
    remove.push(...kept.filter(({ owner }) => owner.kind === 'guard' && !after.has(owner.bridge)));

    if (remove.length === 0 && add.length === 0) return;
    const remaining = rules.length - remove.length + add.length;
    const lines: string[] = [];
    if (table === null) lines.push(...tableScript());
    if (table !== null && remaining === 0) lines.push(deleteTableLine());
    else lines.push(...remove.map(({ rule }) => deleteRuleLine(rule.chain, rule.handle)), ...add.map(addRuleLine));

    // Forwarding is on before the first rule needs it and off only after the last is gone;
    // route_localnet goes off before its guard leaves, and comes on only once the guard is in.
    const othersDoNat = (): boolean => otherTables().some(({ chains }) => chains.some((chain) => chain.type === 'nat'));
    if (remaining > 0) raiseIpForward(notes);
    for (const bridge of losing) restoreRouteLocalnet(notes, bridge);
    try {
      applyScript(lines);
    } catch (error) {
      if (table === null) restoreIpForward(notes, othersDoNat);
      throw error;
    }
    for (const bridge of gaining) if (bridgeExists(bridge)) raiseRouteLocalnet(notes, bridge);
    if (remaining === 0) restoreIpForward(notes, othersDoNat);
  });
}

/**
 * Refuses, in one line and before anything is made, ports that cannot be published here: nft
 * missing, an address the host lacks, a port a host program or another container holds.
 */
export function checkPortsFree(ports: PublishedPort[]): void {
  if (ports.length === 0) return;
  requireNft('publishing ports (-p)');
  refuseTakenPorts(ports, listTable());
}

/** Installs the DNAT and masquerade rules for a container's ports (checked again under the lock). */
export function publishPorts(target: ContainerTarget, ports: PublishedPort[]): void {
  if (ports.length === 0) return;
  requireNft('publishing ports (-p)');
  transact((table) => {
    refuseTakenPorts(ports, table);
    return { remove: [], add: portRules(target, ports) };
  });
}

/** Deletes every rule of the container's; nothing to do when it has none. */
export function unpublishPorts(containerId: string): void {
  if (!nftProgram()) return;
  transact((_table, rules) => ({
    remove: rules.filter(({ owner }) => owner.kind === 'port' && owner.containerId === containerId),
    add: [],
  }));
}

/** The bridge's way out (masquerade of its subnet leaving by any other interface), once. */
export function openWayOut(bridge: string, subnet: string): void {
  // A host without nftables still runs containers: they reach each other and the host, not beyond.
  if (!nftProgram()) return;
  transact((_table, rules) => ({
    remove: [],
    add: rules.some(({ owner }) => owner.kind === 'way-out' && owner.bridge === bridge) ? [] : [wayOutRule(bridge, subnet)],
  }));
}

/** Takes the bridge's way out away (and any rule of the agent's left for it). */
export function closeWayOut(bridge: string): void {
  if (!nftProgram()) return;
  transact((_table, rules) => ({
    remove: rules.filter(({ owner }) => owner.kind === 'way-out' && owner.bridge === bridge),
    add: [],
  }));
}

/**
 * Exactly these peer nodes' subnets reached unmasqueraded from `ownSubnet` (../nodes/): rules of
 * peers no longer listed go, missing ones come. An empty list removes every node rule.
 */
export function setPeerRules(ownSubnet: string, peers: { name: string; subnet: string }[]): void {
  if (!nftProgram()) {
    if (peers.length === 0) return;
    requireNft('joining nodes (routed or overlay mode)');
  }
  const wanted = peers.map((peer) => peerRule(peer.name, ownSubnet, peer.subnet));
  transact((_table, rules) => {
    // Only this agent's: another agent on the host (another state root) has a subnet of its own.
    const nodeRules = rules.filter(({ owner, rule }) => owner.kind === 'node' && (rule.comment ?? '').endsWith(` reached from ${ownSubnet} unmasqueraded`));
    const have = (rule: RuleText): boolean => nodeRules.some(({ rule: existing }) => existing.comment === rule.comment);
    return {
      remove: nodeRules.filter(({ rule }) => !wanted.some((want) => want.comment === rule.comment)),
      add: wanted.filter((rule) => !have(rule)),
    };
  });
}
