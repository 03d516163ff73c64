/*
 * The image verbs from the command line, both ways: standalone (no service on the socket: the
 * bundled `containers-lab` runs the agent itself) and through a real `containers-lab serve`
 * process — pull (with its per-layer progress), images, image inspect, run of the pulled image
 * (attached and -d), inspect of its container, rmi of the image in use, image prune before and
 * after its container goes, import of an OCI layout, and the one-line errors. Each way has a
 * state root of its own (a pull into a store that has the layers prints "Already exists"), and
 * both must print the same, up to ids, times and the state root's path. Containers use no
 * network; everything is removed at the end and the kernel is asked whether anything is left.
 * The progress a terminal shows (one line per layer, redrawn in place) is read through a small
 * terminal emulator below.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullProgress } from '../agent/cli/verbs/pull-progress';
import type { ImageDetails, ImageListEntry } from '../agent/protocol';
import { runCliProcess, type CliResult } from './helpers/cli';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { REGISTRY, REGISTRY_FIX, startRegistry } from './helpers/registry';
import type { TestRegistry } from './helpers/registry';
import { APP_CREATED_BY, buildRunnableImages, pushImage } from './helpers/runnable-images';
import type { RunnableImages } from './helpers/runnable-images';
import { AGENT_BUNDLE, ensureBuilt, startService, stopService, type RunningService } from './helpers/service';
import { onPath } from './helpers/tools';

const tools = onPath('skopeo') && existsSync(REGISTRY);
if (!tools && process.env.CI === 'true') throw new Error(`docker-registry or skopeo missing: ${REGISTRY_FIX}`);

const CLI_TIMEOUT_MS = 60_000;
const NAME = 'imgcli';

let work: string;
let registry: TestRegistry;
let images: RunnableImages;
let APP = '';
let service: RunningService | null = null;
const made: { id: string; pid: number | null }[] = [];
const roots: string[] = [];

/** The script both ways run, in order; `json` steps print JSON, compared as data. */
const script = (layout: string): { step: string; argv: string[]; json?: boolean }[] => [
  { step: 'pull', argv: ['pull', APP] },
  { step: 'images', argv: ['images'] },
  { step: 'images --json', argv: ['images', '--json'], json: true },
  { step: 'image inspect', argv: ['image', 'inspect', APP] },
  { step: 'image inspect --json', argv: ['image', 'inspect', '--json', APP], json: true },
  { step: 'run (attached)', argv: ['run', '--net', 'none', '--name', `${NAME}-fg`, APP] },
  { step: 'run --entrypoint', argv: ['run', '--net', 'none', '--name', `${NAME}-ep`, '--entrypoint', '/bin/sh', APP, '--', '-c', 'echo $MODE; id -u; pwd'] },
  { step: 'run -d', argv: ['run', '-d', '--net', 'none', '--name', NAME, '--entrypoint', '/bin/sleep', APP, '--', '60'] },
  { step: 'inspect --json', argv: ['inspect', '--json', NAME], json: true },
  { step: 'run --userns', argv: ['run', '--net', 'none', '--userns', '--name', `${NAME}-us`, APP] },
  { step: 'rmi', argv: ['rmi', APP] },
  { step: 'image prune (in use)', argv: ['image', 'prune', '--json'], json: true },
  { step: 'exec after rmi+prune', argv: ['exec', NAME, '--', 'cat', '/opt/app/new.txt'] },
  // Stopped containers stand on their image's layers too (as Docker's do): all four go.
  { step: 'rm', argv: ['rm', '-f', NAME, `${NAME}-fg`, `${NAME}-ep`, `${NAME}-us`] },
  { step: 'image prune', argv: ['image', 'prune', '--json'], json: true },
  { step: 'import', argv: ['import', layout, 'lab/imported'] },
  { step: 'run (imported)', argv: ['run', '--net', 'none', '--name', `${NAME}-imp`, 'lab/imported:other', '--', '/bin/cat', '/srv/other.txt'] },
  { step: 'rm (imported run)', argv: ['rm', `${NAME}-imp`] },
  { step: 'rmi (imported)', argv: ['rmi', 'lab/imported:app', 'lab/imported:other', 'lab/imported:tall'] },
  { step: 'images (empty)', argv: ['images', '--json'], json: true },
  { step: 'pull (missing)', argv: ['pull', `${APP.replace('/app:1', '/missing:1')}`] },
  { step: 'run (not pulled)', argv: ['run', '--net', 'none', 'nosuch:1'] },
  { step: 'image inspect (missing)', argv: ['image', 'inspect', 'nosuch:1'] },
  { step: 'rmi (missing)', argv: ['rmi', 'nosuch:1'] },
];

