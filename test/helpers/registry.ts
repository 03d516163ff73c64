/*
 * A real registry for tests: Debian's docker-registry (the CNCF distribution registry 2.8) on
 * 127.0.0.1 at an unused port, with its own config file, storage directory and optional auth —
 * htpasswd (Basic, bcrypt hashes made by Apache's htpasswd) or token (a small bearer-token
 * server in this file, whose JWTs the registry verifies against a certificate made by openssl).
 * Several registries may share one storage directory: push once to an open one, pull through
 * each auth mode. Its access log (stdout) is kept, so a test can count the requests the
 * registry itself served. Stopped by PID.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { unusedPort } from './sshd';

export const REGISTRY = '/usr/bin/docker-registry';
export const REGISTRY_FIX = "apt-get install docker-registry skopeo apache2-utils (scripts/setup-host.sh does)";

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: Record<string, string> }
  | { kind: 'token'; tokenServer: TokenServer };

export interface TestRegistry {
  /** `ADDRESS:PORT` (127.0.0.1:PORT unless told), as image references name it. */
  host: string;
  port: number;
  pid: number;
  /** The registry's access log and messages so far. */
  output(): string;
  /** How many times the registry answered GET for a blob (from its own access log). */
  blobGets(digest: string): number;
  stop(): Promise<void>;
}

/**
 * Starts docker-registry serving `storage`, configured by a file in `dir`, listening on `address`
 * (loopback, unless a VM of the run's own must reach it: then the host's address on that VM's network).
 */
export async function startRegistry(dir: string, storage: string, auth: RegistryAuth = { kind: 'none' }, address = '127.0.0.1'): Promise<TestRegistry> {
  const port = await unusedPort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${address}:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (auth.kind === 'htpasswd') {
    const file = join(dir, `htpasswd-${port}`);
    // bcrypt (-B): the only hash the registry accepts
    writeFileSync(file, Object.entries(auth.users).map(([user, password]) => execFileSync('htpasswd', ['-nbB', user, password], { encoding: 'utf8' }).trim()).join('\n') + '\n');
    config.push('auth:', '  htpasswd:', '    realm: test-realm', `    path: ${file}`);
  } else if (auth.kind === 'token') {
    const server = auth.tokenServer;
    config.push('auth:', '  token:', `    realm: ${server.realm}`, `    service: ${server.service}`, `    issuer: ${server.issuer}`, `    rootcertbundle: ${server.certificatePath}`);
  }
  const configPath = join(dir, `registry-${port}.yml`);
  writeFileSync(configPath, `${config.join('\n')}\n`);

  let log = '';
  const child: ChildProcess = spawn(REGISTRY, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const deadline = Date.now() + 15_000;
  while (!(await answersV2(address, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw new Error(`docker-registry did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host: `${address}:${port}`,
    port,
    pid: child.pid!,
    output: () => log,
    blobGets: (digest) => log.split('\n').filter((line) => line.includes(`"GET /v2/`) && line.includes(`/blobs/${digest} `) && /" (200|307) /.test(line)).length,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    },
  };
}

function answersV2(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: address, port, path: '/v2/', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200 || response.statusCode === 401);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certificatePath: string;
  /** Each token request: who asked (null: anonymous) and for which scopes. */
  requests: { account: string | null; scopes: string[]; granted: boolean }[];
  stop(): Promise<void>;
}

/**
 * The bearer-token flow's other half, as Docker Hub's auth.docker.io plays it: GET
 * /token?service=…&scope=repository:NAME:pull answers `{"token": JWT}` signed with a key whose
 * self-signed certificate the registry trusts. `users` may have any access; anonymous callers
 * may pull the repositories in `anonymousPull`. Wrong credentials get 401.
 */
export async function startTokenServer(dir: string, options: { users: Record<string, string>; anonymousPull: string[] }): Promise<TokenServer> {
  const keyPath = join(dir, 'token-key.pem');
  const certificatePath = join(dir, 'token-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certificatePath, '-days', '2', '-subj', '/CN=containers-lab test token issuer'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyPath));
  const certificate = new X509Certificate(readFileSync(certificatePath));
  const service = 'containers-lab-test-registry';
  const issuer = 'containers-lab-test-issuer';
  const requests: TokenServer['requests'] = [];

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const scopes = url.searchParams.getAll('scope');
    let account: string | null = null;
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(authorization.slice(6), 'base64').toString().split(':');
      if (options.users[user!] !== rest.join(':')) {
        requests.push({ account: user ?? '', scopes, granted: false });
        response.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      account = user!;
    }
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      if (type !== 'repository' || !name || !actions) return [];
      const allowed = actions.split(',').filter((action) => account !== null || (action === 'pull' && options.anonymousPull.includes(name)));
      return allowed.length ? [{ type, name, actions: allowed }] : [];
    });
    requests.push({ account, scopes, granted: access.length > 0 });
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(
      { alg: 'RS256', typ: 'JWT', x5c: [certificate.raw.toString('base64')] },
      { iss: issuer, sub: account ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access },
      key,
    );
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certificatePath,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function signJwt(header: object, claims: object, key: ReturnType<typeof createPrivateKey>): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key);
  return `${input}.${base64url(signature)}`;
}

/** A docker config.json with `auths` for `registry` (the base64 `auth` field, as docker login writes). */
export function writeDockerConfig(path: string, registry: string, user: string, password: string): void {
  writeFileSync(path, JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }));
}
