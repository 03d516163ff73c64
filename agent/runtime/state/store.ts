/*
 * Where containers are remembered: one directory per container under the state root
 * (/var/lib/containers-lab/containers/<id>, or CONTAINERS_LAB_ROOT), holding state.json (this
 * record), config.json (the OCI document it was made from), its overlay's upper/work dirs and
 * its log. Writes never leave half a file under a record's name (see save and writeAtomically),
 * not even after a power loss: every record and config.json reaches the disk (fsync) before it
 * takes its name, and the directory after (see ./durable.ts). A record that is unreadable all
 * the same (a disk that lied, a hand that edited it) is rebuilt from config.json and the kernel
 * at start-up (./recover.ts).
 */
import { closeSync, constants, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { rm, unlink } from '../../lazy-builtins';
import { dirname, join } from 'node:path';
import { hasErrno } from '../../kernel/errors';
import { exchangePaths } from '../../kernel/files';
import { syncDirectory, writeAllAtomically, writeAtomically, writeSyncAndClose } from '../../kernel/durable-files';
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

/** Saves made fast ahead of time per container: `run` saves twice (running, then stopped). */
const PREMADE_SAVES = 2;

export function stateRootFromEnv(): string {
  return process.env.CONTAINERS_LAB_ROOT || DEFAULT_STATE_ROOT;
}

export class StateStore {
  readonly containersDir: string;

  /** Directories of removed containers whose deletion is still under way (see discard). */
  readonly discardedDir: string;
  private pendingDeletions = 0;
  /** Per container id: empty files this agent made for its coming saves (see save). */
  private readonly premade = new Map<string, string[]>();
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    readonly root: string,
    /** How many empty files create makes for the saves that follow (see save). */
    private readonly premadeSaves = PREMADE_SAVES,
    /**
     * Whether records survive a power loss (see save). false for containers-lab-runc's --root
     * (../../runc/root.ts): its containers are processes, gone at a reboot with nothing to
     * recover, as runc's state.json under /run/runc is written without a sync.
     */
    private readonly durable = true,
  ) {
    this.containersDir = join(root, 'containers');
    this.discardedDir = join(root, 'discarded');
    mkdirSync(this.containersDir, { recursive: true, mode: 0o700 });
  }

  directory(id: string): string {
    return join(this.containersDir, id);
  }

  create(state: ContainerState, config: OciSpec): void {
    const directory = this.directory(state.id);
    mkdirSync(directory, { mode: 0o700 });
    // Both files, then one sync of the directory for the two names (see save for why each is durable).
    writeAllAtomically([
      { path: join(directory, 'config.json'), text: JSON.stringify(config, null, 2) },
      { path: join(directory, 'state.json'), text: JSON.stringify(state, null, 2) },
    ], 0o600, this.durable);
    // Empty files for the next saves, made now (see save): creating a file is the costly part
    // of a save, and create runs ahead of time for a warm-pool sandbox, while `run`'s start and
    // the exit that follows each save once.
    const premade = Array.from({ length: this.premadeSaves }, (_, index) => join(directory, `state.json.next-${process.pid}-${index}`));
    for (const path of premade) writeFileSync(path, '', { mode: 0o600, flag: 'wx' });
    this.premade.set(state.id, premade);
  }

  /**
   * Replaces config.json of a record whose state.json still says "creating" (a warm-pool
   * sandbox being claimed) by rewriting the file in place — not atomically.
   *
   * Why not a temporary file and rename: on ext4 (auto_da_alloc, the default) a rename over an
   * existing file makes the kernel start writing the new file's data to disk right there, and
   * creating a file (a new inode) costs more still — together ~0.5–1 ms on the `run` path;
   * writing over the existing file's bytes costs neither.
   * Why it is safe: nothing reads config.json of a "creating" record. Should the agent die
   * while config.json is half-written, the next agent's reconcile deletes the record (cgroup,
   * mounts, directory) without reading it. The caller must write state.json with any other
   * status only after this returns. The bytes reach the disk (fdatasync) before it returns: the
   * state.json that follows is durable, and a record that outlives a power loss must find the
   * config.json it was made from (the one thing ./recover.ts needs when the record is lost).
   */
  replaceConfigWhileCreating(id: string, config: OciSpec): void {
    overwrite(join(this.directory(id), 'config.json'), JSON.stringify(config, null, 2));
  }

  /**
   * Writes state.json so that a reader (or the next agent, after a crash) finds the old record
   * or the new one, whole. The new record goes into a new file, which then takes state.json's
   * place; a file once named state.json is never written again, so a reader that opened it
   * just before reads it to the end unchanged.
   *
   * With a premade empty file (see create) the new record is written into it and the two
   * names trade places in one renameat2(RENAME_EXCHANGE); the old record, now under the
   * premade name, is unlinked in the background (freeing an inode can wait on the filesystem's
   * journal; if the agent dies first, the file goes with the directory at rm). Nothing is
   * created and nothing renamed over an existing file — the two costly steps of a temporary
   * file renamed into place on ext4 (see replaceConfigWhileCreating) — so such a save costs
   * tens of microseconds instead of ~0.5–1.5 ms. Without a premade file (more saves than were
   * premade, or a record an earlier agent made) it is the temporary file renamed into place.
   *
   * Durability: every save makes a record or records a status change (creating, created,
   * running, paused, stopped, the init step's end), and each is one the next agent must find
   * after a power loss, so each is durable: the new file is fsync'd before it takes state.json's
   * name and the directory after (see ./durable.ts). The cost, measured with `npm run bench --
   * --only lifecycle` (run = claim + running + stopped, 3 syncs of a file and 2 of the directory):
   * 9.1–9.4 ms → 10.4–11.3 ms median per container life, 0.29–0.30× → 0.35× crun.
   */
  save(state: ContainerState): void {
    const path = join(this.directory(state.id), 'state.json');
    const text = JSON.stringify(state, null, 2);
    const next = this.premade.get(state.id)?.shift();
    if (next === undefined || !writeIntoPremade(next, text, this.durable)) {
      writeAtomically(path, text, 0o600, this.durable);
      return;
    }
    try {
      exchangePaths(next, path);
    } catch (error) {
      // No state.json yet, or a filesystem without exchange: rename into place.
      if (!hasErrno(error, 'ENOENT') && !hasErrno(error, 'EINVAL')) throw error;
      renameSync(next, path);
      if (this.durable) syncDirectory(dirname(path));
      return;
    }
    if (this.durable) syncDirectory(dirname(path));
    this.inBackground(unlink(next));
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
    this.premade.delete(id);
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
   * empties discarded/ when it opens the store (see emptyDiscarded). The deletion starts once
   * `after` has settled (the release of the container's mount namespace, whose overlay used it).
   */
  discard(id: string, after: Promise<void> = Promise.resolve()): void {
    this.premade.delete(id);
    const target = join(this.discardedDir, `${id}-${process.pid}-${Date.now()}`);
    try {
      mkdirSync(this.discardedDir, { recursive: true, mode: 0o700 });
      renameSync(this.directory(id), target);
    } catch {
      // missing already, or cannot be moved: delete in place
      this.remove(id);
      return;
    }
    this.inBackground(after.then(() => rm(target, { recursive: true, force: true })));
  }

  /** Counts a deletion running in libuv's thread pool until it ends (see deletionsSettled). */
  private inBackground(deletion: Promise<void>): void {
    this.pendingDeletions += 1;
    deletion
      .catch(() => undefined)
      .finally(() => {
        this.pendingDeletions -= 1;
        if (this.pendingDeletions === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  /** Resolves once every discarded directory and replaced record has been deleted. */
  deletionsSettled(): Promise<void> {
    return this.pendingDeletions === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deletes what a previous agent discarded but did not get to delete (synchronously, at open). */
  emptyDiscarded(): void {
    rmSync(this.discardedDir, { recursive: true, force: true });
  }
}

/**
 * Writes `text` over the file's bytes from the start and cuts what is left beyond it. No O_TRUNC: truncating a file to zero marks it, on ext4, for a
 * flush to disk when it is closed (auto_da_alloc); a cut to a shorter non-empty length does not.
 * fdatasync: the bytes and the length reach the disk before this returns (not the times).
 */
function overwrite(path: string, text: string): void {
  const bytes = Buffer.from(text);
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, bytes.length);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes into a premade empty file (no O_CREAT, no O_TRUNC) and syncs it (if durable); false if it is not there any more. */
function writeIntoPremade(path: string, text: string, durable: boolean): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return false;
    throw error;
  }
  writeSyncAndClose(fd, text, durable);
  return true;
}
