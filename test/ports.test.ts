/*
 * Published ports and the way out, on the real kernel (root): `run -p` becomes DNAT rules in the
 * agent's own nftables table, and every path a packet can take to a published port works —
 * from the host to 127.0.0.1 and to the bridge's address, from another machine (an "outside"
 * network namespace this file makes, joined to the host by a veth with its own subnet), from a
 * second container on the same bridge (the hairpin), over tcp and udp — and a container reaches
 * a server outside through the bridge's masquerade. The witnesses: what each server says its
 * client's address is (DNAT keeps a remote client's address; masquerade replaces it with the
 * host's), and `nft -j list table ip containers_lab`, the kernel's copy of the rules, before and
 * after removal. Traffic goes only to 127.0.0.1 and to addresses this file creates.
 *
 * Subnets 10.77.175.0/24 (the bridge clports0), 10.77.176.0/24 (clports1, for the CLI) and
 * 10.77.178.0/24 (the outside link); host ports 18175–18181.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { get } from 'node:http';
import { createServer, type Server } from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerRecord, RunOptions } from '../agent/protocol';
import type { ContainerRuntime } from '../agent/runtime/api';
import { openRuntime } from '../agent/runtime/runtime';
import { runOptionsFrom, RUN_SPEC } from '../agent/command-line/run-options';
import { parseVerbArgs } from '../agent/command-line/args';
import { containerTable } from '../agent/cli/format';
import { parsePublishSpecs } from '../agent/runtime/network/ports';
import { validateParams } from '../agent/service/params';
import { withNetfilterLock } from '../agent/runtime/network/ports/nft';
import { switchedOn } from '../agent/runtime/network/ports/host-switches';
import { runCli } from './helpers/cli';
import { execCollect } from './helpers/exec';
import { hostLinkNames, leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { waitFor } from './helpers/wait';

const BRIDGE = 'clports0';
const SUBNET = '10.77.175.0/24';
const GATEWAY = '10.77.175.1';
const OUTSIDE_NETNS = 'clports-out';
const OUTSIDE_LINK = 'clports-o';
const HOST_ON_OUTSIDE = '10.77.178.1';
const OUTSIDE_SERVER = '10.77.178.2';
const OUTSIDE_PORT = 8178;
const TCP_PORT = 18175;
const LOOPBACK_PORT = 18176;
const UDP_PORT = 18177;
const BUSY_PORT = 18179;
const CLI_BRIDGE = 'clports1';
const CLI_SUBNET = '10.77.176.0/24';
const CLI_PORT = 18181;

interface NftRuleJson {
  chain: string;
  handle: number;
  comment?: string;
}

/** The agent's table as the kernel has it; null when there is none. */
function agentTable(): { chains: string[]; rules: NftRuleJson[] } | null {
  try {
    const items = (JSON.parse(execFileSync('nft', ['-j', '-a', 'list', 'table', 'ip', 'containers_lab'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as {
      nftables: Record<string, { name?: string }>[];
    }).nftables;
    return {
      chains: items.flatMap((item) => (item.chain ? [item.chain.name!] : [])),
      rules: items.flatMap((item) => (item.rule ? [item.rule as unknown as NftRuleJson] : [])),
    };
  } catch (error) {
    if (/No such file or directory/.test(String((error as { stderr?: string }).stderr))) return null;
    throw error;
  }
}

/** Every table of the ruleset except the agent's, as JSON text: what the agent must never touch. */
function otherTablesText(): string {
  const items = (JSON.parse(execFileSync('nft', ['-j', 'list', 'ruleset'], { encoding: 'utf8' })) as { nftables: Record<string, { family?: string; table?: string; name?: string; handle?: number }>[] }).nftables;
  const ours = (item: { family?: string; table?: string; name?: string }): boolean => item.family === 'ip' && (item.table ?? item.name) === 'containers_lab';
  return JSON.stringify(items.filter((item) => !('metainfo' in item) && !ours(Object.values(item)[0]!)));
}

/** The bridge's ports as the kernel lists them: one host veth per container on it. */
const bridgePorts = (): string[] => readdirSync(`/sys/class/net/${BRIDGE}/brif`).sort();
const sysctl = (path: string): string => readFileSync(`/proc/sys/${path}`, 'utf8').trim();
const rulesMentioning = (text: string): NftRuleJson[] => (agentTable()?.rules ?? []).filter((rule) => rule.comment?.includes(text));

/** GET http://address:port/cgi-bin/addr from the host: the CGI answers with the client address it saw. */
function fetchFromHost(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get({ host: address, port, path: '/cgi-bin/addr', timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body.trim()));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

/** A udp datagram from the host to address:port, and the answer's text. */
function udpFromHost(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no udp answer'));
    }, 5000);
    socket.on('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message.toString().trim());
    });
    socket.send('who am i', port, address);
  });
}

