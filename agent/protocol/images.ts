/*
 * Images over the protocol: the JSON-RPC methods behind `pull`, `images`, `image inspect`, `rmi`,
 * `image prune` and `import`, and the notifications a pull sends while it runs.
 *
 * An image is a stack of layers (each a tar of the files one build step added, changed or
 * deleted) plus a config (what a container of it runs: Entrypoint, Cmd, Env, WorkingDir, User…).
 * The agent keeps them in its state root (agent/image/): blobs by sha256 digest, each layer
 * unpacked once into a directory that every container of every image using it stacks read-only
 * as one overlay lower dir. Digests are `sha256:` and 64 hex digits; the image ID is the config's
 * digest, as `docker images` shows it.
 *
 * `busybox` alone is the built-in offline image (made from the host's busybox-static); everything
 * here is about images pulled from a registry or imported from a file.
 */

/** One line of `images`: a name and the image it points at. */
export interface ImageListEntry {
  /** Canonical name: `docker.io/library/alpine:3.20`, `127.0.0.1:5000/lab/app@sha256:…`. */
  name: string;
  /** As Docker shows it: `alpine:3.20` (Docker Hub's prefix dropped). */
  familiarName: string;
  /** `alpine`, `127.0.0.1:5000/lab/app`: the REPOSITORY column. */
  repository: string;
  /** The TAG column; null when the name pins a digest only. */
  tag: string | null;
  /** What the name resolved to at the registry or in the archive (an index or a manifest): the DIGEST column. */
  digest: string;
  /** The config's digest: the IMAGE ID. */
  id: string;
  /** `linux/amd64`, `linux/arm64/v8`. */
  platform: string;
  /** Sum of the layer blobs as transferred (compressed). */
  size: number;
  /** The config's `created`, when it says. */
  created: string | null;
}

export interface ImageLayerInfo {
  /** Digest of the blob (compressed, as transferred). */
  digest: string;
  /** Digest of the uncompressed tar: names the unpacked directory. */
  diffId: string;
  size: number;
  mediaType: string;
  /** The build step that made it (history's created_by), when the image says. */
  createdBy: string | null;
  created: string | null;
  /** The directory the layer is unpacked in: an overlay lower dir of every container of the image. */
  directory: string;
  unpacked: boolean;
}

/** What a container of the image runs, as the image config says (Docker's field names). */
export interface ImageRunConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

/** `image inspect`: the image's config and its layers, base layer first (the manifest's order). */
export interface ImageDetails extends ImageListEntry {
  manifestDigest: string;
  /** Every name that points at the same image ID. */
  names: string[];
  architecture: string;
  os: string;
  author: string | null;
  config: ImageRunConfig;
  layers: ImageLayerInfo[];
  /** Names of the containers standing on this image's layers. */
  containers: string[];
}

export type ImageLayerState = 'waiting' | 'downloading' | 'downloaded' | 'present' | 'unpacking' | 'unpacked';

/** A pull's milestones and per-layer progress, as it happens. */
export type ImagePullEvent =
  | { type: 'resolved'; name: string; digest: string; mediaType: string }
  | { type: 'manifest'; digest: string; platform: string; layers: number; size: number }
  | { type: 'layer'; index: number; digest: string; state: ImageLayerState; bytes: number; total: number }
  | { type: 'done'; name: string; digest: string; id: string };

export interface ImagePullParams {
  /** `alpine`, `library/nginx:1.27`, `user/app@sha256:…`, `host:5000/repo:tag`. */
  reference: string;
  /** Registries (`HOST[:PORT]`) that may be reached over plain HTTP (loopback ones always may). */
  insecureRegistries?: string[];
  /** `linux/arm64`, `linux/amd64`: which manifest to take from an index (default: this machine's). */
  platform?: string;
}

export interface ImagePullResult {
  image: ImageListEntry;
  /** Per layer, base first: whether this pull transferred it (false: it was already here). */
  layers: { digest: string; diffId: string; size: number; fetched: boolean }[];
}

export interface ImagePruneResult {
  /** Blobs deleted (manifests, configs, compressed layers). */
  blobs: string[];
  /** Unpacked layer directories deleted. */
  layers: string[];
  bytesFreed: number;
}

export interface ImageMethods {
  /** Pulls and unpacks; the caller's connection gets `image.progress` notifications meanwhile. */
  'image.pull': [ImagePullParams, ImagePullResult];
  'image.list': [Record<string, never>, ImageListEntry[]];
  'image.inspect': [{ reference: string }, ImageDetails];
  /**
   * Drops a name (an ID drops all its names); layers stay until `image.prune` finds them unused.
   * `ifUnused`: refuse (one line naming them) while containers stand on the image, as VS Code's Remove Image does.
   */
  'image.remove': [{ reference: string; ifUnused?: boolean }, { removed: string[] }];
  /** Deletes the blobs and layers that no image, no pull under way and no container uses. */
  'image.prune': [Record<string, never>, ImagePruneResult];
  /** A `docker save` archive or an OCI layout (directory or tar) on the agent's machine; `name` names an unnamed image. */
  'image.import': [{ path: string; name?: string }, { images: ImageListEntry[] }];
}

export interface ImageNotifications {
  /** To the connection that asked for the pull only: `reference` as it asked. */
  'image.progress': { reference: string; event: ImagePullEvent };
  /** To every connection: names were added (pull, import) or removed (rmi, prune). */
  'image.changed': { names: string[]; removed: boolean };
}
