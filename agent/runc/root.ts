/*
 * The state directory under `--root`: what a runc-compatible runtime remembers between its
 * one-shot invocations. There is no daemon: `create`, `start`, `state`, `kill`, `delete` are each
 * a new process, so everything one of them learns must be on disk for the next.
 *
 *   <root>/containers/<id>/state.json   the runtime's container record (../runtime/state/store.ts)
 *   <root>/containers/<id>/config.json  the bundle's config.json as realised (root.path absolute)
 *   <root>/containers/<id>/runc.json    what only this command line needs: the bundle, creation time
 *   <root>/containers/<id>/exec.fifo    present from create until start (see ./fifo.ts)
 *   <root>/locks/<id>                   flock(2)ed by whoever acts on the id
 *
 * The status is not stored but observed, as runc does: the first process gone (or its PID
 * reused) is "stopped"; alive with the exec FIFO still there is "created"; a frozen cgroup is
 * "paused"; otherwise "running".
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { closeFd, duplicateFdAtOrAbove, openFile } from '../kernel/files';
import { HELD_FD_MINIMUM } from '../runtime/process/mount-namespace-hold';
import { O_CREAT, O_RDWR } from '../kernel/constants';
import { tryLockExclusive } from '../kernel/file-locks';
import { writeAtomically } from '../kernel/durable-files';
import type { OciSpec } from '../protocol';
import { openCgroupHost, type Cgroup, type CgroupHost } from '../runtime/cgroups';
import type { RuntimeContext } from '../runtime/lifecycle/context';
import { defaultBridgeFromEnv } from '../runtime/network/default-bridge';
import { MountNamespaceHolds } from '../runtime/process/mount-namespace-hold';
import { isSameProcessAlive } from '../runtime/process/exit-watcher';
import { StateStore, type ContainerState } from '../runtime/state/store';
import { RuncError } from './errors';

export const DEFAULT_ROOT = '/run/containers-lab-runc';

/** runc's own rule for ids: letters, digits, _ + - . and not "." or "..". */
const ID_PATTERN = /^[\w+.-]{1,1024}$/;

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuncMeta {
  bundle: string;
  created: string;
  owner: string;
}

export interface RuncContainer {
  id: string;
  state: ContainerState;
  spec: OciSpec;
  meta: RuncMeta;
  status: RuncStatus;
  directory: string;
}

export class RuncRoot {
  readonly context: RuntimeContext;
  private readonly locks = new Map<string, number>();

  constructor(readonly path: string) {
    mkdirSync(join(path, 'locks'), { recursive: true, mode: 0o700 });
    // Not durable (no fsync): like runc's, this state describes processes a reboot ends; under /run it is on tmpfs anyway.
    const store = new StateStore(path, 1, false);
    const root = this;
    this.context = {
      stateRoot: path, store, defaultBridge: defaultBridgeFromEnv(), waiting: new Map(),
      mountNamespaces: new MountNamespaceHolds(),
      // runtime-spec config.md: a runtime MUST ignore a property it does not know (runc does, silently; this one warns).
      unknownConfigFields: 'ignore',
      // Found (mountinfo read and parsed) on first use: `state`, `start` without hooks never need it.
      get cgroups(): CgroupHost {
        return (root.cgroupHost ??= openCgroupHost());
      },
    };
  }

  private cgroupHost: CgroupHost | undefined;

  /**
   * runc's rule for linux.cgroupsPath: an absolute path is read from the top of each hierarchy —
   * the caller (containerd's "/default/<id>", a kubelet's "/kubepods/…") plans that tree, and
   * removing the container removes only what its creation made there (the record keeps where
   * removal stops, so later commands need no such host); a relative path, or none, is read from
   * the runtime's own cgroup. (The agent service reads both from its own cgroup.)
   */
  placeCgroupsFor(spec: OciSpec): void {
    if (spec.linux?.cgroupsPath?.startsWith('/')) this.cgroupHost = openCgroupHost({ ownCgroupPath: '/', keepExistingParents: true });
  }

