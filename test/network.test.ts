/*
 * Container networking against the real kernel: bridge, veth pairs placed straight into network
 * namespaces, leased addresses, routes, link listing and link events — each checked with `ip -j`
 * (host side, and inside a namespace through nsenter) as the independent witness, and with
 * traffic (busybox ping) between namespaces this file created.
 *
 * Test namespaces come from `unshare --net --fork --kill-child sleep 600` (test tooling only).
 * Everything is named cltnet…/vethcltn… so parallel test files never collide, and afterAll proves
 * none of it remains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { attachBridgeNetwork, detachNetwork, removeBridge, setupLoopback } from '../agent/runtime/network';
import { listLinks } from '../agent/inspect/links';
import { watchLinks } from '../agent/inspect/link-events';
import { LabError } from '../agent/errors';
import type { LinkRecord, NetworkRecord } from '../agent/protocol';

const BRIDGE = 'cltnet0';
const SUBNET = '10.77.91.0/24';
const BRIDGES_USED = [BRIDGE, 'cltnet1', 'cltnet2', 'cltnetbad'];
const stateDir = mkdtempSync(join(tmpdir(), 'cltnet-state-'));
const started: ChildProcess[] = [];

/** A distinct container id per tag; its host veth is "vethcltn<tag…>". */
const idFor = (tag: string): string => `cltn${tag}`.padEnd(16, '0');

interface IpLink { ifindex: number; ifname: string; flags: string[]; master?: string; address?: string; link_index?: number; link_netnsid?: number; operstate?: string }
interface IpAddr extends IpLink { addr_info: Array<{ family: string; local: string; prefixlen: number }> }
interface IpRoute { dst: string; gateway?: string; dev?: string }

function ipJson<T>(args: string[], pid?: number): T {
  const [command, prefix] = pid ? ['nsenter', ['-t', String(pid), '-n', 'ip']] : ['ip', []];
  return JSON.parse(execFileSync(command, [...prefix, '-j', ...args], { encoding: 'utf8' }) || '[]') as T;
}

const hostLinkNames = (): string[] => ipJson<IpLink[]>(['link']).map((link) => link.ifname);
const netnsInodeOf = (pid: number | 'self'): number => statSync(`/proc/${pid}/ns/net`).ino;

