/*
 * HTTP for registries: HTTPS by default, redirects followed, failures in one line.
 *
 * The distribution API is plain HTTP GETs under `/v2/`, so node's own http/https clients are
 * enough. Three rules keep it safe:
 *   - HTTPS unless the registry is on this machine (127.0.0.0/8, ::1, localhost) or the user named
 *     it with --insecure-registry: a registry reached over plain HTTP can be impersonated by
 *     anyone on the path (the digests still protect the *content*, but not the tag → digest answer
 *     nor the credentials sent along);
 *   - redirects (a blob request is usually answered 307 → a CDN or an S3 URL) are followed a few
 *     times, never from HTTPS down to plain HTTP on another host, and the Authorization header is
 *     not carried to another host — a signed CDN URL needs none and must not see the token;
 *   - a silent server times out instead of hanging a pull forever.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { LabError, badInput } from '../../errors';
import { registryApiHost, registryHostname } from '../reference';

export interface RegistryEndpoint {
  /** The registry as the reference names it (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  origin: string;
  /** Whether plain HTTP is allowed for this registry (loopback or named insecure). */
  plainHttpAllowed: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Each header's values, unjoined (a registry may send WWW-Authenticate twice). */
  headersDistinct: NodeJS.Dict<string[]>;
  body: IncomingMessage;
  /** Where the answer finally came from (after redirects). */
  url: URL;
}

const MAX_REDIRECTS = 5;
export const DEFAULT_TIMEOUT_MS = 30_000;

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** Where `registry`'s API answers and over which scheme. `insecure` lists `HOST[:PORT]` names. */
export function endpointFor(registry: string, insecure: readonly string[] = []): RegistryEndpoint {
  const apiHost = registryApiHost(registry);
  const hostname = registryHostname(apiHost);
  const plainHttpAllowed = isLoopbackHost(hostname) || insecure.some((name) => name === registry || name === apiHost || name === hostname);
  return { registry, origin: `${plainHttpAllowed ? 'http' : 'https'}://${apiHost}`, plainHttpAllowed };
}

export interface GetOptions {
  headers: Record<string, string>;
  /** May this URL be fetched over plain HTTP? (Called for every hop.) */
  plainHttpAllowed: (url: URL) => boolean;
  timeoutMs?: number;
}

/** GETs `url`, following redirects; the body is left unread for the caller. */
export async function httpGet(url: URL, options: GetOptions): Promise<HttpResponse> {
  let current = url;
  let headers = { ...options.headers };
  for (let hop = 0; ; hop += 1) {
    if (current.protocol === 'http:' && !options.plainHttpAllowed(current)) {
      throw new LabError('permission', `refusing plain HTTP to ${current.host}: only loopback registries, or those named with --insecure-registry, are reached without TLS`);
    }
    if (current.protocol !== 'http:' && current.protocol !== 'https:') throw badInput(`cannot fetch ${current.protocol} URLs (from ${url.host})`);
    const response = await requestOnce(current, headers, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const location = response.headers.location;
    if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response;
    response.body.resume(); // drain: the socket can then serve the next request
    if (hop >= MAX_REDIRECTS) throw new LabError('unsupported', `${url.host} redirected more than ${MAX_REDIRECTS} times`);
    const next = new URL(location, current);
    if (next.origin !== current.origin) {
      // Credentials were for the registry; a CDN URL carries its own signature.
      headers = { ...headers };
      delete headers.Authorization;
    }
    current = next;
  }
}

function requestOnce(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<HttpResponse> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers }, (body) => {
      // The idle timeout keeps guarding the body while it streams: a server that stops sending
      // mid-layer fails the transfer instead of hanging the pull.
      body.setTimeout(timeoutMs, () => body.destroy(new Error(`no data from ${url.host} for ${timeoutMs / 1000} s`)));
      resolve({ status: body.statusCode ?? 0, headers: body.headers, headersDistinct: body.headersDistinct, body, url });
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer from ${url.host} within ${timeoutMs / 1000} s`)));
    request.on('error', (error) => reject(connectionError(url, error)));
  });
}

/** "cannot reach HOST: connection refused" and the like: the one line a user can act on. */
export function connectionError(url: URL, error: Error): LabError {
  const code = (error as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the registry running on that port?)',
    ENOTFOUND: 'no such host (DNS)',
    EAI_AGAIN: 'the host name could not be resolved (DNS, offline?)',
    ECONNRESET: 'the connection was reset',
    ETIMEDOUT: 'the connection timed out',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'the network is unreachable',
    EPROTO: 'the server does not speak TLS here (a plain HTTP registry? name it with --insecure-registry)',
  };
  if (code && why[code]) return new LabError('unsupported', `cannot reach ${url.host}: ${why[code]}`);
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new LabError('permission', `cannot reach ${url.host}: its TLS certificate is not trusted (${code})`);
  }
  return new LabError('unsupported', `cannot reach ${url.host}: ${error.message.split('\n')[0]}`);
}

/** Reads a whole (small) body; refused beyond `limit` bytes without holding more. */
export async function readBody(response: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    response.body.destroy();
    throw badInput(`${what} is ${declared} bytes: more than the ${limit} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        response.body.destroy();
        throw badInput(`${what} is more than the ${limit} bytes allowed`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof LabError) throw error;
    throw connectionError(response.url, error as Error);
  }
  return Buffer.concat(chunks);
}
