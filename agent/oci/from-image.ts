/*
 * From an image's config to a container's config.json: what `docker run IMAGE` adds to `run`.
 *
 * An image says what its containers run — its config's Entrypoint, Cmd, Env, WorkingDir, User,
 * Labels and ExposedPorts — and the command line may override some of it. The rules are
 * Docker's:
 *
 *   run IMAGE                    Entrypoint + Cmd
 *   run IMAGE -- ARGS…           Entrypoint + ARGS        (arguments replace Cmd only)
 *   run --entrypoint E IMAGE     E                        (a new entrypoint drops the image's Cmd too)
 *   run --entrypoint E IMAGE -- ARGS…   E + ARGS
 *   run --entrypoint '' IMAGE -- ARGS…  ARGS             (no entrypoint at all)
 *
 * and nothing at all to run is an error. The environment is the image's Env, with PATH (Docker's
 * default) and HOME (the user's passwd home) filled in when the image leaves them out, TERM with a
 * terminal, and the caller's -e entries replacing same-named ones. WorkingDir becomes
 * process.cwd (made if missing, as runc does). User — the image's, or `--user`, which here may be
 * a name too — is resolved through the image's own /etc/passwd and /etc/group (./image-user.ts).
 * Labels become annotations (never one of the agent's own lab.containers.* keys), and the
 * image's name, digest, ID and exposed ports are written down, so the document alone says which
 * image it was made from.
 *
 * Everything else — namespaces, mounts, limits, security, network — is `run`'s own document
 * (./from-run-options.ts): an image changes what runs, not how it is contained.
 */
import { posix } from 'node:path';
import { badInput, quote } from '../errors';
import { readFileInStack } from '../image/layer-files';
import type { ImageRunConfig, OciSpec, RunOptions } from '../protocol';
import { ANNOTATIONS } from '../protocol';
import type { ConfigDefaults } from './from-run-options';
import { configFromRunOptions, isHostname, namespacesFromConfig } from './from-run-options';
import { resolveImageUser, type ImageUser } from './image-user';

/** A pulled or imported image, ready to be stacked: what the runtime resolved `run IMAGE` to. */
export interface ImageForRun {
  /** Canonical name: `docker.io/library/alpine:3.20`. */
  name: string;
  /** As the user sees it: `alpine:3.20`. */
  familiarName: string;
  /** The digest the name resolved to, and the image ID (the config's digest). */
  digest: string;
  id: string;
  config: ImageRunConfig;
  /** The layer directories, top first (overlayfs's lowerdir order). */
  lower: string[];
}

/** Docker's PATH when an image sets none. */
export const IMAGE_DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ACCOUNT_FILE_BYTES = 4 * 1024 * 1024;
const OWN_ANNOTATION_PREFIX = 'lab.containers.';

/** The process an image's container runs: Docker's override table (see above). */
export function imageCommand(config: ImageRunConfig, options: Pick<RunOptions, 'entrypoint' | 'args'>, image: string): string[] {
  const entrypoint = options.entrypoint ?? config.Entrypoint ?? [];
  const cmd = options.args ?? (options.entrypoint !== undefined ? [] : config.Cmd ?? []);
  const command = [...entrypoint, ...cmd];
  if (command.length === 0) {
    throw badInput(`${image} has no Entrypoint or Cmd to run: give a command (containers-lab run ${image} -- CMD…)`);
  }
  return command;
}

/** The config.json for a container of `image`; `options` as for `run` (image, entrypoint and args as Docker reads them). */
export function configFromImage(options: RunOptions, image: ImageForRun, defaults: ConfigDefaults): OciSpec {
  const named = { [ANNOTATIONS.image]: image.familiarName, [ANNOTATIONS.imageDigest]: image.digest, [ANNOTATIONS.imageId]: image.id };
  if (options.config !== undefined) {
    // The caller's own document: only its root changes (to the image's layers), and it says which image.
    const spec = configFromRunOptions({ ...options, image: 'busybox' }, defaults);
    spec.annotations = { ...spec.annotations, ...named };
    return spec;
  }
  const config = image.config;
  const command = imageCommand(config, options, image.familiarName);
  const user = imageUser(options.user, config.User, image);
  const { entrypoint: _entrypoint, env: _env, ...rest } = options;
  const spec = configFromRunOptions({ ...rest, image: 'busybox', args: command, user: `${user.uid}:${user.gid}` }, defaults);
  const processSpec = spec.process!;
  processSpec.env = imageEnvironment(config.Env ?? [], options.env, user, options.tty === true);
  processSpec.cwd = workingDirectory(config.WorkingDir);
  if (user.additionalGids.length > 0) processSpec.user = { ...processSpec.user, additionalGids: user.additionalGids };

  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.Labels ?? {})) {
    if (!key.startsWith(OWN_ANNOTATION_PREFIX)) annotations[key] = value;
  }
  const exposed = Object.keys(config.ExposedPorts ?? {});
  spec.annotations = { ...annotations, ...spec.annotations, ...named, ...(exposed.length ? { [ANNOTATIONS.exposedPorts]: JSON.stringify(exposed) } : {}) };
  // `run` names an unnamed host "busybox"; a container of another image is named after that image.
  const name = options.name ?? defaults.name;
  if (options.hostname === undefined && spec.hostname !== undefined && !(name !== undefined && isHostname(name))) {
    spec.hostname = imageHostname(image.name);
  }
  return spec;
}

