/*
 * The .vsix files the e2e tests install: the product's own (`npm run package` → dist/containers-lab.vsix)
 * and the harness fixture (packaged on the fly with the repo's @vscode/vsce).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './code-server';

export const PRODUCT_VSIX = join(REPO, 'dist', 'containers-lab.vsix');

/**
 * The product's .vsix, packaged from the current sources (`npm run package`, ~3 s) so the e2e never
 * tests a stale build. CONTAINERS_LAB_VSIX=<path> tests a given .vsix instead (e.g. a CI artefact).
 */
export function productVsix(): string {
  const given = process.env.CONTAINERS_LAB_VSIX;
  if (given) {
    if (!existsSync(given)) throw new Error(`CONTAINERS_LAB_VSIX=${given} does not exist`);
    return given;
  }
  const result = spawnSync('npm', ['run', '--silent', 'package'], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0 || !existsSync(PRODUCT_VSIX)) {
    throw new Error(`npm run package did not produce ${PRODUCT_VSIX}:\n${result.stdout}\n${result.stderr}`);
  }
  return PRODUCT_VSIX;
}

/** Packages an extension folder (copied to a temp dir first) and returns the .vsix path. */
export function packageFolder(folder: string): string {
  const work = mkdtempSync(join(tmpdir(), 'cl-vsix-'));
  cpSync(folder, join(work, 'extension'), { recursive: true });
  const out = join(work, 'extension.vsix');
  const vsce = join(REPO, 'node_modules', '.bin', 'vsce');
  const result = spawnSync(vsce, ['package', '--allow-missing-repository', '--skip-license', '-o', out], { cwd: join(work, 'extension'), encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`vsce package failed:\n${result.stdout}\n${result.stderr}`);
  return out;
}
