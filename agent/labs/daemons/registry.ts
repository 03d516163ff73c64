/*
 * A lab's private image registry: Debian's docker-registry (the CNCF distribution registry) on
 * 127.0.0.1 only, with htpasswd Basic auth — every request without a valid user gets 401, as a
 * company's registry answers a node that was never given its credentials.
 *
 * Its files live in `.registry/` of the lab's directory: config.yml, htpasswd (bcrypt, the only
 * hash the registry accepts: Apache's `htpasswd -B` makes it), storage/, the PID and the log.
 * The setup pushes images the lab built into it (../../image/registry/push.ts) and then deletes
 * them from the node, so the node has to pull them. Teardown stops it, deletes the images the
 * node pulled from it and the credentials for it that the learner gave the kubelet.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { badInput, LabError } from '../../errors';
import { pushImage } from '../../image/registry/push';
import { parseReference, manifestSelector } from '../../image/reference';
import { MANIFEST_ACCEPT } from '../../image/media-types';
import type { ContainerRuntime } from '../../runtime/api';
import { startDaemon, stopDaemon, type DaemonFiles } from './daemon';

export interface LabRegistrySpec {
  /** `127.0.0.1:PORT`: where it listens (loopback only). */
  address: string;
  /** user → password; each may pull and push. */
  users: Record<string, string>;
  /** Images built by the setup, pushed under `to` (a reference on this registry), then deleted from the node. */
  push?: { image: string; to: string }[];
}

export const REGISTRY_PROGRAM = 'docker-registry';

function filesOf(directory: string): DaemonFiles & { config: string } {
  const config = join(directory, 'config.yml');
  return { config, pidFile: join(directory, 'registry.pid'), logFile: join(directory, 'registry.log'), marker: config };
}

function checkAddress(address: string): number {
  const match = /^127\.0\.0\.1:(\d{1,5})$/.exec(address);
  if (!match) throw badInput(`setup: a lab registry listens on 127.0.0.1:PORT, not "${address}"`);
  return Number(match[1]);
}

/** The registry's answer to GET /v2/ (401 with auth on): it is up. */
function answers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(`http://${address}/v2/`, { timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200 || response.statusCode === 401);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

export async function startLabRegistry(spec: LabRegistrySpec, directory: string, runtime: ContainerRuntime): Promise<void> {
  checkAddress(spec.address);
  const users = Object.entries(spec.users);
  if (users.length === 0) throw badInput('setup: a lab registry needs at least one user');
  const files = filesOf(directory);
  mkdirSync(join(directory, 'storage'), { recursive: true });
  const htpasswd = join(directory, 'htpasswd');
  try {
    writeFileSync(htpasswd, users.map(([user, password]) => execFileSync('htpasswd', ['-nbB', user, password], { encoding: 'utf8' }).trim()).join('\n') + '\n');
  } catch (error) {
    throw badInput(`setup: htpasswd failed (apt-get install apache2-utils): ${(error as Error).message.split('\n')[0]}`);
  }
  writeFileSync(files.config, [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(directory, 'storage')}`,
    'http:',
    `  addr: ${spec.address}`,
    'auth:',
    '  htpasswd:',
    '    realm: containers-lab',
    `    path: ${htpasswd}`,
    '',
  ].join('\n'));
  await startDaemon(REGISTRY_PROGRAM, ['serve', files.config], files, () => answers(spec.address));
  const [username, password] = users[0]!;
  for (const { image, to } of spec.push ?? []) {
    if (parseReference(to).registry !== spec.address) throw badInput(`setup: "${to}" is not on the lab registry ${spec.address}`);
    await pushImage(runtime.images.store, image, to, { username, password });
    await runtime.images.remove(image);
  }
}

/** The manifest digest the lab registry serves for `reference` now (asked with the lab's first user). */
export function servedDigest(spec: LabRegistrySpec, reference: string): Promise<string> {
  const parsed = parseReference(reference);
  const [username, password] = Object.entries(spec.users)[0]!;
  const url = `http://${spec.address}/v2/${parsed.repository}/manifests/${manifestSelector(parsed)}`;
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'HEAD', timeout: 5000,
      headers: { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`, Accept: MANIFEST_ACCEPT },
    }, (response) => {
      response.resume();
      const digest = response.headers['docker-content-digest'];
      if (response.statusCode === 200 && typeof digest === 'string') resolve(digest);
      else reject(new LabError('not-found', `the lab registry has no ${reference} (${response.statusCode})`));
    });
    request.on('error', (error) => reject(new LabError('not-found', `the lab registry does not answer: ${error.message}`)));
    request.on('timeout', () => request.destroy(new Error('no answer in 5 s')));
    request.end();
  });
}

/** Stops the registry; the images the node pulled from it go; the kubelet forgets its credentials. */
export async function stopLabRegistry(spec: LabRegistrySpec, directory: string, runtime: ContainerRuntime, kubeletConfig: string): Promise<void> {
  await stopDaemon(filesOf(directory));
  rmSync(directory, { recursive: true, force: true });
  let removed = false;
  for (const entry of runtime.images.list()) {
    if (!entry.name.startsWith(`${spec.address}/`)) continue;
    try {
      await runtime.images.remove(entry.name);
      removed = true;
    } catch (error) {
      if (!(error instanceof LabError && error.kind === 'not-found')) throw error;
    }
  }
  if (removed) await runtime.images.prune();
  forgetCredentials(kubeletConfig, spec.address);
}

/** Deletes `address`'s entries from a docker config (the file, when nothing else is left in it). */
function forgetCredentials(path: string, address: string): void {
  if (!existsSync(path)) return;
  let config: { auths?: Record<string, unknown> } & Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as typeof config;
  } catch {
    return; // not ours to repair
  }
  const host = (key: string): string => key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  const auths = Object.fromEntries(Object.entries(config.auths ?? {}).filter(([key]) => host(key) !== address));
  const rest = Object.keys(config).filter((key) => key !== 'auths');
  if (Object.keys(auths).length === 0 && rest.length === 0) {
    rmSync(path, { force: true });
    try {
      rmdirSync(dirname(path)); // the kubelet directory, when the learner made it for this file
    } catch {
      // not empty
    }
  } else writeFileSync(path, `${JSON.stringify({ ...config, auths }, null, 2)}\n`);
}
