/*
 * A client for the OCI distribution API v2: the two GETs a pull needs.
 *
 *   GET /v2/<repository>/manifests/<tag or digest>   Accept: the manifest and index types
 *   GET /v2/<repository>/blobs/<digest>              (usually redirected to a CDN)
 *
 * A manifest is small and read whole; its digest is computed here from the exact bytes — when
 * fetched by digest it must equal the digest asked for, when fetched by tag it must equal the
 * `Docker-Content-Digest` the registry claims, if it claims one. A blob is handed on as a stream
 * for the content store to verify while writing. Each request first goes out without
 * credentials (or with the token of an earlier challenge); a 401 is answered once through the
 * registry's own challenge (./auth.ts) and the request retried.
 */
import type { Readable } from 'node:stream';
import { LabError, badInput } from '../../errors';
import { digestOf, isDigest, shortDigest } from '../digest';
import type { Digest } from '../digest';
import { MANIFEST_ACCEPT } from '../media-types';
import { MAX_DOCUMENT_BYTES } from '../manifest';
import type { Descriptor } from '../manifest';
import { formatReference, repositoryName } from '../reference';
import type { ImageReference } from '../reference';
import { RegistryAuthenticator, USER_AGENT } from './auth';
import { credentialsFor, dockerConfigPath } from './credentials';
import { registryFailure } from './errors';
import { endpointFor, httpGet, isLoopbackHost, readBody } from './transport';
import type { HttpResponse, RegistryEndpoint } from './transport';

export interface RegistryClientOptions {
  /** Registries (`HOST[:PORT]`) that may be reached over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** The docker config to read credentials from (default: $DOCKER_CONFIG or ~/.docker/config.json). */
  dockerConfig?: string;
  /** Idle timeout per request, in ms. */
  timeoutMs?: number;
}

export interface FetchedManifest {
  bytes: Buffer;
  digest: Digest;
  /** The registry's Content-Type (the document's own mediaType field is the authority). */
  contentType: string | null;
}

export interface BlobStream {
  stream: Readable;
  /** Content-Length when the server sent one. */
  size: number | null;
}

export class RegistryClient {
  private readonly authenticators = new Map<string, RegistryAuthenticator>();

  constructor(private readonly options: RegistryClientOptions = {}) {}

  endpoint(registry: string): RegistryEndpoint {
    return endpointFor(registry, this.options.insecureRegistries ?? []);
  }

  /** The manifest or index `selector` (a tag or a digest) names in `reference`'s repository. */
  async fetchManifest(reference: ImageReference, selector: string): Promise<FetchedManifest> {
    const what = selector.startsWith('sha256:') ? `${repositoryName(reference)}@${selector}` : formatReference({ ...reference, digest: null, tag: selector });
    const response = await this.get(reference, `manifests/${selector}`, { Accept: MANIFEST_ACCEPT }, what);
    const bytes = await readBody(response, MAX_DOCUMENT_BYTES, `the manifest of ${what}`);
    const digest = digestOf(bytes);
    if (isDigest(selector) && digest !== selector) {
      throw badInput(`${what}: the registry sent a manifest whose digest is ${shortDigest(digest)}…, not the one asked for`);
    }
    const claimed = response.headers['docker-content-digest'];
    if (typeof claimed === 'string' && isDigest(claimed) && claimed !== digest) {
      throw badInput(`${what}: the registry claims digest ${shortDigest(claimed)}… but sent bytes with digest ${shortDigest(digest)}…`);
    }
    const contentType = typeof response.headers['content-type'] === 'string' ? response.headers['content-type'] : null;
    return { bytes, digest, contentType };
  }

  /** The blob `descriptor` names, as a stream; its length is checked against the descriptor first. */
  async openBlob(reference: ImageReference, descriptor: Descriptor, what: string): Promise<BlobStream> {
    const response = await this.get(reference, `blobs/${descriptor.digest}`, { Accept: '*/*' }, what);
    const length = response.headers['content-length'] !== undefined ? Number(response.headers['content-length']) : null;
    if (length !== null && Number.isFinite(length) && length !== descriptor.size) {
      response.body.destroy();
      throw badInput(`${what}: the registry offers ${length} bytes but the manifest says ${descriptor.size}: refused, nothing kept`);
    }
    return { stream: response.body, size: length };
  }

  /** A GET under /v2/<repository>/, answering one auth challenge; a non-2xx answer becomes a one-line error. */
  private async get(reference: ImageReference, path: string, headers: Record<string, string>, what: string): Promise<HttpResponse> {
    const endpoint = this.endpoint(reference.registry);
    const url = new URL(`${endpoint.origin}/v2/${reference.repository}/${path}`);
    const scope = `repository:${reference.repository}:pull`;
    const authenticator = this.authenticatorFor(endpoint);
    const request = (authorization: string | null) =>
      httpGet(url, {
        headers: { ...headers, 'User-Agent': USER_AGENT, ...(authorization ? { Authorization: authorization } : {}) },
        plainHttpAllowed: (target) => this.plainHttpAllowed(endpoint, target),
        timeoutMs: this.options.timeoutMs,
      });

    let response = await request(authenticator.headerFor(scope));
    if (response.status === 401) {
      response.body.resume();
      response = await request(await authenticator.answer(response, scope));
      if (response.status === 401) {
        response.body.resume();
        throw authenticator.refused(repositoryName(reference));
      }
    }
    if (response.status >= 200 && response.status < 300) return response;
    const body = await readBody(response, 64 * 1024, `the error from ${endpoint.registry}`).catch(() => Buffer.alloc(0));
    if (response.status === 403 && body.length === 0) {
      throw new LabError('permission', `${what}: ${endpoint.registry} forbids it (403)`);
    }
    throw registryFailure(what, response.status, body);
  }

  private plainHttpAllowed(endpoint: RegistryEndpoint, target: URL): boolean {
    // The registry's own host when it is allowed HTTP; any loopback host (a local token server).
    return (endpoint.plainHttpAllowed && target.host === new URL(endpoint.origin).host) || isLoopbackHost(target.hostname)
      || (this.options.insecureRegistries ?? []).some((name) => name === target.host || name === target.hostname);
  }

  private authenticatorFor(endpoint: RegistryEndpoint): RegistryAuthenticator {
    let authenticator = this.authenticators.get(endpoint.registry);
    if (!authenticator) {
      const configPath = this.options.dockerConfig ?? dockerConfigPath();
      authenticator = new RegistryAuthenticator(
        endpoint.registry,
        () => credentialsFor(endpoint.registry, configPath),
        (target) => this.plainHttpAllowed(endpoint, target),
        this.options.timeoutMs,
      );
      this.authenticators.set(endpoint.registry, authenticator);
    }
    return authenticator;
  }
}
