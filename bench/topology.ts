/*
 * How long a learner waits to see a new container in the Live Topology: from the agent's
 * `container.changed` → running notification (received by this process on its own connection to
 * the agent) to the first animation frame in which the topology page's model holds the container's
 * node (the page's Date.now(), polled every frame inside the webview). Both read the same clock.
 * Target: p95 < 250 ms over TOPOLOGY_RUNS starts. Between runs, untimed: the container is removed
 * and its node leaves the graph.
 *
 * The rig is the extension benchmark's (./extension.ts): OpenSSH on 127.0.0.1 with throwaway keys,
 * the warm agent service, code-server with the packaged .vsix, headless Chromium; playwright-core is
 * loaded at run time from node_modules (a bundle breaks it). Containers go on a bridge of this
 * benchmark's own, removed afterwards if this run created it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startCodeServer, type CodeServer } from '../test/e2e/helpers/code-server';
import { waitForWebview } from '../test/e2e/helpers/webview';
import { hostLinkNames } from '../test/helpers/kernel-witness';
import { makeKey, startSshd, type TestSshd } from '../test/helpers/sshd';
import { extensionBenchUnavailable } from './extension';
import { startService, type BenchService } from './service';
import { summarize, type Summary } from './stats';

export const TOPOLOGY_RUNS = 50;
export const TOPOLOGY_TARGET_MS = 250;
const WARMUP = 2;
const BRIDGE = 'cltopob0';
const SUBNET = '10.77.99.0/24';
const STEP_TIMEOUT_MS = 60_000;
const REPO = join(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const AGENT_INSTALL_ROOT = join(homedir(), '.containers-lab', 'agent');

export interface TopologyBenchResult {
  runs: number;
  /** container.changed → running (agent) → the container's node in the topology page. */
  eventToNode: Summary;
  /** container.run called → node shown. */
  runToNode: Summary;
}

