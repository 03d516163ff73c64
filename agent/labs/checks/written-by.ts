/*
 * Check "written-by": who writes a file two containers share? Its contents cannot say, but the
 * kernel can be asked to hold one writer still: the freezer (cgroup v1 `freezer.state`, v2
 * `cgroup.freeze`) stops every process of a cgroup where it stands. So: the file, seen from the
 * reader, must grow while both run, and stop growing while the writer's cgroup is frozen — if it
 * still grows, someone else (the reader itself?) writes it. The writer is always thawed again.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { failIf, running } from './outcome';

/** Long enough for a writer that appends once a second to be seen. */
const WATCH_MS = 2_500;
const POLL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

/** Waits up to WATCH_MS for the file to grow past `from`; its size at the end. */
async function watch(path: string, from: number | null): Promise<number | null> {
  let size = sizeOf(path);
  for (const deadline = Date.now() + WATCH_MS; Date.now() < deadline && (size === null || size === from); ) {
    await sleep(POLL_MS);
    size = sizeOf(path);
  }
  return size;
}

export async function checkWrittenBy(params: CheckParamsByKind['written-by'], context: LabContext): Promise<void> {
  const reader = running(context, params.reader);
  running(context, params.writer);
  const path = join(`/proc/${reader.pid}/root`, params.path);
  const before = sizeOf(path);
  failIf(before === null, `${params.path} does not exist in "${params.reader}"`);
  const grown = await watch(path, before);
  failIf(grown === before, `${params.path} in "${params.reader}" does not grow (${before} bytes for ${WATCH_MS / 1000} s)`);

  context.runtime.pause(params.writer);
  try {
    await sleep(POLL_MS); // a write under way when the freeze came may still land
    const frozenAt = sizeOf(path);
    const after = await watch(path, frozenAt);
    failIf(after !== frozenAt, `${params.path} still grows while "${params.writer}" is frozen: something else writes it`);
  } finally {
    context.runtime.resume(params.writer);
  }
}
