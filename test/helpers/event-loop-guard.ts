/*
 * A guard every test file loads (vitest.config.ts setupFiles): vitest's worker reports to the
 * runner over an RPC that gives up after 60 s, and a worker whose event loop is blocked that long
 * (a long synchronous call: spawnSync, execFileSync, Atomics.wait) reads the runner's answer too
 * late. Every test then passes, yet the run ends "Timeout calling onTaskUpdate" and exits 1, with
 * no test named. This guard names it: a block over 10 s is reported with the test it happened in,
 * and a test during which the loop stalled for more than 45 s fails.
 */
import { relative } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';

const TICK_MS = 500;
const REPORT_MS = 10_000;
const FAIL_MS = 45_000;

let lastTick = Date.now();
let worstInTest = 0;

/** Measures how late this tick is: the time the loop could not run timers. */
function sample(): void {
  const now = Date.now();
  const stalled = now - lastTick - TICK_MS;
  lastTick = now;
  if (stalled > worstInTest) worstInTest = stalled;
  if (stalled > REPORT_MS) {
    const { currentTestName, testPath } = expect.getState();
    const where = `${currentTestName ?? 'outside any test (collection or a hook)'} (${relative(process.cwd(), testPath ?? '?')})`;
    console.warn(`event loop of this test worker blocked for ${(stalled / 1000).toFixed(1)} s in: ${where}`);
  }
}

setInterval(sample, TICK_MS).unref();

beforeEach(() => {
  worstInTest = 0;
});

afterEach(() => {
  sample(); // a stall that ended with the test, before the ticker ran again
  const worst = worstInTest;
  worstInTest = 0;
  if (worst > FAIL_MS) {
    throw new Error(`this test blocked its worker's event loop for ${(worst / 1000).toFixed(1)} s (over ${FAIL_MS / 1000} s): vitest's worker RPC times out at 60 s; wait asynchronously instead`);
  }
});