  static checkId(id: string): void {
    if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw new RuncError(`invalid id format: ${id}`);
  }

  directory(id: string): string {
    return this.context.store.directory(id);
  }

  fifoPath(id: string): string {
    return join(this.directory(id), 'exec.fifo');
  }

  /**
   * Holds the id's lock until the process exits or unlock(): two commands on one id (a `kill`
   * during `delete`, two `create`s) take turns. Waits up to 10 s for another holder.
   *
   * By default the lock's descriptor is numbered where a container's first process drops every
   * descriptor it inherits (../runtime/process/launch.ts appendPrologue): the lock must not live
   * on in a process that waits on its exec FIFO. A command that starts no container process
   * (`start`, `delete`, `kill`: their hooks close it at execve, close-on-exec) passes
   * `anyNumber`: so high a number (half the open-file limit) makes the kernel grow the
   * process's descriptor table, and as Node's threads share that table, the kernel first waits
   * for an RCU grace period — ~10 ms, as long as all of `runc start`.
   */
  lock(id: string, { anyNumber = false }: { anyNumber?: boolean } = {}): void {
    RuncRoot.checkId(id);
    if (this.locks.has(id)) return;
    const opened = openFile(join(this.path, 'locks', id), O_RDWR | O_CREAT, 0o600);
    let fd = opened;
    if (!anyNumber) {
      try {
        fd = duplicateFdAtOrAbove(opened, HELD_FD_MINIMUM);
      } finally {
        closeFd(opened);
      }
    }
    const deadline = Date.now() + 10_000;
    while (!tryLockExclusive(fd, id)) {
      if (Date.now() > deadline) {
        closeFd(fd);
        throw new RuncError(`container ${id} is locked by another runtime command`);
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    this.locks.set(id, fd);
  }

  unlock(id: string): void {
    const fd = this.locks.get(id);
    if (fd === undefined) return;
    this.locks.delete(id);
    closeFd(fd);
  }

  /** After delete: the id's lock file goes too (held until this process exits). */
  removeLock(id: string): void {
    rmSync(join(this.path, 'locks', id), { force: true });
  }

  exists(id: string): boolean {
    return existsSync(join(this.directory(id), 'state.json'));
  }

  ids(): string[] {
    const dir = this.context.store.containersDir;
    return existsSync(dir) ? readdirSync(dir).filter((entry) => ID_PATTERN.test(entry) && this.exists(entry)).sort() : [];
  }

  saveMeta(id: string, meta: RuncMeta): void {
    writeAtomically(join(this.directory(id), 'runc.json'), JSON.stringify(meta), 0o600, false);
  }

  /** The container `id` with its observed status; "container does not exist" as runc says it. */
  load(id: string): RuncContainer {
    RuncRoot.checkId(id);
    const state = this.context.store.load(id);
    if (!state) throw new RuncError('container does not exist');
    const spec = this.context.store.config(id);
    let meta: RuncMeta;
    try {
      meta = JSON.parse(readFileSync(join(this.directory(id), 'runc.json'), 'utf8')) as RuncMeta;
    } catch {
      meta = { bundle: '', created: state.createdAt, owner: '' };
    }
    return { id, state, spec, meta, status: this.observe(id, state), directory: this.directory(id) };
  }

  cgroupOf(state: ContainerState): Cgroup | null {
    if (!state.cgroup) return null;
    try {
      return this.context.cgroups.open(state.cgroup);
    } catch {
      return null;
    }
  }

  private observe(id: string, state: ContainerState): RuncStatus {
    if (state.status === 'creating') return 'creating';
    if (state.pid === null || !isSameProcessAlive(state.pid, state.pidStartTime)) return 'stopped';
    if (existsSync(this.fifoPath(id))) return 'created';
    if (state.status === 'paused') return 'paused';
    return 'running';
  }
}
