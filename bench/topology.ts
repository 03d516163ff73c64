/*
 * How long a learner waits to see a new container in the Live Topology: from the agent's
 * `container.changed` → running notification (received by this process on its own connection to
 * the agent) to the first animation frame in which the topology page's model holds the container's
 * node (the page's Date.now(), polled every frame inside the webview). Both read the same clock.
 * Target: p95 < 250 ms over TOPOLOGY_RUNS starts. Between runs, untimed: the container is removed
 * and its node leaves the graph. Then the same with a crowd: CROWD containers already on the graph
 * (issue: "stays responsive with 100 containers"), CROWDED_RUNS more timed starts.
 *
 * The rig is the extension benchmark's (./code-server-rig.ts): OpenSSH on 127.0.0.1 with throwaway
 * keys, the warm agent service, code-server with the packaged .vsix, headless Chromium, connected.
 * Containers go on a bridge of this benchmark's own, removed afterwards if this run created it.
 */
import type { Page } from 'playwright-core';
import { waitForWebview } from '../test/e2e/helpers/webview';
import { activityBarItem, closeRig, codeServerRigUnavailable, newRig, openRig, paletteRow, runCount, STEP_TIMEOUT_MS, type Rig } from './code-server-rig';
import { summarize, type Summary } from './stats';

export const TOPOLOGY_RUNS = runCount(50, 5);
export const TOPOLOGY_TARGET_MS = 250;
const WARMUP = 2;
/** Containers kept running during the crowded phase; with each timed one that makes 100. */
const CROWD = runCount(99, 20);
const CROWDED_RUNS = runCount(10, 3);
const BRIDGE = 'cltopob0';
const SUBNET = '10.77.99.0/24';

export interface TopologyBenchResult {
  runs: number;
  /** container.changed → running (agent) → the container's node in the topology page. */
  eventToNode: Summary;
  /** container.run called → node shown. */
  runToNode: Summary;
  /** The same measurement with CROWD containers on the graph. */
  crowded: { containers: number; runs: number; eventToNode: Summary };
}

export async function benchTopology(say: (line: string) => void, warnings: string[]): Promise<TopologyBenchResult> {
  const rig = newRig({ label: 'bench-topology', owner: 'the topology benchmark', warningPrefix: 'topology bench, ', bridges: [BRIDGE] });
  try {
    const page = await openRig(rig, say);
    await (await paletteRow(page, 'Containers Lab: Show Topology')).click();
    // Close the sidebar: what the benchmark measures is the topology, and only the topology should
    // be busy drawing (and asking the agent) when the next start comes.
    await activityBarItem(page).click({ timeout: STEP_TIMEOUT_MS });
    await waitForWebview(page, { name: 'topology' }, STEP_TIMEOUT_MS);

    say(`  ${TOPOLOGY_RUNS} timed starts after ${WARMUP} warm-up`);
    const eventToNode: number[] = [];
    const runToNode: number[] = [];
    for (let run = 0; run < WARMUP + TOPOLOGY_RUNS; run++) {
      const one = await startAndSee(page, rig, run);
      if (run < WARMUP) continue;
      eventToNode.push(one.eventToNode);
      runToNode.push(one.runToNode);
    }
    say(`  starting ${CROWD} containers (untimed), then ${CROWDED_RUNS} timed starts among them`);
    for (let index = 0; index < CROWD; index++) {
      const record = await rig.agent!.client.call('container.run', { name: `bench-crowd-${index}`, args: ['sleep', '600'], bridge: BRIDGE, subnet: SUBNET }, { timeoutMs: STEP_TIMEOUT_MS });
      rig.containerIds.add(record.id);
    }
    await nodeShown(page, `container:${[...rig.containerIds].pop()}`, true);
    const crowdedEventToNode: number[] = [];
    for (let run = 0; run < CROWDED_RUNS; run++) crowdedEventToNode.push((await startAndSee(page, rig, WARMUP + TOPOLOGY_RUNS + run)).eventToNode);
    return {
      runs: TOPOLOGY_RUNS,
      eventToNode: summarize(eventToNode),
      runToNode: summarize(runToNode),
      crowded: { containers: CROWD + 1, runs: CROWDED_RUNS, eventToNode: summarize(crowdedEventToNode) },
    };
  } finally {
    await closeRig(rig, warnings);
  }
}

async function startAndSee(page: Page, rig: Rig, run: number): Promise<{ eventToNode: number; runToNode: number }> {
  const agent = rig.agent!;
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
    rig.containerIds.add(record.id);
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

/** The report's lines for this benchmark. */
export function topologyReport(result: TopologyBenchResult): string[] {
  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  const pass = result.eventToNode.p95 < TOPOLOGY_TARGET_MS;
  return [
    `Live Topology: container start → its node in the page, ${result.runs} starts (code-server, headless Chromium, loopback SSH)`,
    `  agent event → node shown: p50 ${ms(result.eventToNode.median)}, p95 ${ms(result.eventToNode.p95)}, max ${ms(result.eventToNode.max)}`,
    `  container.run called → node shown: p50 ${ms(result.runToNode.median)}, p95 ${ms(result.runToNode.p95)}`,
    `  with ${result.crowded.containers} containers on the graph, ${result.crowded.runs} starts: agent event → node shown p50 ${ms(result.crowded.eventToNode.median)}, p95 ${ms(result.crowded.eventToNode.p95)}, max ${ms(result.crowded.eventToNode.max)}`,
    `topology: event → node p95 ${ms(result.eventToNode.p95)} (target < ${TOPOLOGY_TARGET_MS} ms) ${pass ? 'PASS' : 'MISS'}`,
    `topology with ${result.crowded.containers} containers: event → node p95 ${ms(result.crowded.eventToNode.p95)} (target < ${TOPOLOGY_TARGET_MS} ms) ${result.crowded.eventToNode.p95 < TOPOLOGY_TARGET_MS ? 'PASS' : 'MISS'}`,
  ];
}

/** The whole benchmark as `npm run bench` runs it (bench/index.ts): measure, then print its report and warnings. */
export async function runTopologyBench(say: (line?: string) => void): Promise<void> {
  say();
  const unavailable = codeServerRigUnavailable();
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