interface Played {
  root: string;
  results: Map<string, CliResult>;
  ids: string[];
}

function cli(root: string, socket: string, argv: readonly string[]): Promise<CliResult> {
  return runCliProcess(AGENT_BUNDLE, ['--root', root, '--socket', socket, ...argv], CLI_TIMEOUT_MS);
}

async function play(root: string, socket: string): Promise<Played> {
  const results = new Map<string, CliResult>();
  const ids: string[] = [];
  for (const { step, argv } of script(images.layout.dir)) {
    const result = await cli(root, socket, argv);
    results.set(step, result);
    if (step === 'run -d') {
      ids.push(result.stdout.trim());
      made.push({ id: result.stdout.trim(), pid: null });
    }
  }
  return { root, results, ids };
}

let standalone: Played;
let throughService: Played;

beforeAll(async () => {
  if (!tools) return;
  work = mkdtempSync('/tmp/cl-image-cli-');
  images = buildRunnableImages(join(work, 'src'), { tall: false });
  registry = await startRegistry(work, join(work, 'storage'));
  APP = `${registry.host}/lab/app:1`;
  await pushImage(images.layout.dir, 'app', APP);
  mkdirSync(join(work, 'run'), { mode: 0o700 });
  ensureBuilt();
  const standaloneRoot = join(work, 'standalone');
  const serviceRoot = join(work, 'service');
  roots.push(standaloneRoot, serviceRoot);
  standalone = await play(standaloneRoot, join(work, 'run', 'no-agent.sock'));
  service = await startService(serviceRoot, join(work, 'run', 'agent.sock'));
  throughService = await play(serviceRoot, join(work, 'run', 'agent.sock'));
  await stopService(service);
}, 240_000);

afterAll(async () => {
  if (!tools) return;
  if (service) await stopService(service);
  await registry?.stop();
  for (const root of roots.filter((path) => existsSync(path))) {
    const listed = await cli(root, join(work, 'run', 'no-agent.sock'), ['ps', '-a', '--json']);
    const left = listed.code === 0 ? (JSON.parse(listed.stdout) as { id: string }[]) : [];
    if (left.length > 0) await cli(root, join(work, 'run', 'no-agent.sock'), ['rm', '-f', ...left.map((summary) => summary.id)]);
    made.push(...left.map((summary) => ({ id: summary.id, pid: null })));
    expect(leftovers(root, made)).toEqual(NONE_LEFT);
  }
  rmSync(work, { recursive: true, force: true });
}, 60_000);

// --- what legitimately differs between the two ways ----------------------------------------------

function normaliseText(text: string, played: Played): string {
  return text
    .split(played.root).join('<ROOT>')
    .replace(/[0-9a-f]{32}/g, (hex) => (played.ids.includes(hex) ? '<ID>' : hex))
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<TIME>')
    .replace(/"(pid|ppid|mountId|parentId|memoryCurrentBytes|memoryPeakBytes|cpuUsageNs|mac)": \d+/g, '"$1": <VOLATILE>')
    .replace(/just now|\d+ \w+ ago/g, '<AGO>')
    .replace(/ {2,}/g, '  ');
}

/** Namespace inodes and the like differ between any two containers; a pull's layers finish in any order. */
function normalised(played: Played, step: string): CliResult {
  const result = played.results.get(step)!;
  let stdout = normaliseText(result.stdout, played);
  if (step === 'pull') stdout = stdout.split('\n').sort().join('\n');
  if (step === 'inspect --json' && result.code === 0) {
    const record = JSON.parse(result.stdout) as Record<string, unknown>;
    for (const key of ['namespaces', 'processes', 'mounts', 'cgroup', 'security', 'pid', 'createdAt', 'startedAt']) delete record[key];
    stdout = normaliseText(JSON.stringify(record, null, 2), played);
  }
  return { code: result.code, stdout, stderr: normaliseText(result.stderr, played) };
}

