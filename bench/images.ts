/*
 * Benchmark: images — pull + unpack against skopeo + umoci, memory while pulling, and the run of
 * a many-layer image against busybox's lifecycle.
 *
 *   pull      a 4-layer image of ≥ 50 MB (busybox and text files that compress like real ones)
 *             pushed by skopeo to Debian's docker-registry on 127.0.0.1: the agent's `image.pull`
 *             (fetch, verify, unpack every layer) against `skopeo copy docker://… oci:DIR:TAG`
 *             followed by `umoci unpack --image DIR:TAG BUNDLE` — the same work done by Debian's
 *             tools — alternately, IMAGE_ROUNDS times each, from empty stores. Target ≤ 1×.
 *   memory    the agent service's RSS (VmRSS of its PID, sampled every 10 ms) during the pull of
 *             an image whose one layer is 200 MB: its growth over the RSS before. Target < 50 MiB.
 *   run       `container.run` → stopped → `container.remove` of /bin/true in the 4-layer image,
 *             its layers present, against the same for busybox, alternately, on one service
 *             without a warm pool (neither may claim a pre-made container). Target ≤ 1.2×.
 * Everything lives under the benchmark's temporary directory; the registry and the service are
 * stopped by PID, and the images removed through the agent.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AgentClient } from '../agent/service/client';
import type { RunOptions } from '../agent/protocol';
import { findStaticBusybox } from '../agent/runtime/image/busybox';
import { OciLayout } from '../test/helpers/oci-layout';
import { startRegistry, type TestRegistry } from '../test/helpers/registry';
import { pushImage, goArch } from '../test/helpers/runnable-images';
import { findLeftovers } from './leftovers';
import { startService, type BenchService } from './service';
import { millisecondsSince, summarize, type Summary } from './stats';

export const IMAGE_TARGETS = { pullVsTools: 1, pullRssMiB: 50, runVsBusybox: 1.2 } as const;
const IMAGE_ROUNDS = 3;
const RUN_ROUNDS = 5;
const RUNS_PER_ROUND = 8;
const MiB = 1024 * 1024;

export interface ImagesBenchResult {
  imageBytes: number;
  layers: number;
  agentPull: Summary;
  toolsPull: Summary;
  rssGrowthMiB: number;
  bigLayerBytes: number;
  imageRun: Summary;
  busyboxRun: Summary;
}

/** Text that compresses about as well as a real image's files (base64 of random bytes: ~25 % smaller). */
function fillerFile(path: string, bytes: number): void {
  writeFileSync(path, randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes));
}

function layerTree(root: string, files: number, bytesEach: number): string {
  mkdirSync(root, { recursive: true });
  for (let index = 0; index < files; index++) fillerFile(join(root, `file-${index}.txt`), bytesEach);
  return root;
}

interface BuiltImages {
  layout: OciLayout;
  bytes: number;
  bigLayerBytes: number;
}

