/*
 * What a registry says when it says no.
 *
 * The distribution spec gives every failure a JSON body `{"errors": [{"code", "message",
 * "detail"}]}` with codes such as MANIFEST_UNKNOWN (no such tag or digest), NAME_UNKNOWN (no
 * such repository), BLOB_UNKNOWN, UNAUTHORIZED, DENIED and TOOMANYREQUESTS (Docker Hub's pull
 * rate limit). Those codes, not the HTTP status alone, tell the user what to change, so the
 * message is built from them: "docker.io/library/alpine:nope: manifest unknown (no such tag…)".
 */
import { LabError } from '../../errors';
import type { LabErrorKind } from '../../errors';

const EXPLANATIONS: Record<string, { kind: LabErrorKind; hint: string }> = {
  MANIFEST_UNKNOWN: { kind: 'not-found', hint: 'no such tag or digest in the repository' },
  NAME_UNKNOWN: { kind: 'not-found', hint: 'no such repository on the registry' },
  BLOB_UNKNOWN: { kind: 'not-found', hint: 'the registry lacks a blob its own manifest names' },
  NAME_INVALID: { kind: 'bad-input', hint: 'the registry refuses the repository name' },
  TAG_INVALID: { kind: 'bad-input', hint: 'the registry refuses the tag' },
  DIGEST_INVALID: { kind: 'bad-input', hint: 'the registry refuses the digest' },
  UNAUTHORIZED: { kind: 'permission', hint: 'authentication required' },
  DENIED: { kind: 'permission', hint: 'access denied' },
  UNSUPPORTED: { kind: 'unsupported', hint: 'the registry does not support this request' },
  TOOMANYREQUESTS: { kind: 'unsupported', hint: "too many requests: the registry's rate limit (Docker Hub limits anonymous pulls); wait or log in" },
};

/** The registry's own error codes and messages from a failure body, if it sent any. */
export function registryErrors(body: Buffer): { code: string; message: string }[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors
      .filter((item): item is { code?: unknown; message?: unknown } => typeof item === 'object' && item !== null)
      .map((item) => ({ code: typeof item.code === 'string' ? item.code : '', message: typeof item.message === 'string' ? item.message : '' }));
  } catch {
    return [];
  }
}

/** One line for a failed request on `what` (a reference, a blob), from the status and the body. */
export function registryFailure(what: string, status: number, body: Buffer): LabError {
  const [first] = registryErrors(body);
  const known = first ? EXPLANATIONS[first.code] : undefined;
  if (first && known) {
    const said = first.message && first.message.toLowerCase() !== known.hint ? `${first.message.split('\n')[0]!.slice(0, 120)} — ` : '';
    return new LabError(known.kind, `${what}: ${said}${known.hint}`);
  }
  const statusKind: LabErrorKind = status === 404 ? 'not-found' : status === 401 || status === 403 ? 'permission' : 'unsupported';
  const said = first?.message ? `: ${first.message.split('\n')[0]!.slice(0, 120)}` : '';
  const name = status === 404 ? 'not found' : status === 429 ? 'too many requests (rate limit)' : `HTTP ${status}`;
  return new LabError(statusKind, `${what}: the registry answered ${name}${said}`);
}
