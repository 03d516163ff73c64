/*
 * The extensionTestsPath route, proven on the harness fixture: a code-server with the smoke-test
 * driver enabled runs test/e2e/extension-tests/harness.ts inside its extension host.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './helpers/browser';
import type { CodeServer } from './helpers/code-server';
import { bundleTests, installedExtensionPath, runExtensionTests, startTestServer } from './helpers/extension-tests';
import { packageFolder } from './helpers/vsix';

let server: CodeServer;
let browser: Browser;
let vsix: string;
let tests: { file: string; cleanup(): void };
const scratch = mkdtempSync(join(tmpdir(), 'cl-ext-results-'));
const resultsFile = join(scratch, 'results.json');

beforeAll(async () => {
  vsix = packageFolder(join(__dirname, 'fixtures', 'harness-extension'));
  tests = await bundleTests(join(__dirname, 'extension-tests', 'harness.ts'));
  server = await startTestServer({ label: 'harness-ext-tests', vsix: [vsix], resultsFile });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  tests?.cleanup();
  if (vsix) rmSync(dirname(vsix), { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

it('runs an extensionTestsPath module in the extension host and reports each test', async () => {
  const run = await runExtensionTests(server, browser, {
    developmentPath: installedExtensionPath(server, 'containers-lab-tests.harness-lab'),
    testsFile: tests.file,
    resultsFile,
  });
  const summary = run.results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.error ? `\n${r.error}` : ''}`).join('\n');
  expect(run.results.length, `no results; log:\n${run.log.join('\n')}`).toBe(3);
  expect(run.results.filter((r) => !r.ok), summary).toEqual([]);
  expect(run.exitCode).toBe(0);
});
