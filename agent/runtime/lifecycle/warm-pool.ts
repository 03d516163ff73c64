/*
 * The warm pool: containers made ahead of time, waiting for a command.
 *
 * Most of a container's creation does not depend on what it will run: the namespaces, the
 * overlay rootfs with pivot_root into it, /proc, masked paths, the cgroup, loopback — all the
 * same for every `run` of the common shape (the default namespaces, no user namespace,
 * `--net none`, root, busybox). The pool makes a few such sandboxes while the agent is idle and
 * parks each one's first process at its last checkpoint, right before chdir and execve. A `run`
 * whose config has that shape claims one and only does what is specific to the request:
 *
 *   limits      written into the sandbox's cgroup files (it was made unlimited)
 *   hostname    sethostname(2) inside its uts namespace
 *   command     path, argv, envp, cwd written into the exec slots the child's chdir/execve steps
 *               point at — the child shares the agent's memory (see ../process/exec-slots.ts)
 *   record      config.json replaced by the request's document; name and times in the state
 *
 * after which it is an ordinary "created" container: `start` releases the checkpoint. A request
 * of any other shape takes the ordinary path (./create.ts), unchanged.
 *
 * Leaving nothing behind:
 *   - A waiting sandbox is not a container: it is in no list and no snapshot, and its record
 *     on disk says "creating" with the name WARM_POOL_NAME.
 *   - close() (service shutdown) kills and deletes every unclaimed sandbox.
 *   - If the agent dies, each parked child dies with it (parent-death signal, set in its
 *     prologue) and the next agent's reconcile deletes every "creating" record with its cgroup
 *     and directory — exactly as for a create interrupted by a crash.
 *
 * Refill never runs while requests are being served: only once the agent has been idle for
 * IDLE_BEFORE_REFILL_MS, one sandbox per turn of the event loop, so a request that arrives in
 * the middle waits for at most one sandbox's creation (a few milliseconds).
 */
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import type { OciSpec } from '../../protocol';
import { SIGKILL } from '../../kernel/constants';
import { sethostname } from '../../kernel/namespaces';
import { reap, signalProcess } from '../../kernel/processes';
import { ANNOTATIONS, configFromRunOptions, limitsFromConfig } from '../../oci/from-run-options';
import { insideNamespaces } from '../namespaces';
import { ExecSlots, type ExecText } from '../process/exec-slots';
import { isSameProcessAlive } from '../process/exit-watcher';
import { existsInLayers, resolveProgram } from '../process/resolve-program';
import type { ContainerState } from '../state/store';
import type { RuntimeContext } from './context';
import { prepareContainer, type PreparedContainer } from './create';

/** The name a waiting sandbox's record carries until it is claimed. */
export const WARM_POOL_NAME = '(warm pool)';
const IDLE_BEFORE_REFILL_MS = 20;
/** After a failed refill (no image yet, a full disk…), wait this long before trying again. */
const RETRY_AFTER_FAILURE_MS = 5000;

export interface ClaimRequest {
  name: string;
  /** The validated document of the `run` request (its root.path is replaced by the sandbox's). */
  spec: OciSpec;
  persistCreated: boolean;
}

export interface Claimed {
  state: ContainerState;
  /** The document as recorded in config.json. */
  spec: OciSpec;
}

interface Sandbox extends PreparedContainer {
  slots: ExecSlots;
}

