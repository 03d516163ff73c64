/*
 * Registry authentication: answering the registry's own challenge.
 *
 * A client does not decide how to log in; it asks, and a registry that wants credentials answers
 * 401 with a `WWW-Authenticate` header naming the scheme:
 *   - `Basic realm="…"` — send `Authorization: Basic base64(user:password)` with every request;
 *   - `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:pull"`
 *     — the token flow (Docker Hub, GHCR, Harbor…): GET the realm with `?service=…&scope=…`,
 *     with Basic credentials if there are any, or none at all for an anonymous pull (Docker Hub
 *     hands anonymous tokens for public images). The JSON answer's `token` (or `access_token`)
 *     then goes out as `Authorization: Bearer …` until `expires_in` seconds have passed.
 * A token is good for the scope it was asked for — pull on one repository — so tokens are kept
 * per scope. The token endpoint receives the password, so it must be HTTPS unless the registry
 * itself is allowed plain HTTP (loopback or --insecure-registry).
 */
import { LabError, badInput } from '../../errors';
import type { Credentials } from './credentials';
import { httpGet, readBody } from './transport';
import type { HttpResponse } from './transport';

export interface Challenge {
  scheme: string;
  parameters: Record<string, string>;
}

/** Parses `Bearer realm="x",service="y"` (one header value may hold several challenges). */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const challenges: Challenge[] = [];
  for (const value of values) {
    let current: Challenge | null = null;
    let at = 0;
    const skip = (characters: string) => {
      while (at < value.length && characters.includes(value[at]!)) at += 1;
    };
    while (at < value.length) {
      skip(' \t,');
      const start = at;
      while (at < value.length && !' \t,='.includes(value[at]!)) at += 1;
      const word = value.slice(start, at);
      if (word === '') break;
      skip(' \t');
      if (value[at] !== '=') {
        current = { scheme: word.toLowerCase(), parameters: {} };
        challenges.push(current);
        continue;
      }
      at += 1;
      skip(' \t');
      let text = '';
      if (value[at] === '"') {
        for (at += 1; at < value.length && value[at] !== '"'; at += 1) text += value[at] === '\\' ? value[++at] ?? '' : value[at];
        at += 1;
      } else {
        const valueStart = at;
        while (at < value.length && !' \t,'.includes(value[at]!)) at += 1;
        text = value.slice(valueStart, at);
      }
      if (current) current.parameters[word.toLowerCase()] = text;
    }
  }
  return challenges;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Tokens are refreshed this long before they expire, so a request never leaves with a stale one. */
const EXPIRY_MARGIN_MS = 10_000;
const TOKEN_RESPONSE_LIMIT = 1024 * 1024;

/** The authorization state for one registry: which scheme it asked for and the tokens it gave. */
export class RegistryAuthenticator {
  private basic = false;
  private bearer: Challenge | null = null;
  private readonly tokens = new Map<string, CachedToken>();
  private credentialsLoaded = false;
  private credentials: Credentials | null = null;

  constructor(
    readonly registry: string,
    private readonly loadCredentials: () => Credentials | null,
    private readonly plainHttpAllowed: (url: URL) => boolean,
    private readonly timeoutMs?: number,
  ) {}

  /** The Authorization header for `scope`, when the registry has asked for one before. */
  headerFor(scope: string): string | null {
    if (this.bearer) {
      const token = this.tokens.get(scope);
      return token && token.expiresAt > Date.now() ? token.header : null;
    }
    if (this.basic) {
      const credentials = this.getCredentials();
      return credentials ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : null;
    }
    return null;
  }

  /**
   * Reacts to a 401: learns the scheme from its challenge and, for Bearer, fetches a token.
   * Returns the header to retry with; throws a one-line error when there is nothing to retry with.
   */
  async answer(response: HttpResponse, scope: string): Promise<string> {
    const challenges = parseChallenges(response.headersDistinct['www-authenticate'] ?? []);
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer' && challenge.parameters.realm);
    if (bearer) {
      this.bearer = bearer;
      return this.fetchToken(bearer, scope);
    }
    if (challenges.some((challenge) => challenge.scheme === 'basic')) {
      this.basic = true;
      const header = this.headerFor(scope);
      if (header) return header;
      throw this.needsCredentials();
    }
    throw new LabError('permission', `${this.registry} refused the request (401) without saying how to authenticate`);
  }

  /** The error for a 401 that persists after answering the challenge. */
  refused(repository: string): LabError {
    const credentials = this.getCredentials();
    if (credentials) {
      return new LabError('permission', `${this.registry} refused the credentials of ${credentials.username} (from ${credentials.source}) for ${repository}`);
    }
    return new LabError('permission', `${this.registry} denied pull access to ${repository}: the repository does not exist or needs credentials (${this.loginHint()})`);
  }

  private async fetchToken(challenge: Challenge, scope: string): Promise<string> {
    const realm = new URL(challenge.parameters.realm!);
    const wanted = new Set([scope, ...(challenge.parameters.scope ? challenge.parameters.scope.split(' ') : [])]);
    if (challenge.parameters.service) realm.searchParams.set('service', challenge.parameters.service);
    for (const item of wanted) realm.searchParams.append('scope', item);
    const credentials = this.getCredentials();
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (credentials) {
      realm.searchParams.set('account', credentials.username);
      headers.Authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    if (realm.protocol === 'http:' && !this.plainHttpAllowed(realm)) {
      throw new LabError('permission', `${this.registry}'s token service ${realm.host} is plain HTTP: refused (credentials would travel unencrypted)`);
    }
    const response = await httpGet(realm, { headers, plainHttpAllowed: this.plainHttpAllowed, timeoutMs: this.timeoutMs });
    const body = await readBody(response, TOKEN_RESPONSE_LIMIT, `the token from ${realm.host}`);
    if (response.status === 401 || response.status === 403) {
      if (credentials) throw new LabError('permission', `${realm.host} refused the credentials of ${credentials.username} (from ${credentials.source})`);
      throw this.needsCredentials();
    }
    if (response.status !== 200) throw new LabError('unsupported', `the token service ${realm.host} answered ${response.status}`);
    let token: unknown;
    let expiresIn: unknown;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
      token = parsed.token ?? parsed.access_token;
      expiresIn = parsed.expires_in;
    } catch {
      throw badInput(`the token service ${realm.host} did not answer JSON`);
    }
    if (typeof token !== 'string' || token === '') throw badInput(`the token service ${realm.host} answered without a token`);
    // The spec's default lifetime is 60 s when expires_in is missing.
    const seconds = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 60;
    const header = `Bearer ${token}`;
    this.tokens.set(scope, { header, expiresAt: Date.now() + Math.max(seconds * 1000 - EXPIRY_MARGIN_MS, 1000) });
    return header;
  }

  private needsCredentials(): LabError {
    return new LabError('permission', `${this.registry} requires credentials and none are configured (${this.loginHint()})`);
  }

  private loginHint(): string {
    return `add them for ${this.registry} under "auths" in ~/.docker/config.json, as docker login does`;
  }

  private getCredentials(): Credentials | null {
    if (!this.credentialsLoaded) {
      this.credentials = this.loadCredentials();
      this.credentialsLoaded = true;
    }
    return this.credentials;
  }
}

export const USER_AGENT = 'containers-lab (+https://github.com/containers-lab)';