/** `--user` (a uid, uid:gid, or here a name too) or else the image's User, as numbers. */
function imageUser(requested: RunOptions['user'], imageUserText: string | undefined, image: ImageForRun): ImageUser {
  const spec = requested !== undefined ? String(requested) : imageUserText ?? '';
  return resolveImageUser(spec, accountFiles(image), image.familiarName);
}

/**
 * The image's /etc/passwd and /etc/group, read through its layers once per image: unpacked layers
 * never change, and reading them (each path resolved beneath every layer, symlinks followed
 * inside the stack) was the largest part of what `run IMAGE` costs beyond `run busybox`
 * (measured ~1.8 ms of ~3 ms with `npm run bench -- --only images`).
 */
const accountFilesByStack = new Map<string, { passwd: string | null; group: string | null }>();
const ACCOUNT_FILES_KEPT = 64;

function accountFiles(image: ImageForRun): { passwd: string | null; group: string | null } {
  const key = image.lower.join(':');
  const known = accountFilesByStack.get(key);
  if (known) return known;
  const stack = { lower: image.lower };
  const read = (path: string): string | null => readFileInStack(stack, path, ACCOUNT_FILE_BYTES)?.toString('utf8') ?? null;
  const files = { passwd: read('/etc/passwd'), group: read('/etc/group') };
  if (accountFilesByStack.size >= ACCOUNT_FILES_KEPT) accountFilesByStack.delete(accountFilesByStack.keys().next().value!);
  accountFilesByStack.set(key, files);
  return files;
}

/** The image's Env, defaults filled in, the caller's entries last (replacing same-named ones). */
export function imageEnvironment(imageEnv: readonly string[], callerEnv: RunOptions['env'], user: Pick<ImageUser, 'home'>, tty: boolean): string[] {
  if (callerEnv !== undefined && !Array.isArray(callerEnv)) throw badInput('invalid env: give a list of KEY=VALUE strings');
  const byKey = new Map<string, string>();
  const keyOf = (entry: string): string => entry.slice(0, entry.indexOf('='));
  for (const entry of imageEnv) {
    // An image's entry without "=" names no value: Docker passes it on, execve would too; a clean list skips it.
    if (entry.includes('=') && keyOf(entry) !== '') byKey.set(keyOf(entry), entry);
  }
  if (!byKey.has('PATH')) byKey.set('PATH', IMAGE_DEFAULT_PATH);
  if (!byKey.has('HOME')) byKey.set('HOME', `HOME=${user.home}`);
  if (tty && !byKey.has('TERM')) byKey.set('TERM', 'TERM=xterm');
  for (const entry of callerEnv ?? []) {
    if (typeof entry !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*=/.test(entry)) throw badInput(`invalid env entry ${quote(entry)}: use KEY=VALUE`);
    byKey.set(keyOf(entry), entry);
  }
  return [...byKey.values()];
}

/** The image's WorkingDir as an absolute, normalised path ("/" when it sets none). */
function workingDirectory(workingDir: string | undefined): string {
  if (!workingDir) return '/';
  if (workingDir.includes('\0')) throw badInput('the image\'s WorkingDir contains a NUL character');
  return posix.resolve('/', workingDir);
}

/** `docker.io/library/nginx:1.27` → `nginx`: the repository's last part, as a hostname label. */
function imageHostname(name: string): string {
  const repository = name.replace(/[@:][^/]*$/, '');
  const last = repository.slice(repository.lastIndexOf('/') + 1).replace(/[^a-zA-Z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return last && isHostname(last) ? last : 'container';
}

/**
 * What a pulled image's container cannot have, refused in one line before anything exists: no
 * mount namespace (the image is a root filesystem: it needs its own root). A user namespace is
 * fine: its layers are idmapped or shifted (../runtime/userns-layers.ts).
 */
export function checkImageNamespaces(spec: OciSpec, image: string): void {
  const namespaces = namespacesFromConfig(spec);
  if (!namespaces.includes('mnt')) throw badInput(`${image} is a root filesystem: its container needs a mount namespace of its own (add mnt to --ns)`);
}