describe.skipIf(!tools)('image verbs, standalone and through the service', () => {
  it.each(script('').map(({ step }) => step))('%s: the same exit status, stdout and stderr', (step) => {
    expect(normalised(standalone, step)).toEqual(normalised(throughService, step));
  });

  it.each([['standalone', () => standalone], ['through the service', () => throughService]] as const)('%s: each verb does what it says', (_way, get) => {
    const { results, root } = get();
    const out = (step: string): string => results.get(step)!.stdout;
    const code = (step: string): number => results.get(step)!.code;
    // pull: each layer's download and unpacking, then the canonical name last.
    expect(code('pull')).toBe(0);
    const pulled = out('pull').trim().split('\n');
    expect(pulled[0]).toBe(`Pulling ${APP}`);
    expect(pulled.at(-1)).toBe(APP);
    for (const layer of images.app.layers) expect(pulled).toContain(`${layer.digest.slice(7, 19)}: Pull complete ${humanSize(layer.size)}`);
    expect(out('images')).toMatch(new RegExp(`^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE\\n${escape(`${registry.host}/lab/app`)} +1 +${images.app.manifest.digest} +${images.app.config.digest.slice(7, 19)} `));
    const listed = JSON.parse(out('images --json')) as ImageListEntry[];
    expect(listed.map(({ name, digest, id, tag }) => ({ name, digest, id, tag }))).toEqual([{ name: APP, digest: images.app.manifest.digest, id: images.app.config.digest, tag: '1' }]);
    // inspect: the config, and the layers base first with the step that made each.
    expect(out('image inspect')).toContain('Entrypoint:    ["/bin/echo","from-entrypoint"]');
    const details = JSON.parse(out('image inspect --json')) as ImageDetails;
    expect(details.layers.map(({ digest, createdBy }) => ({ digest, createdBy }))).toEqual(images.app.layers.map((layer, index) => ({ digest: layer.digest, createdBy: APP_CREATED_BY[index] })));
    expect(details.layers.every((layer) => layer.directory.startsWith(`${root}/images/layers/`) && layer.unpacked)).toBe(true);
    // run: Docker's Entrypoint/Cmd rules, the image's Env, User and WorkingDir.
    expect(results.get('run (attached)')).toEqual({ code: 0, stdout: 'from-entrypoint default-arg\n', stderr: '' });
    expect(results.get('run --entrypoint')).toEqual({ code: 0, stdout: 'lab\n1234\n/opt/app\n', stderr: '' });
    const record = JSON.parse(out('inspect --json')) as { imageRef: unknown; image: string; rootfs: { lower: string[] } };
    expect(record.imageRef).toEqual({ name: APP, digest: images.app.manifest.digest, id: images.app.config.digest });
    expect(record.rootfs.lower).toEqual([...details.layers].reverse().map((layer) => layer.directory));
    // --userns: the image's layers idmapped (or shifted) for the container's range, its User (1234) mapped too.
    expect(results.get('run --userns')).toEqual({ code: 0, stdout: 'from-entrypoint default-arg\n', stderr: '' });
    // rmi of the image in use: the name goes, the layers stay with the container.
    expect(out('rmi')).toBe(`Untagged: ${APP}\n`);
    const inUse = JSON.parse(out('image prune (in use)')) as { layers: string[]; blobs: string[] };
    expect(inUse.layers).toEqual([]);
    expect(inUse.blobs).toContain(images.app.config.digest);
    expect(results.get('exec after rmi+prune')).toEqual({ code: 0, stdout: 'new\n', stderr: '' });
    expect((JSON.parse(out('image prune')) as { layers: string[] }).layers.sort()).toEqual(details.layers.map((layer) => layer.directory).sort());
    // import of an OCI layout: its tags under the given repository; the imported image runs.
    expect(out('import').split('\n').filter(Boolean).sort()).toEqual(['app', 'other', 'tall'].map((tag) => `Loaded image: docker.io/lab/imported:${tag}`));
    expect(results.get('run (imported)')).toEqual({ code: 0, stdout: 'other\n', stderr: '' });
    expect(JSON.parse(out('images (empty)'))).toEqual([]);
    // Errors: one line each, a non-zero status.
    for (const step of ['pull (missing)', 'run (not pulled)', 'image inspect (missing)', 'rmi (missing)']) {
      expect(code(step), step).not.toBe(0);
      expect(results.get(step)!.stderr, step).toMatch(/^containers-lab: [^\n]+\n$/);
    }
    expect(results.get('run (not pulled)')!.stderr).toBe('containers-lab: no image nosuch:1 here: pull it first (containers-lab pull nosuch:1)\n');
  });
});

