/*
 * extensionTestsPath tests for Containers Lab: test/e2e/extension-tests/index.ts runs inside
 * code-server's extension host (the smoke-test-driver server) with the packaged .vsix loaded,
 * against a real agent service this file starts on a throwaway socket and state root.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { removeBridgeIfCreated } from '../helpers/kernel-witness';
import { startService, stopService, type RunningService } from '../helpers/service';
import { launchBrowser, screenshot, type Browser } from './helpers/browser';
import type { CodeServer } from './helpers/code-server';
import { bundleTests, installedExtensionPath, runExtensionTests, startTestServer } from './helpers/extension-tests';
import { productVsix } from './helpers/vsix';

const work = mkdtempSync(join(tmpdir(), 'cl-e2e-ext-tests-'));
const stateRoot = join(work, 'state');
const socketPath = join(work, 'run', 'agent.sock');
const resultsFile = join(work, 'results.json');
let agent: RunningService;
let server: CodeServer;
let browser: Browser;
let tests: { file: string; cleanup(): void };
let removeLabBridge: () => void = () => undefined;

beforeAll(async () => {
  const vsix = productVsix();
  mkdirSync(join(work, 'run'), { recursive: true });
  mkdirSync(join(work, 'workspace'), { recursive: true });
  removeLabBridge = removeBridgeIfCreated('cl0');
  agent = await startService(stateRoot, socketPath);
  tests = await bundleTests(join(__dirname, 'extension-tests', 'index.ts'));
  server = await startTestServer({
    label: 'ext-tests',
    vsix: [vsix],
    resultsFile,
    env: { CONTAINERS_LAB_E2E_SOCKET: socketPath },
    settings: { 'containersLab.target': 'local', 'containersLab.agent.socketPath': socketPath },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (agent) {
    for (const summary of await agent.client.call('container.list', {}).catch(() => [])) {
      await agent.client.call('container.remove', { id: summary.id, force: true }).catch(() => undefined);
    }
    await stopService(agent);
  }
  removeLabBridge();
  tests?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

it('runs the extension tests (commands and providers) inside the extension host', async () => {
  const run = await runExtensionTests(server, browser, {
    developmentPath: installedExtensionPath(server, 'containers-lab.containers-lab'),
    testsFile: tests.file,
    resultsFile,
    folder: join(work, 'workspace'),
    timeout: 150_000,
  });
  await screenshot(browser.page, 'extension-tests-done');
  const summary = run.results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.ms} ms)${r.error ? `\n${r.error}` : ''}`).join('\n');
  console.log(summary);
  expect(run.results.length, `a result for every test; log:\n${run.log.slice(-50).join('\n')}`).toBe(11);
  expect(run.results.filter((r) => !r.ok), summary).toEqual([]);
  expect(run.exitCode).toBe(0);
  expect(await agent.client.call('container.list', {})).toEqual([]);
});
