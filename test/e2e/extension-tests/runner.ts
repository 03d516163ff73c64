/*
 * A very small test runner for code that runs INSIDE the VS Code extension host (the
 * `extensionTestsPath` module). VS Code loads the bundled module, calls its `run()`, and reports the
 * promise's outcome to the workbench (`codeAutomationExit`). Each test's result is also written as
 * JSON to $CONTAINERS_LAB_EXT_TEST_RESULTS, so the vitest side can name what failed and why.
 */
import { writeFileSync } from 'node:fs';

export interface ExtensionTestResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

type TestBody = () => Promise<void> | void;
const tests: { name: string; body: TestBody }[] = [];

export function test(name: string, body: TestBody): void {
  tests.push({ name, body });
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Polls until `probe` returns a value that is not undefined/false, or fails with `what`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeout = 20_000): Promise<T> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** Runs every registered test in order; rejects (→ exit code 1) if any failed. */
export async function runAll(): Promise<void> {
  const results: ExtensionTestResult[] = [];
  for (const { name, body } of tests) {
    const started = Date.now();
    try {
      await body();
      results.push({ name, ok: true, ms: Date.now() - started });
    } catch (error) {
      results.push({ name, ok: false, ms: Date.now() - started, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  }
  const out = process.env.CONTAINERS_LAB_EXT_TEST_RESULTS;
  if (out) writeFileSync(out, JSON.stringify(results, null, 2));
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) throw new Error(`${failed.length} extension test(s) failed: ${failed.map((f) => f.name).join(', ')}`);
}
