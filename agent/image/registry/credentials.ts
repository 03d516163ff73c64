/*
 * Registry credentials, from where `docker login` leaves them: ~/.docker/config.json.
 *
 * `docker login HOST` writes `{"auths": {"HOST": {"auth": base64("user:password")}}}` (Docker Hub's
 * key is the historical `https://index.docker.io/v1/`). Keys may carry a scheme or a path, so they
 * are compared by host[:port]. When the file names a credential helper instead (`credHelpers`
 * per host, or `credsStore` for all) the secret lives in the OS keychain and the helper program
 * `docker-credential-NAME` hands it out: it reads the server on stdin and prints
 * `{"Username": …, "Secret": …}`. `$DOCKER_CONFIG` moves the directory, as it does for docker.
 * Credentials are looked up only when a registry asks for them, so an anonymous pull never
 * depends on this file being readable.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { badInput } from '../../errors';
import { DOCKER_HUB } from '../reference';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages ("~/.docker/config.json", "docker-credential-pass"). */
  source: string;
}

/** Docker Hub's entry in config.json, as `docker login` writes it. */
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

export function dockerConfigPath(): string {
  const directory = process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  return join(directory, 'config.json');
}

/** `https://host:5000/v1/` → `host:5000`. */
function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function keysFor(registry: string): string[] {
  return registry === DOCKER_HUB ? DOCKER_HUB_KEYS.map(hostOfKey) : [registry.toLowerCase()];
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Credentials for `registry` from the docker config at `path`, or null when it has none. */
export function credentialsFor(registry: string, path = dockerConfigPath()): Credentials | null {
  if (!existsSync(path)) return null;
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as DockerConfig;
  } catch (error) {
    throw badInput(`${path} is not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const wanted = keysFor(registry);
  const matches = (key: string): boolean => wanted.includes(hostOfKey(key));

  const helperKey = Object.keys(config.credHelpers ?? {}).find(matches);
  const helper = helperKey !== undefined ? config.credHelpers![helperKey] : config.credsStore;
  if (helper) {
    const fromHelper = fromCredentialHelper(helper, registry === DOCKER_HUB ? DOCKER_HUB_KEYS[0]! : registry);
    if (fromHelper) return fromHelper;
  }

  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!matches(key) || typeof entry !== 'object' || entry === null) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw badInput(`${path}: the "auth" of ${key} is not base64 of "user:password"`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: path };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      return { username: entry.username, password: entry.password, source: path };
    }
  }
  return null;
}

/** Asks `docker-credential-<helper>`; null when the helper is missing or has nothing for the server. */
function fromCredentialHelper(helper: string, server: string): Credentials | null {
  if (!/^[a-zA-Z0-9_.-]+$/.test(helper)) throw badInput(`credential helper name ${JSON.stringify(helper)} is not a plain program name`);
  const program = `docker-credential-${helper}`;
  let output: string;
  try {
    output = execFileSync(program, ['get'], { input: server, encoding: 'utf8', timeout: 10_000, stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return null; // not installed, or "credentials not found in native keychain"
  }
  try {
    const answer = JSON.parse(output) as { Username?: unknown; Secret?: unknown };
    if (typeof answer.Username === 'string' && typeof answer.Secret === 'string' && answer.Secret !== '') {
      return { username: answer.Username, password: answer.Secret, source: program };
    }
  } catch {
    // a helper that prints something else has nothing usable for us
  }
  return null;
}
