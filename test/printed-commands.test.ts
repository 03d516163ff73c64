/*
 * Every command the documentation and the scripts print for a learner to type, typed as printed:
 * the shell blocks of README.md and labs/README.md and the closing hint of scripts/lab (host mode)
 * are read from the files themselves — a command edited there is the command tested here — and run
 * by /bin/sh, one line at a time and in order, with `containers-lab` on PATH as setup-host.sh
 * puts it there. `exec -it` gets a real terminal (util-linux `script`) and a keystroke or two.
 *
 * Only the environment differs from a learner's: a state root, a default bridge and subnet of this
 * file's own (CONTAINERS_LAB_ROOT / _BRIDGE / _SUBNET, as the README documents them), and a socket
 * nobody listens on, so every verb runs standalone and nothing meets the other test files.
 * The VM's commands (vm/README.md, scripts/lab's VM hint) run in the VM job, on the VM.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useOwnDefaultNetwork } from './helpers/default-network';
import { leftovers, NONE_LEFT } from './helpers/kernel-witness';
import { AGENT_BUNDLE, ensureBuilt } from './helpers/service';

const REPO = join(__dirname, '..');

/** The lines of every ```sh block of a Markdown file, without their trailing `# …` comments. */
export function shellBlockLines(markdown: string): string[] {
  const lines: string[] = [];
  // Which kind of block the reader is in: a fence opens one (sh or other) and the next fence closes it.
  let block: 'none' | 'shell' | 'other' = 'none';
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) {
      block = block !== 'none' ? 'none' : /^```(sh|bash|shell)?\s*$/.test(line) ? 'shell' : 'other';
      continue;
    }
    if (block === 'shell' && line.trim()) lines.push(withoutComment(line));
  }
  return lines;
}

/** The indented command lines of scripts/lab's host-mode closing hint (its last heredoc). */
export function hintLines(script: string): string[] {
  const heredocs = [...script.matchAll(/cat <<EOT\n([\s\S]*?)\nEOT/g)].map((match) => match[1]!);
  return heredocs.at(-1)!.split('\n').filter((line) => /^ {2}\S/.test(line)).map(withoutComment);
}

function withoutComment(line: string): string {
  return line.replace(/\s+#\s.*$/, '').trim();
}

const readme = shellBlockLines(readFileSync(join(REPO, 'README.md'), 'utf8'));
const labsReadme = shellBlockLines(readFileSync(join(REPO, 'labs', 'README.md'), 'utf8'));
const labHint = hintLines(readFileSync(join(REPO, 'scripts', 'lab'), 'utf8'));

let work: string;
let env: NodeJS.ProcessEnv;
let releaseNetwork: () => { bridgeGone: boolean };
const made: { id: string; pid: number | null }[] = [];

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync('/tmp/cl-printed-');
  const bin = join(work, 'bin');
  mkdirSync(bin);
  // What setup-host.sh installs as /usr/local/bin/containers-lab, pointing at this checkout's build.
  writeFileSync(join(bin, 'containers-lab'), `#!/bin/sh\nexec '${process.execPath}' '${AGENT_BUNDLE}' "$@"\n`);
  chmodSync(join(bin, 'containers-lab'), 0o755);
  // …and /usr/local/bin/containers-lab-runc.
  writeFileSync(join(bin, 'containers-lab-runc'), `#!/bin/sh\nexec '${process.execPath}' '${AGENT_BUNDLE.replace(/containers-lab\.js$/, 'containers-lab-runc.js')}' "$@"\n`);
  chmodSync(join(bin, 'containers-lab-runc'), 0o755);
  releaseNetwork = useOwnDefaultNetwork('clprint0', '10.77.171.0/24');
  env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    CONTAINERS_LAB_ROOT: join(work, 'state'),
    CONTAINERS_LAB_SOCKET: join(work, 'nobody-listens.sock'),
    CONTAINERS_LAB_LABS: join(REPO, 'labs'),
  };
});

