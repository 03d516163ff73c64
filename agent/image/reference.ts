/*
 * Image references: what `pull alpine` really names.
 *
 * A reference is `[registry/]repository[:tag][@digest]`. The registry is a host name, optionally
 * with a port (`127.0.0.1:5000`, `ghcr.io`); the repository is lowercase path components
 * (`library/nginx`, `team/app`); a tag is a movable label (`latest`, `1.27`) and a digest pins
 * exact content (`@sha256:…`). Docker shortens the common case, and every tool since has kept its
 * rules, so a learner's `alpine` means `docker.io/library/alpine:latest`:
 *   - the first component is a registry only if it has a `.` or a `:`, is `localhost`, or is not
 *     lowercase — otherwise the registry is Docker Hub (`docker.io`);
 *   - on Docker Hub a one-component repository lives under `library/` (the official images);
 *   - with neither tag nor digest the tag is `latest`; with a digest, the digest is what is fetched.
 * The canonical (fully spelled) form is what the image index stores, so `alpine` and
 * `docker.io/library/alpine:latest` are one image; the familiar form is what `images` shows.
 */
import { badInput, quote } from '../errors';
import { parseDigest } from './digest';
import type { Digest } from './digest';

export interface ImageReference {
  /** Host name and optional port; `docker.io` for Docker Hub. */
  registry: string;
  /** Path in the registry, e.g. `library/alpine`. */
  repository: string;
  /** The tag, when the reference names one (`latest` is filled in when it names neither). */
  tag: string | null;
  /** The digest, when the reference pins one: then it is what is fetched. */
  digest: Digest | null;
}

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's distribution API actually answers. */
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DEFAULT_TAG = 'latest';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const MAX_NAME_LENGTH = 255;

/** Parses a reference as Docker does; a one-line error names what is wrong with it. */
export function parseReference(text: string): ImageReference {
  if (typeof text !== 'string' || text === '') throw badInput('an image reference is needed, e.g. alpine or registry.example:5000/team/app:1.0');
  const bad = (why: string) => badInput(`invalid image reference ${quote(text)}: ${why}`);
  if (/\s/.test(text)) throw bad('it contains whitespace');

  let rest = text;
  let digest: Digest | null = null;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = parseDigest(rest.slice(at + 1), `the digest of ${quote(text)}`);
    rest = rest.slice(0, at);
  }

  // A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`tag ${quote(tag)}: use letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')`);
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      repository = rest.slice(slash + 1);
      validateRegistry(registry, bad);
    }
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;
  if (repository === '') throw bad('the repository name is empty');
  if (repository !== repository.toLowerCase()) throw bad('the repository name must be lowercase');
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw bad(`${quote(component)} is not a valid path component (lowercase letters and digits, joined by '.', '_', '__' or '-')`);
    }
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (`${registry}/${repository}`.length > MAX_NAME_LENGTH) throw bad(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === null && digest === null) tag = DEFAULT_TAG;
  return { registry, repository, tag, digest };
}

function validateRegistry(registry: string, bad: (why: string) => Error): void {
  let host = registry;
  let port: string | null = null;
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(registry);
  if (bracketed) {
    port = bracketed[2] ?? null;
  } else {
    const colon = registry.lastIndexOf(':');
    if (colon !== -1) {
      host = registry.slice(0, colon);
      port = registry.slice(colon + 1);
    }
    if (host === '' || !host.split('.').every((label) => HOST_LABEL.test(label))) {
      throw bad(`registry host ${quote(host)} is not a host name`);
    }
  }
  if (port !== null && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw bad(`registry port ${quote(port)} is not a port number (1-65535)`);
  }
}

/** `docker.io/library/alpine` (no tag or digest): the repository's full name. */
export function repositoryName(reference: ImageReference): string {
  return `${reference.registry}/${reference.repository}`;
}

/** The canonical form: `docker.io/library/alpine:latest`, `host:5000/app@sha256:…`, or both. */
export function formatReference(reference: ImageReference): string {
  return `${repositoryName(reference)}${reference.tag !== null ? `:${reference.tag}` : ''}${reference.digest !== null ? `@${reference.digest}` : ''}`;
}

/** How Docker shows a name: `alpine:latest`, `user/app:1`, `ghcr.io/x/y:2` (Docker Hub's prefix dropped). */
export function familiarReference(reference: ImageReference): string {
  let name = repositoryName(reference);
  if (reference.registry === DOCKER_HUB) name = reference.repository.replace(/^library\//, '');
  return `${name}${reference.tag !== null ? `:${reference.tag}` : ''}${reference.digest !== null ? `@${reference.digest}` : ''}`;
}

/** What a manifest is fetched by: the digest when pinned, otherwise the tag. */
export function manifestSelector(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? DEFAULT_TAG;
}

/** The host (and port) that serves the registry's HTTP API. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** The host part without the port, brackets removed (`[::1]:5000` → `::1`). */
export function registryHostname(registry: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(registry);
  if (bracketed) return bracketed[1]!;
  const colon = registry.lastIndexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}