describe('pull progress on a terminal', () => {
  it('keeps one line per layer and redraws it in place; into a pipe, a line per change of state', async () => {
    const screen = async (terminal: boolean): Promise<string[]> => {
      const output = new PassThrough();
      const chunks: string[] = [];
      output.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
      const progress = new PullProgress(output, terminal);
      progress.handle({ type: 'resolved', name: 'docker.io/library/demo:1', digest: `sha256:${'0'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
      progress.handle({ type: 'manifest', digest: `sha256:${'0'.repeat(64)}`, platform: 'linux/amd64', layers: 2, size: 3000 });
      const a = `sha256:${'a'.repeat(64)}`;
      const b = `sha256:${'b'.repeat(64)}`;
      for (const [index, digest] of [[0, a], [1, b]] as const) progress.handle({ type: 'layer', index, digest, state: 'waiting', bytes: 0, total: 1500 });
      for (const bytes of [500, 1000, 1500]) progress.handle({ type: 'layer', index: 0, digest: a, state: 'downloading', bytes, total: 1500 });
      progress.handle({ type: 'layer', index: 1, digest: b, state: 'present', bytes: 1500, total: 1500 });
      for (const state of ['downloaded', 'unpacking', 'unpacked'] as const) progress.handle({ type: 'layer', index: 0, digest: a, state, bytes: 1500, total: 1500 });
      progress.handle({ type: 'done', name: 'docker.io/library/demo:1', digest: `sha256:${'0'.repeat(64)}`, id: `sha256:${'1'.repeat(64)}` });
      await progress.done();
      return terminal ? emulate(chunks.join('')) : chunks.join('').split('\n').filter(Boolean);
    };
    expect(await screen(true)).toEqual([
      'Pulling docker.io/library/demo:1',
      'linux/amd64: 2 layers, 3kB',
      'Digest: sha256:0000000000000000000000000000000000000000000000000000000000000000',
      'aaaaaaaaaaaa: Pull complete 1.5kB',
      'bbbbbbbbbbbb: Already exists',
    ]);
    expect(await screen(false)).toEqual([
      'Pulling docker.io/library/demo:1',
      'linux/amd64: 2 layers, 3kB',
      'aaaaaaaaaaaa: Downloading 1.5kB',
      'bbbbbbbbbbbb: Already exists',
      'aaaaaaaaaaaa: Download complete 1.5kB',
      'aaaaaaaaaaaa: Extracting',
      'aaaaaaaaaaaa: Pull complete 1.5kB',
      'Digest: sha256:0000000000000000000000000000000000000000000000000000000000000000',
    ]);
  });
});

/** What a terminal shows after `text`: lines, the cursor moved up by ESC[nA, cleared by ESC[2K and ESC[J. */
function emulate(text: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  const pattern = /\x1b\[(\d*)([AKJ])|\n|[^\x1b\n]+/g;
  for (const match of text.matchAll(pattern)) {
    const [token, count, command] = match;
    if (token === '\n') {
      row += 1;
      if (lines.length <= row) lines.push('');
    } else if (command === 'A') row = Math.max(0, row - Number(count || 1));
    else if (command === 'K') lines[row] = '';
    else if (command === 'J') lines.splice(row + 1), (lines[row] = '');
    else lines[row] = (lines[row] ?? '') + token;
  }
  return lines.filter((line) => line !== '');
}

function humanSize(bytes: number): string {
  for (const [size, unit] of [[1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(bytes >= size * 100 ? 0 : 1))}${unit}`;
  }
  return `${bytes}B`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