/** "multi" (4 layers, ~60 MB uncompressed) and "big" (busybox + one 200 MB layer), in one OCI layout. */
function buildImages(work: string): BuiltImages {
  const layout = new OciLayout(join(work, 'layout'));
  const base = join(work, 'trees', 'base');
  mkdirSync(join(base, 'bin'), { recursive: true });
  copyFileSync(findStaticBusybox(), join(base, 'bin', 'busybox'));
  chmodSync(join(base, 'bin', 'busybox'), 0o755);
  for (const tool of ['sh', 'true']) spawnSync('ln', ['-s', 'busybox', join(base, 'bin', tool)]);
  mkdirSync(join(base, 'etc'), { recursive: true });
  writeFileSync(join(base, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  layerTree(join(base, 'usr', 'share', 'base'), 40, 256 * 1024);
  const layers = [layout.addLayer(base)];
  for (let index = 1; index < 4; index++) layers.push(layout.addLayer(layerTree(join(work, 'trees', `layer-${index}`, 'opt', `part-${index}`), 80, 256 * 1024)));
  const multi = layout.addImage({ layers, runConfig: { Cmd: ['/bin/true'], Env: ['PATH=/bin'] }, architecture: goArch() });
  layout.tag(multi.manifest, 'multi');
  const big = layout.addLayer(layerTree(join(work, 'trees', 'big', 'data'), 50, 4 * MiB));
  const bigImage = layout.addImage({ layers: [layers[0]!, big], runConfig: { Cmd: ['/bin/true'] }, architecture: goArch() });
  layout.tag(bigImage.manifest, 'big');
  rmSync(join(work, 'trees'), { recursive: true, force: true });
  return { layout, bytes: layers.reduce((sum, layer) => sum + layer.size, 0), bigLayerBytes: 200 * MiB };
}

function residentKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

async function pullWithAgent(client: AgentClient, reference: string): Promise<number> {
  const start = process.hrtime.bigint();
  await client.call('image.pull', { reference });
  const elapsed = millisecondsSince(start);
  await client.call('image.remove', { reference });
  await client.call('image.prune', {});
  return elapsed;
}

function pullWithTools(work: string, reference: string, round: number): number {
  const layout = join(work, `skopeo-${round}`);
  const bundle = join(work, `umoci-${round}`);
  const start = process.hrtime.bigint();
  const copied = spawnSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${layout}:multi`], { encoding: 'utf8' });
  if (copied.status !== 0) throw new Error(`skopeo copy failed: ${copied.stderr.trim()}`);
  const unpacked = spawnSync('umoci', ['unpack', '--image', `${layout}:multi`, bundle], { encoding: 'utf8' });
  if (unpacked.status !== 0) throw new Error(`umoci unpack failed: ${unpacked.stderr.trim()}`);
  const elapsed = millisecondsSince(start);
  rmSync(layout, { recursive: true, force: true });
  rmSync(bundle, { recursive: true, force: true });
  return elapsed;
}

/** The highest RSS growth of `pid` while `action` runs, in MiB. */
async function rssGrowthDuring(pid: number, action: () => Promise<unknown>): Promise<number> {
  const before = residentKiB(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, residentKiB(pid));
  }, 10);
  try {
    await action();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, residentKiB(pid));
  return (peak - before) / 1024;
}

/** One life — run → stopped → removed — timed; `stoppedIds` is fed by a container.changed listener. */
async function lifecycle(client: AgentClient, options: RunOptions, name: string, created: Set<string>, stopped: StoppedWatch): Promise<number> {
  const start = process.hrtime.bigint();
  const record = await client.call('container.run', { ...options, name });
  created.add(record.id);
  if (record.status !== 'stopped') await stopped.until(record.id);
  await client.call('container.remove', { id: record.id });
  return millisecondsSince(start);
}

/** Notifications and answers travel in order on one socket: a stop may be heard before run answers. */
class StoppedWatch {
  private readonly seen = new Set<string>();
  private readonly waiters = new Map<string, () => void>();
  readonly close: () => void;

  constructor(client: AgentClient) {
    this.close = client.on('container.changed', ({ id, status }) => {
      if (status !== 'stopped') return;
      this.seen.add(id);
      this.waiters.get(id)?.();
    });
  }

  until(id: string): Promise<void> {
    return this.seen.has(id) ? Promise.resolve() : new Promise((resolve) => this.waiters.set(id, resolve));
  }
}

export async function benchImages(work: string, runId: string, created: Set<string>, say: (line: string) => void): Promise<ImagesBenchResult> {
  for (const tool of ['skopeo', 'umoci', 'docker-registry']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing (apt-get install skopeo umoci docker-registry; scripts/setup-host.sh does)`);
  }
  const dir = join(work, 'images');
  say('… images: building a 4-layer image and a 200 MB-layer image (tar, gzip)');
  const built = buildImages(dir);
  let registry: TestRegistry | null = null;
  let service: BenchService | null = null;
  try {
    registry = await startRegistry(dir, join(dir, 'storage'));
    const multi = `${registry.host}/bench/multi:1`;
    const big = `${registry.host}/bench/big:1`;
    say(`… images: pushing to docker-registry at ${registry.host}`);
    await pushImage(built.layout.dir, 'multi', multi);
    await pushImage(built.layout.dir, 'big', big);
    service = await startService(join(dir, 'service'), 0);
    const { client, pid } = service;

    const agentPulls: number[] = [];
    const toolPulls: number[] = [];
    for (let round = 0; round < IMAGE_ROUNDS; round++) {
      say(`… images: pull + unpack round ${round + 1}/${IMAGE_ROUNDS} (agent, then skopeo + umoci)`);
      agentPulls.push(await pullWithAgent(client, multi));
      toolPulls.push(pullWithTools(dir, multi, round));
    }

    say('… images: agent RSS during the pull of a 200 MB layer');
    const rssGrowthMiB = await rssGrowthDuring(pid, () => client.call('image.pull', { reference: big }));
    await client.call('image.remove', { reference: big });

    await client.call('image.pull', { reference: multi });
    const base: RunOptions = { args: ['/bin/true'], net: 'none', memory: '64m', cpus: 0.5, pids: 64 };
    const stopped = new StoppedWatch(client);
    const imageRuns: number[] = [];
    const busyboxRuns: number[] = [];
    for (let round = 0; round < RUN_ROUNDS; round++) {
      say(`… images: run round ${round + 1}/${RUN_ROUNDS}: ${RUNS_PER_ROUND} lives each of the 4-layer image and busybox`);
      for (let index = 0; index < RUNS_PER_ROUND + 1; index++) {
        const image = await lifecycle(client, { ...base, image: multi }, `${runId}-img-${round}-${index}`, created, stopped);
        const busybox = await lifecycle(client, base, `${runId}-bb-${round}-${index}`, created, stopped);
        if (index === 0) continue; // warm-up
        imageRuns.push(image);
        busyboxRuns.push(busybox);
      }
    }
    stopped.close();
    await client.call('image.remove', { reference: multi });
    await client.call('image.prune', {});
    return {
      imageBytes: built.bytes, layers: 4, agentPull: summarize(agentPulls), toolsPull: summarize(toolPulls),
      rssGrowthMiB, bigLayerBytes: built.bigLayerBytes, imageRun: summarize(imageRuns), busyboxRun: summarize(busyboxRuns),
    };
  } finally {
    await service?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report's lines for the images benchmark. */
export function imagesReport(result: ImagesBenchResult, verdict: (pass: boolean) => string): string[] {
  const ms = (value: number): string => `${value.toFixed(value < 100 ? 1 : 0)} ms`;
  const pullRatio = result.agentPull.median / result.toolsPull.median;
  const runRatio = result.imageRun.median / result.busyboxRun.median;
  return [
    `images pull + unpack (${(result.imageBytes / 1e6).toFixed(0)} MB compressed in ${result.layers} layers): agent ${ms(result.agentPull.median)} vs skopeo copy + umoci unpack ${ms(result.toolsPull.median)} = ${pullRatio.toFixed(2)}× (target ≤ ${IMAGE_TARGETS.pullVsTools}×) ${verdict(pullRatio <= IMAGE_TARGETS.pullVsTools)}`,
    `images agent RSS growth pulling a ${(result.bigLayerBytes / MiB).toFixed(0)} MiB layer: ${result.rssGrowthMiB.toFixed(1)} MiB (target < ${IMAGE_TARGETS.pullRssMiB} MiB) ${verdict(result.rssGrowthMiB < IMAGE_TARGETS.pullRssMiB)}`,
    `images run of a 4-layer image (warm): ${ms(result.imageRun.median)} p50 / ${ms(result.imageRun.p95)} p95 vs busybox ${ms(result.busyboxRun.median)} p50 = ${runRatio.toFixed(2)}× (target ≤ ${IMAGE_TARGETS.runVsBusybox}×) ${verdict(runRatio <= IMAGE_TARGETS.runVsBusybox)}`,
  ];
}

/** `npm run bench -- --only images` (and the end of a full run): measures, prints, checks what was left. */
export async function runImagesBench(say: (line?: string) => void): Promise<void> {
  const runId = `clbi${randomBytes(4).toString('hex')}`;
  const work = mkdtempSync('/tmp/containers-lab-bench-images-');
  const created = new Set<string>();
  const verdict = (pass: boolean): string => (pass ? 'PASS' : 'MISS');
  let lines: string[];
  try {
    lines = imagesReport(await benchImages(work, runId, created, say), verdict);
  } catch (error) {
    lines = [`images: could not run: ${error instanceof Error ? error.message : String(error)}`];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  say();
  say('Images (docker-registry on 127.0.0.1; the agent service without a warm pool)');
  for (const line of lines) say(`  ${line}`);
  const left = findLeftovers({ markers: [runId, ...created], servicePid: null, workDirectory: work });
  say(left.length === 0 ? '  cleanup: nothing left (containers, cgroups, links, mounts, files)' : `  WARNING left behind: ${left.join('; ')}`);
}
