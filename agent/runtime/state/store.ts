/*
 * Where containers are remembered: one directory per container under the state root
 * (/var/lib/containers-lab/containers/<id>, or CONTAINERS_LAB_ROOT), holding state.json (this
 * record), config.json (the OCI document it was made from), its overlay's upper/work dirs and
 * its log. Writes go to a temporary file renamed into place, so a crash never leaves half a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupRecord, ContainerStatus, NamespaceType, NetworkRecord, OciSpec, RootfsRecord } from '../../protocol';

export interface ContainerState {
  id: string;
  name: string;
  status: ContainerStatus;
  pid: number | null;
  /** Start time of `pid` (field 22 of /proc/<pid>/stat): tells our process from a recycled PID. */
  pidStartTime: string | null;
  exitCode: number | null;
  oomKilled: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  image: string;
  hostname: string | null;
  /** Namespaces the container owns; the others it shares with the host. */
  namespaces: NamespaceType[];
  rootfs: RootfsRecord | null;
  cgroup: CgroupRecord | null;
  network: NetworkRecord;
  logPath: string;
  /** Exit code of the init step, once it ran. */
  initExitCode?: number;
}

export const DEFAULT_STATE_ROOT = '/var/lib/containers-lab';

export function stateRootFromEnv(): string {
  return process.env.CONTAINERS_LAB_ROOT || DEFAULT_STATE_ROOT;
}

export class StateStore {
  readonly containersDir: string;

  /** Directories of removed containers whose deletion is still under way (see discard). */
  readonly discardedDir: string;
  private pendingDeletions = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(readonly root: string) {
    this.containersDir = join(root, 'containers');
    this.discardedDir = join(root, 'discarded');
    mkdirSync(this.containersDir, { recursive: true, mode: 0o700 });
  }

  directory(id: string): string {
    return join(this.containersDir, id);
  }

  create(state: ContainerState, config: OciSpec): void {
    mkdirSync(this.directory(state.id), { mode: 0o700 });
    this.saveConfig(state.id, config);
    this.save(state);
  }

  /** config.json, written at create (a claimed warm-pool sandbox's: see replaceConfigWhileCreating). */
  saveConfig(id: string, config: OciSpec): void {
    writeAtomically(join(this.directory(id), 'config.json'), JSON.stringify(config, null, 2));
  }

  /**
   * Replaces config.json of a record whose state.json still says "creating" (a warm-pool
   * sandbox being claimed) by deleting it and writing a new file — not atomically.
   *
   * Why not the temporary file and rename: on ext4 (auto_da_alloc, the default) a rename over
   * an existing file makes the kernel start writing the new file's data to disk right there,
   * ~0.1–0.3 ms on the `run` path; a newly created file is left to ordinary writeback.
   * Why it is safe: nothing reads config.json of a "creating" record. Should the agent die
   * while config.json is missing or half-written, the next agent's reconcile deletes the
   * record (cgroup, mounts, directory) without reading it. The caller must write state.json
   * with any other status only after this returns.
   */
  replaceConfigWhileCreating(id: string, config: OciSpec): void {
    const path = join(this.directory(id), 'config.json');
    unlinkSync(path);
    writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600, flag: 'wx' });
  }

  save(state: ContainerState): void {
    writeAtomically(join(this.directory(state.id), 'state.json'), JSON.stringify(state, null, 2));
  }

  load(id: string): ContainerState | null {
    try {
      return JSON.parse(readFileSync(join(this.directory(id), 'state.json'), 'utf8')) as ContainerState;
    } catch {
      return null;
    }
  }

  config(id: string): OciSpec {
    return JSON.parse(readFileSync(join(this.directory(id), 'config.json'), 'utf8')) as OciSpec;
  }

  ids(): string[] {
    return existsSync(this.containersDir) ? readdirSync(this.containersDir).filter((entry) => /^[0-9a-f]{12,64}$/.test(entry)) : [];
  }

  remove(id: string): void {
    rmSync(this.directory(id), { recursive: true, force: true });
  }

  /**
   * Removes a container's directory from the store at once and frees its bytes in the background.
   *
   * Deleting a container's directory — the overlay's upper and work trees, the log — takes a
   * millisecond or more of unlink(2)/rmdir(2) calls; renaming it is one system call. So it is
   * renamed into discarded/ (on the same filesystem, so rename cannot fail with EXDEV) and
   * deleted from there by libuv's thread pool. When this returns the container is gone from the
   * store (no id, no record); should the agent die before the deletion ends, the next agent
   * empties discarded/ when it opens the store (see emptyDiscarded).
   */
  discard(id: string): void {
    const target = join(this.discardedDir, `${id}-${process.pid}-${Date.now()}`);
    try {
      mkdirSync(this.discardedDir, { recursive: true, mode: 0o700 });
      renameSync(this.directory(id), target);
    } catch {
      // missing already, or cannot be moved: delete in place
      this.remove(id);
      return;
    }
    this.pendingDeletions += 1;
    rm(target, { recursive: true, force: true })
      .catch(() => undefined)
      .finally(() => {
        this.pendingDeletions -= 1;
        if (this.pendingDeletions === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  /** Resolves once every discarded directory has been deleted. */
  deletionsSettled(): Promise<void> {
    return this.pendingDeletions === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deletes what a previous agent discarded but did not get to delete (synchronously, at open). */
  emptyDiscarded(): void {
    rmSync(this.discardedDir, { recursive: true, force: true });
  }
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
}
