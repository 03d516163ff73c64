/*
 * Runs an `extensionTestsPath` module inside code-server's extension host — the web equivalent of
 * @vscode/test-electron's runTests. The workbench URL's `payload` carries extensionDevelopmentPath
 * and extensionTestsPath; code-server honours them only when started with
 * `--vscode-option enable-smoke-test-driver`, and the workbench then reports the extension host's
 * exit code to `window.codeAutomationExit`, which the browser page exposes back to us.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { ExtensionTestResult } from '../extension-tests/runner';
import type { Browser } from './browser';
import { openWorkbench } from './browser';
import { startCodeServer, type CodeServer, type CodeServerOptions } from './code-server';

export interface ExtensionTestRun {
  exitCode: number;
  results: ExtensionTestResult[];
  /** Extension-host console lines forwarded to the page. */
  log: string[];
}

/** Bundles a test module (TypeScript, imports 'vscode') into one CommonJS file. */
export async function bundleTests(entry: string): Promise<{ file: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'cl-ext-tests-'));
  const file = join(dir, 'index.js');
  await build({ entryPoints: [entry], outfile: file, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], logLevel: 'warning', sourcemap: 'inline' });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A code-server that runs extension tests (notifications are hidden by the smoke-test driver). */
export function startTestServer(options: CodeServerOptions & { resultsFile: string }): Promise<CodeServer> {
  return startCodeServer({
    ...options,
    vscodeOptions: [...(options.vscodeOptions ?? []), 'enable-smoke-test-driver'],
    env: { ...options.env, CONTAINERS_LAB_EXT_TEST_RESULTS: options.resultsFile },
  });
}

/** The folder an installed extension was unpacked to: <extensions-dir>/<publisher>.<name>-<version>. */
export function installedExtensionPath(server: CodeServer, id: string): string {
  const manifest = JSON.parse(readFileSync(join(server.extensionsDir, 'extensions.json'), 'utf8')) as { identifier: { id: string }; relativeLocation: string }[];
  const entry = manifest.find((extension) => extension.identifier.id.toLowerCase() === id.toLowerCase());
  if (!entry) throw new Error(`${id} is not installed in ${server.extensionsDir}`);
  return join(server.extensionsDir, entry.relativeLocation);
}

export async function runExtensionTests(server: CodeServer, browser: Browser, options: { developmentPath: string; testsFile: string; resultsFile: string; folder?: string; timeout?: number }): Promise<ExtensionTestRun> {
  const { page } = browser;
  const log: string[] = [];
  const exited = new Promise<number>((resolve) => {
    void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
  });
  await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => log.push(`[${type}] ${args.map(String).join(' ')}`)).catch(() => undefined);
  const remote = (path: string) => `vscode-remote://127.0.0.1:${server.port}${path}`;
  await openWorkbench(page, server.url, {
    folder: options.folder,
    payload: [
      ['extensionDevelopmentPath', remote(options.developmentPath)],
      ['extensionTestsPath', remote(options.testsFile)],
      ['skipWelcome', 'true'],
    ],
  });
  const timeout = options.timeout ?? 120_000;
  const exitCode = await Promise.race([exited, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`extension tests did not finish within ${timeout / 1000} s`)), timeout))]);
  let results: ExtensionTestResult[] = [];
  try {
    results = JSON.parse(readFileSync(options.resultsFile, 'utf8')) as ExtensionTestResult[];
  } catch {
    // no results file: the module failed before runAll() wrote it; exitCode and log say why
  }
  return { exitCode, results, log: [...log, ...browser.consoleLines] };
}