async function newNetns(): Promise<number> {
  const child = spawn('unshare', ['--net', '--fork', '--kill-child', 'sleep', '600'], { stdio: 'ignore' });
  started.push(child);
  const host = netnsInodeOf('self');
  for (let i = 0; i < 200; i++) {
    try {
      if (netnsInodeOf(child.pid!) !== host) return child.pid!;
    } catch { /* not started yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('unshare did not enter a new network namespace');
}

function ping(fromPid: number, address: string): boolean {
  try {
    execFileSync('nsenter', ['-t', String(fromPid), '-n', 'busybox', 'ping', '-c1', '-W2', address], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ledger(bridge = BRIDGE): { subnet: string; allocations: Record<string, { ip: string; vethHost: string }> } {
  return JSON.parse(readFileSync(join(stateDir, 'network', `${bridge}.json`), 'utf8'));
}

function expectLabError(work: () => unknown, kind: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    work();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LabError);
  expect((caught as LabError).kind).toBe(kind);
  expect((caught as LabError).message).toMatch(pattern);
  expect((caught as LabError).message).not.toContain('\n');
}

let pidA: number;
let pidB: number;
let recordA: NetworkRecord;
let recordB: NetworkRecord;

beforeAll(async () => {
  pidA = await newNetns();
  pidB = await newNetns();
});

afterAll(() => {
  for (const tag of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'x']) {
    for (const bridge of BRIDGES_USED) detachNetwork({ containerId: idFor(tag), stateDir, bridge });
  }
  for (const child of started) child.kill('SIGKILL');
  for (const bridge of BRIDGES_USED) removeBridge(bridge, stateDir);
  rmSync(stateDir, { recursive: true, force: true });
  const leftovers = hostLinkNames().filter((name) => name.startsWith('cltnet') || name.startsWith('cltnw') || name.startsWith('vethcltn'));
  expect(leftovers).toEqual([]);
});

describe('bridge network', () => {
  it('attaches two namespaces: eth0 with its address inside, veth enslaved to the bridge', () => {
    recordA = attachBridgeNetwork({ containerId: idFor('a'), pid: pidA, stateDir, bridge: BRIDGE, subnet: SUBNET });
    recordB = attachBridgeNetwork({ containerId: idFor('b'), pid: pidB, stateDir, bridge: BRIDGE, subnet: SUBNET });
    expect(recordA).toMatchObject({ mode: 'bridge', ifname: 'eth0', ip: '10.77.91.2', prefixLength: 24, gateway: '10.77.91.1', bridge: BRIDGE, vethHost: 'vethcltna000000' });
    expect(recordB.ip).toBe('10.77.91.3');

    const bridge = ipJson<IpAddr[]>(['addr', 'show', 'dev', BRIDGE])[0]!;
    expect(bridge.flags).toContain('UP');
    expect(bridge.addr_info).toContainEqual(expect.objectContaining({ family: 'inet', local: '10.77.91.1', prefixlen: 24 }));

    for (const [pid, record] of [[pidA, recordA], [pidB, recordB]] as const) {
      const eth0 = ipJson<IpAddr[]>(['addr', 'show', 'dev', 'eth0'], pid)[0]!;
      expect(eth0.flags).toContain('UP');
      expect(eth0.address).toBe(record.mac);
      expect(eth0.addr_info).toContainEqual(expect.objectContaining({ family: 'inet', local: record.ip, prefixlen: 24 }));
      const lo = ipJson<IpLink[]>(['link', 'show', 'dev', 'lo'], pid)[0]!;
      expect(lo.flags).toContain('UP');
      const routes = ipJson<IpRoute[]>(['route'], pid);
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.77.91.1', dev: 'eth0' }));

      const hostEnd = ipJson<IpLink[]>(['link', 'show', 'dev', record.vethHost!])[0]!;
      expect(hostEnd.master).toBe(BRIDGE);
      expect(hostEnd.flags).toContain('UP');
      // The veth's other end is eth0 inside the namespace, not anything in the host.
      expect(hostEnd.link_index).toBe(eth0.ifindex);
      expect(hostEnd.link_netnsid).toBeTypeOf('number');
    }
  });

  it('the namespaces reach each other and the gateway', () => {
    expect(ping(pidA, recordB.ip!)).toBe(true);
    expect(ping(pidB, recordA.ip!)).toBe(true);
    expect(ping(pidA, '10.77.91.1')).toBe(true);
  });

  it('persists leases and never hands out an address that is leased', async () => {
    const leases = ledger().allocations;
    expect(ledger().subnet).toBe(SUBNET);
    expect(leases[idFor('a')]).toEqual({ ip: '10.77.91.2', vethHost: recordA.vethHost });
    expect(leases[idFor('b')]).toEqual({ ip: '10.77.91.3', vethHost: recordB.vethHost });
    expect(readdirSync(join(stateDir, 'network')).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const pidC = await newNetns();
    const recordC = attachBridgeNetwork({ containerId: idFor('c'), pid: pidC, stateDir, bridge: BRIDGE, subnet: SUBNET });
    expect(recordC.ip).toBe('10.77.91.4');
    detachNetwork({ containerId: idFor('c'), stateDir, bridge: BRIDGE });
    expect(ledger().allocations[idFor('c')]).toBeUndefined();
  });

  it("an address given again: the host forgets the former holder's MAC and reaches the new one at once", async () => {
    const pidG = await newNetns();
    const recordG = attachBridgeNetwork({ containerId: idFor('g'), pid: pidG, stateDir, bridge: BRIDGE, subnet: SUBNET });
    // A bridge takes the smallest MAC of its ports, and a new MAC of its own flushes its
    // neighbours: G's port gets a large one, so that its leaving changes nothing else (as on a
    // bridge with many ports).
    execFileSync('ip', ['link', 'set', 'dev', recordG.vethHost!, 'address', 'fe:ff:ff:77:91:01']);
    execFileSync('ping', ['-c1', '-W2', recordG.ip!], { stdio: 'ignore' }); // the host learns G's MAC
    const entry = (): { dst: string; lladdr?: string }[] => ipJson<{ dst: string; lladdr?: string }[]>(['neigh', 'show', 'dev', BRIDGE]).filter((neigh) => neigh.dst === recordG.ip);
    expect(entry().map((neigh) => neigh.lladdr)).toEqual([recordG.mac]);
    detachNetwork({ containerId: idFor('g'), stateDir, bridge: BRIDGE });
    const pidH = await newNetns();
    const recordH = attachBridgeNetwork({ containerId: idFor('h'), pid: pidH, stateDir, bridge: BRIDGE, subnet: SUBNET });
    expect(recordH.ip).toBe(recordG.ip);
    expect(entry().filter((neigh) => neigh.lladdr === recordG.mac)).toEqual([]);
    // One packet, one second: with G's MAC still in the cache the host would send it to a gone port.
    execFileSync('ping', ['-c1', '-W1', recordH.ip!], { stdio: 'ignore' });
    expect(entry().map((neigh) => neigh.lladdr)).toEqual([recordH.mac]);
    detachNetwork({ containerId: idFor('h'), stateDir, bridge: BRIDGE });
  });

  it('refuses a second attach of the same container and a different subnet for the bridge', () => {
    expectLabError(() => attachBridgeNetwork({ containerId: idFor('a'), pid: pidA, stateDir, bridge: BRIDGE, subnet: SUBNET }), 'conflict', /already attached/);
    expectLabError(() => attachBridgeNetwork({ containerId: idFor('x'), pid: pidA, stateDir, bridge: BRIDGE, subnet: '10.77.95.0/24' }), 'conflict', /serves subnet 10\.77\.91\.0\/24/);
    // A bridge known to the kernel with another address, even without our ledger.
    const otherState = mkdtempSync(join(tmpdir(), 'cltnet-other-'));
    try {
      expectLabError(() => attachBridgeNetwork({ containerId: idFor('x'), pid: pidA, stateDir: otherState, bridge: BRIDGE, subnet: '10.77.95.0/24' }), 'conflict', /already exists with address 10\.77\.91\.1\/24/);
    } finally {
      rmSync(otherState, { recursive: true, force: true });
    }
    expect(hostLinkNames()).not.toContain('vethcltnx000000');
  });

  it('refuses a new bridge whose subnet overlaps one the host has (two routes, one address twice), making nothing', () => {
    // (a /16 over it may meet another of the host's 10.77 networks first: any is named)
    expectLabError(() => attachBridgeNetwork({ containerId: idFor('x'), pid: pidA, stateDir, bridge: 'cltnet2', subnet: '10.77.0.0/16' }), 'conflict', /^subnet 10\.77\.0\.0\/16 for bridge cltnet2 overlaps the host's (address|route) 10\.77\./);
    for (const subnet of [SUBNET, '10.77.91.128/25']) {
      expectLabError(() => attachBridgeNetwork({ containerId: idFor('x'), pid: pidA, stateDir, bridge: 'cltnet2', subnet }), 'conflict', new RegExp(`for bridge cltnet2 overlaps the host's address 10\\.77\\.91\\.1/24 on ${BRIDGE}: choose another subnet$`));
    }
    expect(hostLinkNames()).not.toContain('cltnet2');
    expect(ipJson<{ dst: string }[]>(['-4', 'route', 'show']).filter((route) => route.dst.startsWith('10.77.91.'))).toHaveLength(1);
  });
});

describe('listLinks', () => {
  it('reports both veth ends with peers, namespaces and master as ip -j sees them', () => {
    const host = netnsInodeOf('self');
    const inodeA = netnsInodeOf(pidA);
    const inodeB = netnsInodeOf(pidB);
    const links = listLinks(new Map([[inodeA, pidA], [inodeB, pidB]]));
    const find = (netns: number, name: string): LinkRecord => {
      const link = links.find((l) => l.netns === netns && l.name === name);
      if (!link) throw new Error(`listLinks has no ${name} in netns ${netns}`);
      return link;
    };

    const witnessHost = ipJson<IpLink[]>(['link']);
    const bridge = find(host, BRIDGE);
    expect(bridge).toMatchObject({ kind: 'bridge', up: true, ifindex: witnessHost.find((l) => l.ifname === BRIDGE)!.ifindex });
    expect(bridge.addresses).toContain('10.77.91.1/24');

    for (const [pid, inode, record] of [[pidA, inodeA, recordA], [pidB, inodeB, recordB]] as const) {
      const witnessEth0 = ipJson<IpLink[]>(['link', 'show', 'dev', 'eth0'], pid)[0]!;
      const witnessVeth = witnessHost.find((l) => l.ifname === record.vethHost)!;
      const hostEnd = find(host, record.vethHost!);
      const eth0 = find(inode, 'eth0');
      expect(hostEnd).toMatchObject({ kind: 'veth', master: BRIDGE, up: true, ifindex: witnessVeth.ifindex, mac: witnessVeth.address });
      expect(hostEnd.peer).toEqual({ ifindex: witnessEth0.ifindex, netns: inode, name: 'eth0' });
      expect(eth0).toMatchObject({ kind: 'veth', master: null, up: true, mac: record.mac, ifindex: witnessEth0.ifindex });
      expect(eth0.addresses).toContain(`${record.ip}/24`);
      expect(eth0.peer).toEqual({ ifindex: witnessVeth.ifindex, netns: host, name: record.vethHost });
      expect(find(inode, 'lo')).toMatchObject({ kind: 'loopback', up: true });
      expect(find(inode, 'lo').addresses).toContain('127.0.0.1/8');
    }
    // Every host link of this file that ip knows, listLinks knows too (other test files may be
    // adding and removing their own links meanwhile, so only ours are compared).
    const ours = (names: string[]): string[] => names.filter((n) => n === 'lo' || n.startsWith('cltnet') || n.startsWith('vethcltn')).sort();
    expect(ours(links.filter((l) => l.netns === host).map((l) => l.name))).toEqual(ours(hostLinkNames()));
  });
});

describe('detachNetwork', () => {
  it('deletes the host veth, frees the address, and is idempotent', () => {
    const bridgeMac = ipJson<IpLink[]>(['link', 'show', 'dev', BRIDGE])[0]!.address;
    detachNetwork({ containerId: idFor('b'), stateDir, bridge: BRIDGE });
    expect(hostLinkNames()).not.toContain(recordB.vethHost);
    expect(ipJson<IpLink[]>(['link'], pidB).map((l) => l.ifname)).toEqual(['lo']);
    expect(ledger().allocations[idFor('b')]).toBeUndefined();
    expect(ledger().allocations[idFor('a')]).toBeDefined();
    expect(() => detachNetwork({ containerId: idFor('b'), stateDir, bridge: BRIDGE })).not.toThrow();
    // The bridge stays while A still uses it, and keeps its MAC (A's ARP entry for the gateway
    // stays valid) even though a port left.
    expect(hostLinkNames()).toContain(BRIDGE);
    expect(ipJson<IpLink[]>(['link', 'show', 'dev', BRIDGE])[0]!.address).toBe(bridgeMac);
    expect(ping(pidA, '10.77.91.1')).toBe(true);
  });

  it('tolerates a host veth that vanished with its namespace (ENODEV)', async () => {
    const pid = await newNetns();
    const record = attachBridgeNetwork({ containerId: idFor('d'), pid, stateDir, bridge: BRIDGE, subnet: SUBNET });
    execFileSync('ip', ['link', 'del', record.vethHost!]);
    expect(() => detachNetwork({ containerId: idFor('d'), stateDir, bridge: BRIDGE })).not.toThrow();
    expect(ledger().allocations[idFor('d')]).toBeUndefined();
  });
});

describe('bad input and failures leave nothing behind', () => {
  it('rejects malformed subnets, bridge names and ids with one clear line, creating nothing', () => {
    const base = { containerId: idFor('e'), pid: pidB, stateDir, bridge: 'cltnetbad', subnet: '10.77.92.0/24' };
    expectLabError(() => attachBridgeNetwork({ ...base, subnet: '10.0.0.0/33' }), 'bad-input', /prefix length/);
    expectLabError(() => attachBridgeNetwork({ ...base, subnet: 'abc' }), 'bad-input', /invalid subnet "abc"/);
    expectLabError(() => attachBridgeNetwork({ ...base, subnet: '10.77.92.0/31' }), 'bad-input', /too small/);
    expectLabError(() => attachBridgeNetwork({ ...base, subnet: '10.77.92.5/24' }), 'bad-input', /host bits are set \(did you mean 10\.77\.92\.0\/24\?\)/);
    expectLabError(() => attachBridgeNetwork({ ...base, subnet: '300.1.1.0/24' }), 'bad-input', /invalid subnet/);
    expectLabError(() => attachBridgeNetwork({ ...base, bridge: 'bad name' }), 'bad-input', /invalid bridge name/);
    expectLabError(() => attachBridgeNetwork({ ...base, bridge: 'cltnet-way-too-long' }), 'bad-input', /invalid bridge name/);
    expectLabError(() => attachBridgeNetwork({ ...base, containerId: '../etc' }), 'bad-input', /invalid container id/);
    expectLabError(() => detachNetwork({ containerId: 'X', stateDir, bridge: 'cltnetbad' }), 'bad-input', /invalid container id/);
    expect(hostLinkNames()).not.toContain('cltnetbad');
    expect(hostLinkNames()).not.toContain('vethcltne000000');
    expect(existsSync(join(stateDir, 'network', 'cltnetbad.json'))).toBe(false);
  });

  it('reports an exhausted subnet and undoes the half-made attach', async () => {
    const pid = await newNetns();
    const only = attachBridgeNetwork({ containerId: idFor('f'), pid: pidB, stateDir, bridge: 'cltnet1', subnet: '10.77.93.0/30' });
    expect(only.ip).toBe('10.77.93.2');
    expectLabError(() => attachBridgeNetwork({ containerId: idFor('g'), pid, stateDir, bridge: 'cltnet1', subnet: '10.77.93.0/30' }), 'conflict', /exhausted/);
    expect(hostLinkNames()).not.toContain('vethcltng000000');
    expect(Object.keys(ledger('cltnet1').allocations)).toEqual([idFor('f')]);
    detachNetwork({ containerId: idFor('f'), stateDir, bridge: 'cltnet1' });
    removeBridge('cltnet1', stateDir);
    expect(hostLinkNames()).not.toContain('cltnet1');
    expect(existsSync(join(stateDir, 'network', 'cltnet1.json'))).toBe(false);
  });

  it('undoes the veth, the lease and a bridge it created when a later step fails', async () => {
    // A namespace that already has a default route: adding ours fails with EEXIST.
    const pid = await newNetns();
    for (const args of [['link', 'set', 'lo', 'up'], ['route', 'add', 'default', 'dev', 'lo']]) {
      execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', ...args]);
    }
    let caught: Error | undefined;
    try {
      attachBridgeNetwork({ containerId: idFor('h'), pid, stateDir, bridge: 'cltnet2', subnet: '10.77.96.0/24' });
    } catch (error) {
      caught = error as Error;
    }
    expect(caught?.message).toMatch(/RTM_NEWROUTE default via 10\.77\.96\.1\(eth0.*\): EEXIST/);
    expect(hostLinkNames()).not.toContain('vethcltnh000000');
    expect(hostLinkNames()).not.toContain('cltnet2');
    expect(existsSync(join(stateDir, 'network', 'cltnet2.json'))).toBe(false);
    expect(ipJson<IpLink[]>(['link'], pid).map((l) => l.ifname)).not.toContain('eth0');

    // A process that does not exist: the lease is released again.
    expect(() => attachBridgeNetwork({ containerId: idFor('i'), pid: 4_194_000, stateDir, bridge: BRIDGE, subnet: SUBNET })).toThrow(/\/proc\/4194000\/ns\/net/);
    expect(ledger().allocations[idFor('i')]).toBeUndefined();
  });

  it('setupLoopback brings lo up in a fresh namespace', async () => {
    const pid = await newNetns();
    expect(ipJson<IpLink[]>(['link', 'show', 'dev', 'lo'], pid)[0]!.flags).not.toContain('UP');
    setupLoopback(pid);
    expect(ipJson<IpLink[]>(['link', 'show', 'dev', 'lo'], pid)[0]!.flags).toContain('UP');
    expect(ping(pid, '127.0.0.1')).toBe(true);
  });
});

describe('watchLinks', () => {
  it("reports 'added' for a new veth and 'removed' when it is deleted", async () => {
    const events: Array<[string, LinkRecord]> = [];
    const watcher = watchLinks((event, link) => events.push([event, link]));
    const waitFor = async (predicate: () => boolean): Promise<void> => {
      for (let i = 0; i < 300 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(predicate()).toBe(true);
    };
    try {
      execFileSync('ip', ['link', 'add', 'cltnw0', 'type', 'veth', 'peer', 'name', 'cltnw1']);
      await waitFor(() => events.some(([e, l]) => e === 'added' && l.name === 'cltnw0'));
      const added = events.find(([e, l]) => e === 'added' && l.name === 'cltnw0')![1];
      const witness = ipJson<IpLink[]>(['link', 'show', 'dev', 'cltnw0'])[0]!;
      expect(added).toMatchObject({ kind: 'veth', ifindex: witness.ifindex, mac: witness.address, up: false });

      execFileSync('ip', ['link', 'set', 'cltnw0', 'up']);
      await waitFor(() => events.some(([e, l]) => e === 'changed' && l.name === 'cltnw0' && l.up));

      execFileSync('ip', ['link', 'del', 'cltnw0']);
      await waitFor(() => events.some(([e, l]) => e === 'removed' && l.name === 'cltnw0'));
      await waitFor(() => events.some(([e, l]) => e === 'removed' && l.name === 'cltnw1'));
    } finally {
      watcher.close();
    }
  });

  it('close() releases its descriptors and lets the process exit', async () => {
    // Open descriptors as what they refer to ("socket:[123]", "pipe:[456]"), so unrelated fds
    // opened or closed meanwhile by the test runner do not matter.
    const openObjects = (): Set<string> => new Set(readdirSync('/proc/self/fd').map((fd) => {
      try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; }
    }));
    const before = openObjects();
    const watcher = watchLinks(() => undefined);
    const mine = [...openObjects()].filter((object) => !before.has(object));
    expect(mine.filter((object) => object.startsWith('socket:'))).toHaveLength(1);
    expect(mine.filter((object) => object.startsWith('pipe:'))).toHaveLength(1); // both ends of the wake pipe
    watcher.close();
    const stillOpen = (): string[] => mine.filter((object) => openObjects().has(object));
    for (let i = 0; i < 100 && stillOpen().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stillOpen()).toEqual([]);

    // A separate Node process that watches, closes, and must then exit on its own.
    const dir = mkdtempSync(join(tmpdir(), 'cltnet-exit-'));
    try {
      const entry = join(dir, 'entry.ts');
      writeFileSync(entry, `import { watchLinks } from ${JSON.stringify(resolve(__dirname, '../agent/inspect/link-events'))};
const watcher = watchLinks(() => undefined);
setTimeout(() => watcher.close(), 100);
`);
      buildSync({ entryPoints: [entry], bundle: true, platform: 'node', external: ['koffi'], outfile: join(dir, 'entry.js'), logLevel: 'silent' });
      const startedAt = Date.now();
      const exitCode = await new Promise<number | null>((resolveExit, reject) => {
        const child = spawn(process.execPath, [join(dir, 'entry.js')], { env: { ...process.env, NODE_PATH: resolve(__dirname, '../node_modules') }, stdio: 'inherit' });
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('watcher process did not exit after close()')); }, 10_000);
        child.on('exit', (code) => { clearTimeout(timer); resolveExit(code); });
      });
      expect(exitCode).toBe(0);
      expect(Date.now() - startedAt).toBeLessThan(5_000);

      // And one that dies of an uncaught error without closing: Node must still exit (libuv
      // joins its pool threads on exit, so the watcher's wait must end by itself).
      writeFileSync(entry, `import { watchLinks } from ${JSON.stringify(resolve(__dirname, '../agent/inspect/link-events'))};
watchLinks(() => undefined);
setTimeout(() => { throw new Error('deliberate'); }, 100);
`);
      buildSync({ entryPoints: [entry], bundle: true, platform: 'node', external: ['koffi'], outfile: join(dir, 'entry.js'), logLevel: 'silent' });
      const crashedAt = Date.now();
      const crashCode = await new Promise<number | null>((resolveExit, reject) => {
        const child = spawn(process.execPath, [join(dir, 'entry.js')], { env: { ...process.env, NODE_PATH: resolve(__dirname, '../node_modules') }, stdio: 'ignore' });
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('a watcher process hung on exit after an uncaught error')); }, 10_000);
        child.on('exit', (code) => { clearTimeout(timer); resolveExit(code); });
      });
      expect(crashCode).toBe(1);
      expect(Date.now() - crashedAt).toBeLessThan(5_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
