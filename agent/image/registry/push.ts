/*
 * Pushing an image to a registry: the distribution API's upload, the other half of a pull.
 *
 *   HEAD /v2/<repository>/blobs/<digest>                 present already? (then skip it)
 *   POST /v2/<repository>/blobs/uploads/                 202 and a Location: an upload session
 *   PUT  <Location>?digest=<digest>   (the whole blob)   201: the registry verified the digest
 *   PUT  /v2/<repository>/manifests/<tag>                the manifest last, so a name never
 *                                                        points at blobs the registry lacks
 * Layers and config go first, each as one monolithic PUT (the blobs of a lab's image are small).
 * The manifest is sent as the very bytes the content store holds: its digest at the registry is
 * the digest here. Only to registries on this machine (loopback, plain HTTP), with Basic
 * credentials given by the caller: the labs' own registry, which they start and fill.
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { badInput, LabError } from '../../errors';
import type { Digest } from '../digest';
import { formatReference, manifestSelector, parseReference } from '../reference';
import type { ImageRecord, ImageStore } from '../store';
import { isLoopbackHost } from './transport';

export interface PushCredentials {
  username: string;
  password: string;
}

interface Answer {
  status: number;
  location: string | null;
  digest: string | null;
  body: string;
}

function send(url: URL, method: string, headers: Record<string, string | number>, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, timeout: 30_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk.length < 4096 ? chunk : chunk.slice(0, 4096)));
      response.on('end', () => resolve({
        status: response.statusCode ?? 0,
        location: response.headers.location ?? null,
        digest: (response.headers['docker-content-digest'] as string | undefined) ?? null,
        body: text,
      }));
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${url.pathname}: no answer in 30 s`)));
    request.on('error', reject);
    if (body === undefined) request.end();
    else request.end(body);
  });
}

function sendFile(url: URL, headers: Record<string, string | number>, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'PUT', headers, timeout: 30_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, location: null, digest: null, body: '' }));
    });
    request.on('timeout', () => request.destroy(new Error(`PUT ${url.pathname}: no answer in 30 s`)));
    request.on('error', reject);
    createReadStream(path).on('error', reject).pipe(request);
  });
}

function refused(what: string, answer: Answer): LabError {
  const detail = answer.body.trim().split('\n')[0] ?? '';
  return badInput(`${what}: the registry answered ${answer.status}${detail ? ` ${detail}` : ''}`);
}

/**
 * Pushes the image `source` names in `store` to `target` (`127.0.0.1:PORT/repository:tag`);
 * resolves to the manifest digest the registry now serves for the tag.
 */
export async function pushImage(store: ImageStore, source: string, target: string, credentials: PushCredentials): Promise<Digest> {
  const record: ImageRecord = store.resolve(source);
  const reference = parseReference(target);
  const origin = new URL(`http://${reference.registry}`);
  if (!isLoopbackHost(origin.hostname)) throw badInput(`pushes go only to a registry on this machine (127.0.0.1), not ${reference.registry}`);
  const repository = reference.repository;
  const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const at = (path: string): URL => new URL(path, origin);

  const manifest = store.manifestOf(record);
  for (const blob of [...manifest.layers, manifest.config]) {
    const present = await send(at(`/v2/${repository}/blobs/${blob.digest}`), 'HEAD', { Authorization: authorization });
    if (present.status === 200) continue;
    const session = await send(at(`/v2/${repository}/blobs/uploads/`), 'POST', { Authorization: authorization, 'Content-Length': 0 });
    if (session.status !== 202 || !session.location) throw refused(`starting the upload of ${blob.digest} to ${repository}`, session);
    const upload = new URL(session.location, origin);
    upload.searchParams.set('digest', blob.digest);
    const put = await sendFile(upload, { Authorization: authorization, 'Content-Type': 'application/octet-stream', 'Content-Length': blob.size }, store.content.blobPath(blob.digest));
    if (put.status !== 201) throw refused(`uploading ${blob.digest} to ${repository}`, put);
  }
  const bytes = store.content.readSmall(record.manifest.digest, 4 * 1024 * 1024, `the manifest of ${source}`);
  const tagged = await send(at(`/v2/${repository}/manifests/${manifestSelector(reference)}`), 'PUT',
    { Authorization: authorization, 'Content-Type': record.manifest.mediaType, 'Content-Length': bytes.length }, bytes);
  if (tagged.status !== 201) throw refused(`putting the manifest of ${formatReference(reference)}`, tagged);
  return (tagged.digest ?? record.manifest.digest) as Digest;
}