const UDP_CLIENT = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log(m.toString());process.exit(0)});s.send('who am i',+process.argv[2],process.argv[1]);setTimeout(()=>process.exit(3),5000);`;
const UDP_ECHO = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(r.address,r.port,r.address));s.bind(+process.argv[1],()=>console.log('ready'));`;

let stateRoot: string;
let runtime: ContainerRuntime;
let wwwDir: string;
let outsideServer: ChildProcess | null = null;
let udpServer: ChildProcess | null = null;
const made: ContainerRecord[] = [];
let otherTablesBefore: string;
let ipForwardBefore: string;

async function runOnBridge(options: RunOptions): Promise<ContainerRecord> {
  const record = await runtime.run({ net: 'bridge', ...options });
  made.push(record);
  return record;
}

function startProcess(command: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${code})`)));
  });
}

function listening(pid: number, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').some((line) => line.includes(`:${hex} `) && / 0A /.test(line));
}

/**
 * An HTTP GET from inside a container, by nc under `timeout` (Debian's busybox 1.35 wget crashes
 * when given its own -T timeout): the CGI's answer, its last line.
 */
async function fetchInside(id: string, address: string, port: number): Promise<{ code: number; body: string; stderr: string }> {
  const request = `printf 'GET /cgi-bin/addr HTTP/1.0\\r\\n\\r\\n' | timeout 10 nc ${address} ${port}`;
  const result = await execCollect(runtime, id, ['sh', '-c', request]);
  return { code: result.code, body: result.stdout.trim().split('\n').pop()!.trim(), stderr: result.stderr };
}

beforeAll(async () => {
  otherTablesBefore = otherTablesText();
  // The host's own value: what an agent noted before switching it on (another test file may have a
  // table right now), else what it is.
  ipForwardBefore = withNetfilterLock((notes) => switchedOn(notes, [])['net.ipv4.ip_forward'] ?? sysctl('net/ipv4/ip_forward'));
  expect(hostLinkNames()).not.toContain(BRIDGE);
  stateRoot = mkdtempSync('/tmp/cl-ports-');
  runtime = openRuntime({ stateRoot, defaultBridge: { name: BRIDGE, subnet: SUBNET } });

  // The CGI every web server here runs: it answers with the address its client connected from.
  wwwDir = mkdtempSync('/tmp/cl-ports-www-');
  mkdirSync(join(wwwDir, 'cgi-bin'));
  writeFileSync(join(wwwDir, 'cgi-bin', 'addr'), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"\n');
  chmodSync(join(wwwDir, 'cgi-bin', 'addr'), 0o755);
  chmodSync(wwwDir, 0o755);

  // "Outside": another machine, as a network namespace joined to the host by a veth. The host is
  // its neighbour on 10.77.178.0/24; it has no route to the containers' subnet — only masquerade
  // lets a container's packets be answered.
  execFileSync('ip', ['netns', 'add', OUTSIDE_NETNS]);
  execFileSync('ip', ['link', 'add', OUTSIDE_LINK, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE_NETNS]);
  execFileSync('ip', ['addr', 'add', `${HOST_ON_OUTSIDE}/24`, 'dev', OUTSIDE_LINK]);
  execFileSync('ip', ['link', 'set', OUTSIDE_LINK, 'up']);
  execFileSync('ip', ['-n', OUTSIDE_NETNS, 'addr', 'add', `${OUTSIDE_SERVER}/24`, 'dev', 'eth0']);
  execFileSync('ip', ['-n', OUTSIDE_NETNS, 'link', 'set', 'eth0', 'up']);
  execFileSync('ip', ['-n', OUTSIDE_NETNS, 'link', 'set', 'lo', 'up']);
  outsideServer = spawn('ip', ['netns', 'exec', OUTSIDE_NETNS, 'busybox', 'httpd', '-f', '-p', `${OUTSIDE_SERVER}:${OUTSIDE_PORT}`, '-h', wwwDir], { stdio: 'ignore' });
});

afterAll(async () => {
  for (const record of runtime.list()) await runtime.remove(record.id, true);
  for (const child of [outsideServer, udpServer]) if (child?.pid && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  // Deleting one end of a veth takes both, now. Deleting the namespace alone would take its end only
  // when the kernel's netns cleanup runs, later — asynchronously, so the check below would race it.
  execFileSync('ip', ['link', 'del', OUTSIDE_LINK]);
  execFileSync('ip', ['netns', 'del', OUTSIDE_NETNS]);
  for (const bridge of [BRIDGE, CLI_BRIDGE]) if (hostLinkNames().includes(bridge)) execFileSync('ip', ['link', 'del', bridge]);
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(hostLinkNames()).not.toContain(OUTSIDE_LINK);
  runtime.close();
  rmSync(stateRoot, { recursive: true, force: true });
  rmSync(wwwDir, { recursive: true, force: true });
});

describe('-p as Docker writes it', () => {
  test('the CLI collects every -p; the agent reads them and refuses a bad one in one line naming it', () => {
    const args = parseVerbArgs(RUN_SPEC, ['-p', '8080:80', '--publish', '127.0.0.1:5353:53/udp', 'busybox']);
    expect(runOptionsFrom(args).ports).toEqual(['8080:80', '127.0.0.1:5353:53/udp']);
    expect(parsePublishSpecs(['8080:80', '127.0.0.1:5353:53/udp', '0.0.0.0:9000:90/tcp'])).toEqual([
      { hostIp: null, hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      { hostIp: null, hostPort: 9000, containerPort: 90, protocol: 'tcp' },
    ]);
    const refusals: [string[], RegExp][] = [
      [['70000:80'], /^-p "70000:80": host port "70000" is not a port number \(1–65535\)$/],
      [['8080:0'], /container port "0" is not a port number/],
      [['8080:80/sctp'], /^-p "8080:80\/sctp": protocol "sctp" is not supported: use tcp or udp$/],
      [['80'], /^-p "80": give the host port too, e\.g\. 8080:80/],
      [['127.0.0.1::80'], /give the host port too/],
      [['1.2.3:8080:80'], /^-p "1\.2\.3:8080:80": host address "1\.2\.3" is not an IPv4 address$/],
      [['[::1]:8080:80'], /IPv6 host addresses are not supported/],
      [['8000-8010:80'], /port ranges are not supported/],
      [[''], /^-p "": expected \[HOSTIP:\]HOSTPORT:CONTAINERPORT\[\/tcp\|udp\]/],
      [['web:80'], /^-p "web:80": host port "web" is not a port number/],
      [['8080:80', '127.0.0.1:8080:81'], /^-p "127\.0\.0\.1:8080:81": host port 127\.0\.0\.1:8080\/tcp is already published by -p 8080:80\/tcp$/],
    ];
    for (const [specs, message] of refusals) expect(() => parsePublishSpecs(specs)).toThrow(message);
    // The same host port twice is fine over two protocols.
    expect(parsePublishSpecs(['53:53', '53:53/udp'])).toHaveLength(2);
    // The service takes them over JSON-RPC as a list of words.
    expect(validateParams('container.run', { ports: ['8080:80'] })).toEqual({ ports: ['8080:80'] });
    expect(() => validateParams('container.run', { ports: [8080] })).toThrow(/ports/);
  });

  test('refused before anything is made: bad syntax, a network without an address of its own, an address the host lacks', async () => {
    await expect(runtime.run({ net: 'bridge', ports: ['99999:80'] })).rejects.toThrow(/^-p "99999:80": host port "99999" is not a port number/);
    await expect(runtime.run({ net: 'none', ports: ['18180:80'] })).rejects.toThrow(/^-p publishes a port of a bridged container: --net none/);
    await expect(runtime.run({ net: 'bridge', ports: ['10.77.175.77:18180:80'] })).rejects.toThrow(/^-p "10\.77\.175\.77:18180:80\/tcp": 10\.77\.175\.77 is not an address of this host$/);
    expect(runtime.list()).toEqual([]);
    // Not even the bridge: it comes with the first container.
    expect(hostLinkNames()).not.toContain(BRIDGE);
    expect(rulesMentioning(BRIDGE)).toEqual([]);
  });
});

describe('one host: published ports and the way out', () => {
  let web: ContainerRecord;
  let client: ContainerRecord;

  test('run -p: the config, the record, ps and the kernel table say the same', async () => {
    web = await runOnBridge({
      name: 'ports-web',
      ports: [`${TCP_PORT}:80`, `127.0.0.1:${LOOPBACK_PORT}:80`, `${UDP_PORT}:5353/udp`],
      volumes: [{ name: 'www', hostPath: wwwDir, mountPath: '/www', readOnly: true }],
      // 0.0.0.0: an IPv4 socket, so REMOTE_ADDR is a plain IPv4 address.
      args: ['httpd', '-f', '-p', '0.0.0.0:80', '-h', '/www'],
    });
    await waitFor(() => listening(web.pid!, 80), Boolean);
    expect(listening(web.pid!, 80)).toBe(true);
    const ip = web.network.ip!;
    expect(ip).toMatch(/^10\.77\.175\.\d+$/);

    expect(JSON.parse(web.config.annotations!['lab.containers.ports']!)).toEqual([`${TCP_PORT}:80/tcp`, `127.0.0.1:${LOOPBACK_PORT}:80/tcp`, `${UDP_PORT}:5353/udp`]);
    expect(web.ports).toEqual([
      { hostIp: null, hostPort: TCP_PORT, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: LOOPBACK_PORT, containerPort: 80, protocol: 'tcp' },
      { hostIp: null, hostPort: UDP_PORT, containerPort: 5353, protocol: 'udp' },
    ]);
    const line = containerTable(runtime.list()).split('\n').find((row) => row.includes('ports-web'));
    expect(line).toContain(`0.0.0.0:${TCP_PORT}->80/tcp, 127.0.0.1:${LOOPBACK_PORT}->80/tcp, 0.0.0.0:${UDP_PORT}->5353/udp`);

    const table = agentTable()!;
    expect(table.chains.sort()).toEqual(['input', 'output', 'postrouting', 'prerouting']);
    const mine = rulesMentioning(web.id);
    const where = (chain: string): string[] => mine.filter((rule) => rule.chain === chain).map((rule) => rule.comment!.replace(`container ${web.id} on ${BRIDGE}: `, ''));
    // From outside: every host address but loopback; the 127.0.0.1 port is the host's alone.
    expect(where('prerouting')).toEqual([`0.0.0.0:${TCP_PORT}->80/tcp`, `0.0.0.0:${UDP_PORT}->5353/udp`]);
    expect(where('output')).toEqual([`0.0.0.0:${TCP_PORT}->80/tcp`, `127.0.0.1:${LOOPBACK_PORT}->80/tcp`, `0.0.0.0:${UDP_PORT}->5353/udp`]);
    // One masquerade per container port (two host ports lead to 80/tcp).
    expect(where('postrouting')).toEqual([`0.0.0.0:${TCP_PORT}->80/tcp`, `0.0.0.0:${UDP_PORT}->5353/udp`]);
    const bridgeRules = rulesMentioning(`bridge ${BRIDGE}:`).map((rule) => `${rule.chain}: ${rule.comment}`);
    expect(bridgeRules).toEqual([
      `postrouting: bridge ${BRIDGE}: the way out for ${SUBNET} (masquerade)`,
      `input: bridge ${BRIDGE}: route_localnet guard (nothing from the bridge to 127.0.0.0/8)`,
    ]);
    // The rule text itself, as nft prints it: DNAT to the container's address.
    const listing = execFileSync('nft', ['list', 'chain', 'ip', 'containers_lab', 'prerouting'], { encoding: 'utf8' });
    expect(listing).toContain(`tcp dport ${TCP_PORT} dnat to ${ip}:80`);
    expect(sysctl('net/ipv4/ip_forward')).toBe('1');
    expect(sysctl(`net/ipv4/conf/${BRIDGE}/route_localnet`)).toBe('1');
    // Its bridge port may send a frame back where it came from (a container opening its own port).
    expect(readFileSync(`/sys/class/net/${web.network.vethHost}/brport/hairpin_mode`, 'utf8').trim()).toBe('1');
  });

  test('the host reaches it on 127.0.0.1 and on the bridge address; the container sees the bridge address (masquerade)', async () => {
    expect(await fetchFromHost('127.0.0.1', TCP_PORT)).toBe(GATEWAY);
    expect(await fetchFromHost(GATEWAY, TCP_PORT)).toBe(GATEWAY);
    expect(await fetchFromHost('127.0.0.1', LOOPBACK_PORT)).toBe(GATEWAY);
    // Port 18176 is published on 127.0.0.1 only: the host's own outside address does not have it.
    await expect(fetchFromHost(HOST_ON_OUTSIDE, LOOPBACK_PORT)).rejects.toThrow(/ECONNREFUSED/);
  });

  test('another machine reaches it through the host, and the container sees that machine (DNAT, no masquerade)', () => {
    // (busybox wget's own -T timeout crashes it: the test's timeout stands in.)
    const fetched = (port: number): string => execFileSync('ip', ['netns', 'exec', OUTSIDE_NETNS, 'busybox', 'wget', '-q', '-O', '-', `http://${HOST_ON_OUTSIDE}:${port}/cgi-bin/addr`], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    expect(fetched(TCP_PORT)).toBe(OUTSIDE_SERVER);
    expect(() => fetched(LOOPBACK_PORT)).toThrow();
  });

  test('a second container on the bridge reaches it through the host address (hairpin)', async () => {
    client = await runOnBridge({ name: 'ports-client', args: ['sleep', '600'] });
    expect(readFileSync(`/sys/class/net/${client.network.vethHost}/brport/hairpin_mode`, 'utf8').trim()).toBe('0');
    expect(await fetchInside(client.id, GATEWAY, TCP_PORT)).toEqual({ code: 0, body: GATEWAY, stderr: '' });
    // And the publishing container reaches itself the same way.
    expect(await fetchInside(web.id, GATEWAY, TCP_PORT)).toEqual({ code: 0, body: GATEWAY, stderr: '' });
  });

  test('udp: from the host and from outside, answered through conntrack', async () => {
    // A udp echo server in the container's network namespace (busybox has none): it answers
    // with the address it got the datagram from.
    udpServer = await startProcess('nsenter', [`--net=/proc/${web.pid}/ns/net`, '--', process.execPath, '-e', UDP_ECHO, '5353']);
    expect(await udpFromHost('127.0.0.1', UDP_PORT)).toBe(GATEWAY);
    const outside = execFileSync('ip', ['netns', 'exec', OUTSIDE_NETNS, process.execPath, '-e', UDP_CLIENT, HOST_ON_OUTSIDE, String(UDP_PORT)], { encoding: 'utf8' }).trim();
    expect(outside).toBe(OUTSIDE_SERVER);
  });

  test('the way out: a container reaches a server outside, which sees the host, not the container', async () => {
    // The outside machine has no route to 10.77.175.0/24: only masquerade makes this work.
    expect(() => execFileSync('ip', ['-n', OUTSIDE_NETNS, 'route', 'get', '10.77.175.2'], { stdio: 'pipe' })).toThrow(/Network is unreachable/);
    expect(await fetchInside(client.id, OUTSIDE_SERVER, OUTSIDE_PORT)).toEqual({ code: 0, body: HOST_ON_OUTSIDE, stderr: '' });
  });

  test('a host port already taken is a one-line error, and nothing is made', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(BUSY_PORT, '127.0.0.1', resolve));
    const portsBefore = bridgePorts();
    const rulesBefore = rulesMentioning(BRIDGE).length;
    try {
      await expect(runtime.run({ net: 'bridge', name: 'ports-busy', ports: [`${BUSY_PORT}:80`] })).rejects.toThrow(
        new RegExp(`^host port 0\\.0\\.0\\.0:${BUSY_PORT}/tcp is in use: a program on this host listens on 127\\.0\\.0\\.1:${BUSY_PORT}/tcp \\(choose another host port\\)$`),
      );
    } finally {
      busy.close();
    }
    await expect(runtime.run({ net: 'bridge', name: 'ports-twice', ports: [`127.0.0.1:${TCP_PORT}:8080`] })).rejects.toThrow(
      new RegExp(`^host port 127\\.0\\.0\\.1:${TCP_PORT}/tcp is already published by container ${web.id.slice(0, 12)} \\(0\\.0\\.0\\.0:${TCP_PORT}->80/tcp\\): choose another host port$`),
    );
    expect(runtime.list().map((container) => container.name).sort()).toEqual(['ports-client', 'ports-web']);
    expect(bridgePorts()).toEqual(portsBefore);
    expect(rulesMentioning(BRIDGE)).toHaveLength(rulesBefore);
  });

  test('stop takes the rules away, rm keeps them away; the last container takes the way out and the table', async () => {
    await runtime.stop(web.id, 1);
    expect(rulesMentioning(web.id)).toEqual([]);
    // No container on the bridge publishes now: its guard and route_localnet go too; the way out stays for the client.
    expect(rulesMentioning(`bridge ${BRIDGE}:`).map((rule) => rule.chain)).toEqual(['postrouting']);
    expect(sysctl(`net/ipv4/conf/${BRIDGE}/route_localnet`)).toBe('0');
    await expect(fetchFromHost('127.0.0.1', TCP_PORT)).rejects.toThrow(/ECONNREFUSED/);
    expect(containerTable(runtime.list()).split('\n').find((row) => row.includes('ports-web'))).not.toContain('->');

    await runtime.remove(web.id);
    await runtime.remove(client.id, true);
    expect(rulesMentioning(BRIDGE)).toEqual([]);
    // Under the agents' own netfilter lock, so no other agent (a test file alongside) changes either meanwhile.
    const { table, ipForward } = withNetfilterLock(() => ({ table: agentTable(), ipForward: sysctl('net/ipv4/ip_forward') }));
    if (table === null) {
      // The table went with its last rule; ip_forward is the host's own value again.
      expect(ipForward).toBe(ipForwardBefore);
    } else {
      // Another agent still has rules: each is for a bridge that exists, and forwarding stays on for them.
      for (const rule of table.rules) expect(hostLinkNames()).toContain(/(?:on|bridge) ([a-zA-Z0-9_.-]+):/.exec(rule.comment ?? '')?.[1]);
      expect(ipForward).toBe('1');
    }
    expect(otherTablesText()).toBe(otherTablesBefore);
  });
});