export async function benchTopology(say: (line: string) => void, warnings: string[]): Promise<TopologyBenchResult> {
  const work = mkdtempSync('/tmp/containers-lab-bench-topology-');
  const installRootExisted = existsSync(AGENT_INSTALL_ROOT);
  const buildsBefore = new Set(installRootExisted ? readdirSync(AGENT_INSTALL_ROOT) : []);
  const bridgeExisted = hostLinkNames().includes(BRIDGE);
  let sshd: TestSshd | undefined;
  let agent: BenchService | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  try {
    say('  packaging the extension, starting sshd, the agent, code-server and Chromium');
    const vsix = process.env.CONTAINERS_LAB_VSIX ?? packageVsix(work);
    mkdirSync(join(work, 'sshd'));
    makeKey(join(work, 'sshd', 'host_key'), 'containers-lab-bench-topology-host');
    sshd = await startSshd(join(work, 'sshd'), join(work, 'sshd', 'host_key'));
    agent = await startService(join(work, 'agent'));
    mkdirSync(join(work, 'workspace'));
    server = await startCodeServer({
      label: 'bench-topology',
      vsix: [vsix],
      folder: join(work, 'workspace'),
      settings: {
        'containersLab.target': 'settings',
        'containersLab.ssh.host': '127.0.0.1',
        'containersLab.ssh.port': sshd.port,
        'containersLab.ssh.username': 'root',
        'containersLab.ssh.privateKeyPath': sshd.clientKey,
        'containersLab.agent.socketPath': agent.socket,
      },
    });
    const playwright = createRequire(join(REPO, 'package.json'))('playwright-core') as typeof import('playwright-core');
    browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const url = new URL(server.url);
    url.searchParams.set('folder', join(work, 'workspace'));
    await page.goto(url.toString());
    await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    const activity = page.locator('.part.activitybar [aria-label="Containers Lab"], .part.activitybar [aria-label^="Containers Lab ("]').first();
    await activity.click({ timeout: STEP_TIMEOUT_MS });
    await palette(page, 'Containers Lab: Connect');
    await page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Trust and Connect' }).first().click({ timeout: STEP_TIMEOUT_MS });
    // Connected when the Lab view's State row says so (Show Topology is offered only then).
    await page.locator('.part.sidebar .monaco-list-row .label-description', { hasText: /^connected/ }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await palette(page, 'Containers Lab: Show Topology');
    // Close the sidebar: a visible Networks view takes a host snapshot after every new veth, and
    // that (not the topology) would then be what the agent is busy with when the next start comes.
    await activity.click({ timeout: STEP_TIMEOUT_MS });
    await waitForWebview(page, { name: 'topology' }, STEP_TIMEOUT_MS);

    say(`  ${TOPOLOGY_RUNS} timed starts after ${WARMUP} warm-up`);
    const eventToNode: number[] = [];
    const runToNode: number[] = [];
    for (let run = 0; run < WARMUP + TOPOLOGY_RUNS; run++) {
      const one = await startAndSee(page, agent, run);
      if (run < WARMUP) continue;
      eventToNode.push(one.eventToNode);
      runToNode.push(one.runToNode);
    }
    return { runs: TOPOLOGY_RUNS, eventToNode: summarize(eventToNode), runToNode: summarize(runToNode) };
  } finally {
    const attempt = async (what: string, step: () => unknown): Promise<void> => {
      try {
        await step();
      } catch (error) {
        warnings.push(`topology bench, ${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    await attempt('closing Chromium', () => browser?.close());
    await attempt('stopping code-server', () => server?.stop());
    if (agent) {
      const client = agent.client;
      await attempt('removing containers', async () => {
        for (const summary of await client.call('container.list', {})) await client.call('container.remove', { id: summary.id, force: true });
      });
      await attempt('stopping the agent', () => agent!.stop());
    }
    await attempt('stopping sshd', () => sshd?.stop());
    await attempt('removing the uploaded agent build', () => {
      if (!installRootExisted) rmSync(join(homedir(), '.containers-lab'), { recursive: true, force: true });
      else for (const entry of readdirSync(AGENT_INSTALL_ROOT)) if (!buildsBefore.has(entry)) rmSync(join(AGENT_INSTALL_ROOT, entry), { recursive: true, force: true });
    });
    await attempt(`deleting the bridge ${BRIDGE}`, () => {
      if (!bridgeExisted && hostLinkNames().includes(BRIDGE)) spawnSync('ip', ['link', 'del', BRIDGE]);
    });
    rmSync(work, { recursive: true, force: true });
  }
}

async function startAndSee(page: Page, agent: BenchService, run: number): Promise<{ eventToNode: number; runToNode: number }> {
  let eventAt = 0;
  let id = '';
  const off = agent.client.on('container.changed', (change) => {
    if (change.status === 'running' && change.summary.name === `bench-topo-${run}` && eventAt === 0) {
      eventAt = Date.now();
      id = change.id;
    }
  });
  try {
    const calledAt = Date.now();
    const record = await agent.client.call('container.run', { name: `bench-topo-${run}`, args: ['sleep', '600'], bridge: BRIDGE, subnet: SUBNET }, { timeoutMs: STEP_TIMEOUT_MS });
    id ||= record.id;
    const shownAt = await nodeShown(page, `container:${record.id}`, true);
    if (eventAt === 0) throw new Error(`no container.changed → running for ${record.name}`);
    await agent.client.call('container.remove', { id, force: true }, { timeoutMs: STEP_TIMEOUT_MS });
    await nodeShown(page, `container:${record.id}`, false);
    return { eventToNode: shownAt - eventAt, runToNode: shownAt - calledAt };
  } finally {
    off();
  }
}

/** The page's Date.now() in the first frame whose model has (or no longer has) the node. */
async function nodeShown(page: Page, node: string, present: boolean): Promise<number> {
  const { frame } = await waitForWebview(page, { name: 'topology' }, STEP_TIMEOUT_MS);
  const handle = await frame.waitForFunction(
    ({ node: id, present: want }) => {
      const model = (window as unknown as { __topology?: { nodes: Record<string, unknown> } }).__topology;
      return model && (id in model.nodes) === want ? Date.now() : false;
    },
    { node, present },
    { polling: 'raf', timeout: STEP_TIMEOUT_MS },
  );
  return (await handle.jsonValue()) as number;
}

async function palette(page: Page, title: string): Promise<void> {
  await page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 } }).catch(() => undefined);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input[type="text"], .quick-input-widget .quick-input-filter input').first();
  await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  await input.fill(`>${title}`);
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first().click({ timeout: STEP_TIMEOUT_MS });
}

function packageVsix(work: string): string {
  const out = join(work, 'containers-lab.vsix');
  const result = spawnSync(join(REPO, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '-o', out], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0 || !existsSync(out)) throw new Error(`vsce package failed: ${result.stderr || result.stdout}`);
  return out;
}

/** The report's lines for this benchmark. */
export function topologyReport(result: TopologyBenchResult): string[] {
  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  const pass = result.eventToNode.p95 < TOPOLOGY_TARGET_MS;
  return [
    `Live Topology: container start → its node in the page, ${result.runs} starts (code-server, headless Chromium, loopback SSH)`,
    `  agent event → node shown: p50 ${ms(result.eventToNode.median)}, p95 ${ms(result.eventToNode.p95)}, max ${ms(result.eventToNode.max)}`,
    `  container.run called → node shown: p50 ${ms(result.runToNode.median)}, p95 ${ms(result.runToNode.p95)}`,
    `topology: event → node p95 ${ms(result.eventToNode.p95)} (target < ${TOPOLOGY_TARGET_MS} ms) ${pass ? 'PASS' : 'MISS'}`,
  ];
}

/** The whole benchmark as `npm run bench` runs it (bench/index.ts): measure, then print its report and warnings. */
export async function runTopologyBench(say: (line?: string) => void): Promise<void> {
  say();
  const unavailable = extensionBenchUnavailable();
  if (unavailable) {
    say(`Live Topology benchmark skipped: ${unavailable}`);
    return;
  }
  say('… Live Topology: container start → node in the page (code-server, headless Chromium, loopback sshd)');
  const warnings: string[] = [];
  try {
    for (const line of topologyReport(await benchTopology(say, warnings))) say(line);
  } catch (error) {
    say(`topology: not measured (${error instanceof Error ? error.message.split('\n')[0] : String(error)}) (target < ${TOPOLOGY_TARGET_MS} ms) MISS`);
  }
  for (const warning of warnings) say(`WARNING: ${warning}`);
}
