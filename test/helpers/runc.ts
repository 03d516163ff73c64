/*
 * For the containers-lab-runc tests: the bundled runtime, OCI bundles with a busybox root of
 * their own, and this test process as the subreaper that collects the exit status of container
 * processes whose creator (`create`) has exited — the part containerd's shim plays in production.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { PR_SET_CHILD_SUBREAPER } from '../../agent/kernel/constants';
import { prctl } from '../../agent/kernel/processes';
import type { OciSpec } from '../../agent/protocol';
import { defaultSpec } from '../../agent/runc/spec';
import { ensureBusyboxImage } from '../../agent/runtime/image/busybox';

const repo = join(__dirname, '..', '..');
export const RUNC_BUNDLE = join(repo, 'dist', 'agent', 'containers-lab-runc.js');

export function ensureRuncBuilt(): void {
  if (existsSync(RUNC_BUNDLE)) return;
  const result = spawnSync('node', [join(repo, 'build.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building the agent failed');
}

/** Orphaned descendants (a container whose `create` exited) become this process's children. */
export function becomeSubreaper(): void {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/**
 * A runc test file's set-up: the runtime built, this process the subreaper, and a scratch
 * directory (named `prefix`…) removed afterwards; returns how to reach it once made.
 */
export function useRuncScratch(prefix: string): () => string {
  let work = '';
  beforeAll(() => {
    ensureRuncBuilt();
    becomeSubreaper();
    work = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  return () => work;
}

/** A bundle at `dir`: a copy of the busybox image as rootfs/, runc's default config.json changed by `patch`. */
export function makeBundle(dir: string, scratchRoot: string, patch: (spec: OciSpec) => void = () => undefined): string {
  mkdirSync(dir, { recursive: true });
  const image = ensureBusyboxImage(scratchRoot).path;
  execFileSync('cp', ['-a', image, join(dir, 'rootfs')]);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  patch(spec);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

export interface RuncResult {
  status: number | null;
  stdout: string;
  /** Also what a container this invocation made wrote since (the file given as `output`). */
  stderr: string;
}

/**
 * Runs the runtime as a separate process. Its stdout/stderr go to files (a container it creates
 * inherits them and may outlive it: a pipe would keep spawnSync waiting), read back after.
 */
export function runc(root: string, args: readonly string[], options: { output?: string; input?: string; global?: string[]; nodeArgs?: string[] } = {}): RuncResult {
  const out = options.output ?? join(root, `.out-${process.pid}`);
  const err = join(root, `.err-${process.pid}-${Date.now()}`);
  mkdirSync(root, { recursive: true });
  const outFd = openSync(out, 'a');
  const errFd = openSync(err, 'w');
  const before = readFileSync(out, 'utf8').length;
  try {
    const result = spawnSync('node', [...(options.nodeArgs ?? []), RUNC_BUNDLE, '--root', root, ...(options.global ?? []), ...args], {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', outFd, errFd], input: options.input, timeout: 60_000,
    });
    return { status: result.status, stdout: readFileSync(out, 'utf8').slice(before), stderr: readFileSync(err, 'utf8') };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
    execFileSync('rm', ['-f', err]);
  }
}