afterAll(() => {
  const stateRoot = join(work, 'state');
  for (const name of containerNames()) spawnSync('containers-lab', ['rm', '-f', name], { env });
  expect(leftovers(stateRoot, made)).toEqual(NONE_LEFT);
  expect(releaseNetwork().bridgeGone).toBe(true);
  rmSync(work, { recursive: true, force: true });
});

/** Runs one printed line as a learner's shell would; an interactive one on a pty with `keys` typed. */
function typed(line: string, keys?: string): { code: number | null; output: string } {
  const result = keys === undefined
    ? spawnSync('sh', ['-c', line], { env, encoding: 'utf8', timeout: 120_000 })
    : spawnSync('script', ['-qec', line, '/dev/null'], { env, encoding: 'utf8', input: keys, timeout: 120_000 });
  if (line.includes(' run ')) rememberMade(line);
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

function rememberMade(line: string): void {
  const name = /--name (\S+)/.exec(line)?.[1];
  if (!name) return;
  const inspected = spawnSync('containers-lab', ['inspect', name, '--json'], { env, encoding: 'utf8' });
  if (inspected.status === 0) {
    const record = JSON.parse(inspected.stdout) as { id: string; pid: number | null };
    made.push({ id: record.id, pid: record.pid });
  }
}

function containerNames(): string[] {
  const listed = spawnSync('containers-lab', ['ps', '-a', '--json'], { env, encoding: 'utf8' });
  return (JSON.parse(listed.stdout || '[]') as { name: string }[]).map((container) => container.name);
}

/** Plays a list of printed lines in order: each must end 0; an interactive shell gets `exit`. */
function play(lines: readonly string[]): void {
  for (const line of lines) {
    const interactive = /\bexec -it\b/.test(line) && /--\s+sh$/.test(line);
    const result = typed(line, interactive ? 'echo typed-$((6*7))\nexit\n' : undefined);
    expect(result.code, `"${line}" printed:\n${result.output}`).toBe(0);
    if (interactive) expect(result.output, `"${line}": the shell answers what was typed`).toContain('typed-42');
  }
}

describe('the commands printed for a learner work as printed', () => {
  test('the documents and the hint print some: the files were read', () => {
    expect(readme.filter((line) => line.startsWith('containers-lab ')).length).toBeGreaterThanOrEqual(5);
    expect(labsReadme.length).toBeGreaterThanOrEqual(5);
    expect(labHint.length).toBeGreaterThanOrEqual(3);
  });

  test("README.md's opening commands are the two scripts, and both exist and are executable", () => {
    expect(readme.slice(0, 2)).toEqual(['scripts/lab', 'scripts/test']);
    for (const script of readme.slice(0, 2)) {
      expect(spawnSync('test', ['-x', join(REPO, script)]).status, script).toBe(0);
    }
  });

  test("README.md's agent session: run, ps, exec -it, inspect, logs, stop && rm", { timeout: 240_000 }, () => {
    play(readme.filter((line) => line.startsWith('containers-lab ')));
    expect(containerNames()).toEqual([]);
  });

  test("README.md's containers-lab-runc bundle: made, spec, run in the foreground", { timeout: 120_000 }, () => {
    const lines = readme.filter((line) => line.includes('/tmp/clrunc'));
    expect(lines.length).toBe(4);
    try {
      play(lines);
    } finally {
      rmSync('/tmp/clrunc', { recursive: true, force: true });
    }
  });

  test("scripts/lab's closing hint: run, exec -it, inspect, rm -f", { timeout: 240_000 }, () => {
    play(labHint.filter((line) => line.startsWith('containers-lab ')));
    expect(containerNames()).toEqual([]);
  });

  test("labs/README.md's lab commands, from list to stop", { timeout: 240_000 }, () => {
    play(labsReadme);
    expect(containerNames()).toEqual([]);
  });
});
