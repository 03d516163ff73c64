/*
 * Leases: "I am about to use these blobs" — what keeps prune away from a pull under way.
 *
 * A pull fetches blobs and unpacks layers first and names the image last, so for a while its
 * blobs belong to no image, and a prune at that moment would see garbage and delete them under
 * the pull. containerd solves this with leases, and so does this store: before a pull (or an
 * import) fetches anything, it records the digests and layers it will use in
 * `<stateRoot>/images/leases/<pid>.<random>.json`, under the same lock prune holds while it
 * decides; prune keeps whatever a lease names. A lease ends when its pull ends; one left by a
 * process that no longer runs (killed mid-pull) protects nothing and is removed by the next prune.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Digest } from './digest';

export interface LeaseContents {
  blobs: Digest[];
  /** Diff IDs of layers being unpacked. */
  layers: Digest[];
}

export class Lease {
  private readonly contents: LeaseContents = { blobs: [], layers: [] };
  private readonly path: string;
  private ended = false;

  /** `withIndexLock` is the store's lock: the lease is written while prune cannot be deciding. */
  constructor(
    readonly directory: string,
    private readonly withIndexLock: <T>(body: () => Promise<T>) => Promise<T>,
  ) {
    this.path = join(directory, `${process.pid}.${randomBytes(4).toString('hex')}.json`);
  }

  /** Adds to what this lease protects (before fetching them). */
  async protect(blobs: readonly Digest[], layers: readonly Digest[] = []): Promise<void> {
    if (this.ended) throw new Error('lease already ended');
    this.contents.blobs.push(...blobs.filter((digest) => !this.contents.blobs.includes(digest)));
    this.contents.layers.push(...layers.filter((digest) => !this.contents.layers.includes(digest)));
    await this.withIndexLock(async () => {
      mkdirSync(this.directory, { recursive: true, mode: 0o700 });
      writeFileSync(`${this.path}.tmp`, JSON.stringify(this.contents));
      renameSync(`${this.path}.tmp`, this.path);
    });
  }

  end(): void {
    this.ended = true;
    rmSync(this.path, { force: true });
  }
}

/** Everything the leases of running processes protect; leases of dead processes are deleted. */
export function activeLeases(directory: string): LeaseContents {
  const all: LeaseContents = { blobs: [], layers: [] };
  if (!existsSync(directory)) return all;
  for (const name of readdirSync(directory)) {
    const pid = Number(name.split('.')[0]);
    const path = join(directory, name);
    if (!Number.isInteger(pid) || (pid !== process.pid && !existsSync(`/proc/${pid}`))) {
      rmSync(path, { force: true });
      continue;
    }
    if (!name.endsWith('.json')) continue;
    try {
      const lease = JSON.parse(readFileSync(path, 'utf8')) as Partial<LeaseContents>;
      all.blobs.push(...(lease.blobs ?? []));
      all.layers.push(...(lease.layers ?? []));
    } catch {
      // being rewritten: its .tmp sibling is renamed over it under the same lock prune holds
    }
  }
  return all;
}