export class WarmPool {
  private readonly ready: Sandbox[] = [];
  private readonly shape: string;
  private readonly templateHostname: string | undefined;
  private lastActivity = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly context: RuntimeContext,
    private readonly size: number,
    /** The image's read-only layer (built on first use). */
    private readonly imageLayer: () => string,
  ) {
    const template = this.templateFor('0'.repeat(32));
    this.shape = shapeOf(template);
    this.templateHostname = template.hostname;
    this.noteActivity();
  }

  get waiting(): number {
    return this.ready.length;
  }

  /** The sandboxes waiting now: ids (their directories and cgroups are named by them) and PIDs. */
  sandboxes(): { id: string; pid: number }[] {
    return this.ready.map((sandbox) => ({ id: sandbox.state.id, pid: sandbox.state.pid! }));
  }

  /** Tells the pool a request is being served: refill waits until the agent is idle again. */
  noteActivity(): void {
    this.lastActivity = performance.now();
    this.scheduleRefill(IDLE_BEFORE_REFILL_MS);
  }

  /**
   * Hands a waiting sandbox to `request` if the request has the pool's shape and its command
   * fits the slots; null otherwise (the caller creates the container the ordinary way).
   */
  claim(request: ClaimRequest): Claimed | null {
    const first = this.ready[0];
    if (!first || shapeOf(request.spec) !== this.shape) return null;
    // Every sandbox has the same image layer and an empty upper layer: resolve once, before
    // taking one, so a command that is not there costs no sandbox.
    const processSpec = request.spec.process!;
    const env = processSpec.env ?? [];
    const layers = [first.state.rootfs!.upper, ...first.state.rootfs!.lower];
    const exec: ExecText = {
      path: resolveProgram(processSpec.args[0] ?? '', env, existsInLayers(layers)),
      args: processSpec.args,
      env,
      cwd: processSpec.cwd,
    };
    if (!ExecSlots.fits(exec)) return null;
    // The image lacks the working directory: create makes it (../rootfs.ts makeWorkingDirectory).
    if (!isDirectoryInLayers(processSpec.cwd, layers)) return null;
    let sandbox: Sandbox | undefined;
    while ((sandbox = this.ready.shift())) {
      if (isSameProcessAlive(sandbox.state.pid!, sandbox.state.pidStartTime)) break;
      this.destroySandbox(sandbox);
    }
    if (!sandbox) return null;
    const { state, cgroup, parked, slots } = sandbox;
    const rootfs = state.rootfs!;
    try {
      const limits = limitsFromConfig(request.spec);
      if (limits.memoryBytes !== null || limits.cpuQuotaUs !== null || limits.pids !== null) cgroup.setLimits(limits);
      if (request.spec.hostname !== this.templateHostname && request.spec.hostname !== undefined) {
        const hostname = request.spec.hostname;
        insideNamespaces(state.pid!, ['uts'], () => sethostname(hostname));
      }
      slots.fill(exec);

      const spec: OciSpec = { ...request.spec, root: { ...request.spec.root, path: rootfs.merged } };
      state.name = request.name;
      state.hostname = spec.hostname ?? null;
      state.createdAt = new Date().toISOString();
      state.image = spec.annotations?.[ANNOTATIONS.image] ?? state.image;
      // What the cgroup's files now say; the full record is read from them on inspect.
      state.cgroup = { ...state.cgroup!, limits };
      // On disk the record still says "creating" until the save below (with persistCreated) or
      // start's: a crash before then leaves a record reconcile deletes, whatever config.json holds.
      this.context.store.replaceConfigWhileCreating(state.id, spec);
      state.status = 'created';
      if (request.persistCreated) this.context.store.save(state);
      this.context.waiting.set(state.id, parked);
      return { state, spec };
    } catch (error) {
      this.destroySandbox(sandbox);
      throw error;
    } finally {
      this.scheduleRefill(IDLE_BEFORE_REFILL_MS);
    }
  }

  /** Kills and deletes every waiting sandbox; the pool makes no more. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const sandbox of this.ready.splice(0)) this.destroySandbox(sandbox);
  }

  // ---------------------------------------------------------------------------------------------

  /** The document every sandbox is made from: what `run --net none` of busybox would ask for. */
  private templateFor(id: string): OciSpec {
    return configFromRunOptions({ args: ['/bin/true'], net: 'none' }, { rootfs: `${this.context.store.directory(id)}/merged` });
  }

  private scheduleRefill(delayMs: number): void {
    if (this.closed || this.timer || this.ready.length >= this.size) return;
    this.timer = setTimeout(() => this.refillWhenIdle(), delayMs);
    this.timer.unref();
  }

  private refillWhenIdle(): void {
    this.timer = null;
    if (this.closed || this.ready.length >= this.size) return;
    const idleFor = performance.now() - this.lastActivity;
    if (idleFor < IDLE_BEFORE_REFILL_MS) {
      this.scheduleRefill(IDLE_BEFORE_REFILL_MS - idleFor);
      return;
    }
    try {
      this.ready.push(this.makeSandbox());
    } catch {
      // The ordinary path still works (and reports the problem to whoever runs a container).
      this.scheduleRefill(RETRY_AFTER_FAILURE_MS);
      return;
    }
    // One sandbox per turn: requests that arrived meanwhile are served first.
    this.scheduleRefill(0);
  }

  private makeSandbox(): Sandbox {
    const id = randomBytes(16).toString('hex');
    const prepared = prepareContainer(
      this.context,
      { id, name: WARM_POOL_NAME, spec: this.templateFor(id), imageLayer: this.imageLayer() },
      'slots-filled-later',
    );
    return { ...prepared, slots: prepared.parked.slots! };
  }

  private destroySandbox(sandbox: Sandbox): void {
    const { state, parked, cgroup } = sandbox;
    this.context.waiting.delete(state.id);
    if (state.pid !== null && signalProcess(state.pid, SIGKILL)) {
      try {
        reap(state.pid, true);
      } catch {
        // already collected
      }
    }
    parked.checkpoints.close();
    // Only now that the child is dead: it ran on stacks in this arena.
    parked.program.release();
    this.context.mountNamespaces.release(state.id);
    cgroup.destroy();
    this.context.store.remove(state.id);
  }
}

function isDirectoryInLayers(path: string, layers: readonly string[]): boolean {
  return layers.some((layer) => {
    try {
      // lstat: a symlink in a layer points into the container, not the host; create resolves it there.
      return lstatSync(`${layer}${path}`).isDirectory();
    } catch {
      return false;
    }
  });
}

/**
 * A document with everything a claim fills in taken out: the command, environment, working
 * directory, hostname, limits (not the device rules), name and the rootfs path (which names the
 * container's id). Two documents of the same shape make the same sandbox.
 */
function shapeOf(spec: OciSpec): string {
  const { process: processSpec, hostname, annotations, linux, root, ...rest } = spec;
  const { args: _args, env: _env, cwd: _cwd, ...processShape } = processSpec ?? { args: [], cwd: '/' };
  const { resources, ...linuxShape } = linux ?? {};
  const { [ANNOTATIONS.name]: _name, ...annotationShape } = annotations ?? {};
  // The device rules are made with the sandbox's cgroup (a program attached on v2): part of the shape.
  const devices = resources?.devices ?? null;
  // A claim sets only the three limits: every other resource (a reservation, shares, unified
  // files…) is part of the shape, so a document asking for one is made the ordinary way.
  const { devices: _devices, pids: _pids, memory, cpu, ...otherResources } = resources ?? {};
  const { limit: _limit, ...memoryShape } = memory ?? {};
  const { quota: _quota, period: _period, ...cpuShape } = cpu ?? {};
  return JSON.stringify({
    rest, processShape, linuxShape, devices, otherResources, memoryShape, cpuShape, annotationShape,
    readonlyRoot: root?.readonly ?? false, hasHostname: hostname !== undefined,
  });
}