describe('the CLI: run -p, ps, inspect, rm', () => {
  test('as docker: -p on the command line, a PORTS column, the ports in inspect; a bad -p is one line', async () => {
    const root = mkdtempSync('/tmp/cl-ports-cli-');
    const cli = (...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => runCli(['--root', root, '--socket', join(root, 'no-agent.sock'), ...argv]);
    try {
      expect(await cli('run', '-d', '-p', '8080:80/sctp', 'busybox')).toEqual({ code: 1, stdout: '', stderr: 'containers-lab: -p "8080:80/sctp": protocol "sctp" is not supported: use tcp or udp\n' });
      const run = await cli('run', '-d', '--name', 'ports-cli', '--bridge', CLI_BRIDGE, '--subnet', CLI_SUBNET, '-p', `${CLI_PORT}:80`, '-v', `${wwwDir}:/www:ro`, 'busybox', '--', 'httpd', '-f', '-p', '0.0.0.0:80', '-h', '/www');
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const ps = (await cli('ps')).stdout.split('\n');
      expect(ps[0]).toMatch(/\sPORTS$/);
      expect(ps.find((row) => row.includes('ports-cli'))).toMatch(new RegExp(`0\\.0\\.0\\.0:${CLI_PORT}->80/tcp$`));
      expect((await cli('inspect', 'ports-cli')).stdout).toContain(`  ports 0.0.0.0:${CLI_PORT}->80/tcp\n`);
      const pid = (JSON.parse((await cli('inspect', '--json', 'ports-cli')).stdout) as ContainerRecord).pid!;
      await waitFor(() => listening(pid, 80), Boolean);
      expect(await fetchFromHost('127.0.0.1', CLI_PORT)).toBe('10.77.176.1');
      expect(rulesMentioning(`on ${CLI_BRIDGE}:`).length).toBeGreaterThan(0);
      expect(await cli('rm', '-f', 'ports-cli')).toMatchObject({ code: 0 });
      // Its rules, and with the bridge's last container its way out.
      expect(rulesMentioning(CLI_BRIDGE)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
