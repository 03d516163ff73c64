/*
 * The runtime: the container lifecycle verbs (./lifecycle/*) tied to the state they share — the
 * records on disk, the host's cgroups, the processes this agent is parent of — and the events
 * the service turns into notifications. Both `containers-lab serve` and the standalone CLI use it.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { arch, hostname, release } from 'node:os';
import { dirname, isAbsolute } from 'node:path';
import type {
  AgentInfo, ContainerRecord, ContainerSummary, ExecOptions, HostContainers, HostSnapshot, OciSpec, PathLayer, RunOptions,
} from '../protocol';
import { ANNOTATIONS } from '../protocol';
import { pathLayer } from '../inspect/overlay-layer';
import { emptyDirUnder, podDirectory, podMembership, removePodDirectory, sandboxName } from './lifecycle/pod';
import { LabError, badInput, conflict } from '../errors';
import { buildContainerRecord } from '../inspect/container-record';
import { watchLinks, type LinkWatcher } from '../inspect/link-events';
import { takeHostSnapshot } from '../inspect/host-snapshot';
import { discoverHostContainers, type OwnContainer } from '../inspect/host/host-containers';
import { configFromRunOptions, isHostname, validateName } from '../oci/from-run-options';
import { checkImageNamespaces, configFromImage } from '../oci/from-image';
import { validateConfig } from '../oci/validate';
import type { ContainerLayerStack } from '../inspect/container-files';
import type { ContainerRuntime, ExecSession, LogFollower, RuntimeEvents, SpecAmendment } from './api';
import { openCgroupHost, type Cgroup } from './cgroups';
import { busyboxImageStatus, ensureBusyboxImage } from './image/busybox';
import type { RuntimeContext } from './lifecycle/context';
import { createContainer } from './lifecycle/create';
import { deleteContainer } from './lifecycle/delete';
import { recordExit } from './lifecycle/exit';
import { remakeCreated } from './lifecycle/remake';
import { followLog, readLog } from './lifecycle/logs';
import { execInContainer } from './lifecycle/exec';
import { pauseContainer, resumeContainer } from './lifecycle/pause';
import { startContainer, StartHookFailure } from './lifecycle/start';
import { WarmPool } from './lifecycle/warm-pool';
import { killEverything, stopContainer } from './lifecycle/stop';
import { checkDefaultBridge, defaultBridgeFromEnv, type DefaultBridge } from './network';
import { readLedger } from './network/addresses';
import { ExitWatcher, isSameProcessAlive } from './process/exit-watcher';
import { MountNamespaceHolds } from './process/mount-namespace-hold';
import type { ExitStatus } from '../kernel/processes';
import { loadRecords } from './state/recover';
import { StateStore, stateRootFromEnv, type ContainerState } from './state/store';
import { ContainerTable } from './state/table';
import { summaryOf } from './state/summary';
import { baseLayerOf, collectShiftedLayers, isShiftedCopy } from './shifted-layers';
import { RuntimeImages } from './images';
import { RuntimeNodes } from './nodes';

export const AGENT_VERSION = '0.1.0';

export interface RuntimeOptions {
  stateRoot?: string;
  /** Watch network links and emit link.changed (the service does; the one-shot CLI does not). */
  watchLinks?: boolean;
  /**
   * How many pre-made containers to keep waiting for `run` (./lifecycle/warm-pool.ts); 0, the
   * default, makes none. The service keeps a few; a one-shot CLI would only waste them.
   */
  warmPool?: number;
  /**
   * The bridge and subnet for `--net bridge` containers that name none (./network/default-bridge.ts).
   * Default: $CONTAINERS_LAB_BRIDGE / $CONTAINERS_LAB_SUBNET, else cl0 with 10.77.0.0/24. Runtimes
   * with different state roots on one host need different ones: the address leases are per root.
   */
  defaultBridge?: DefaultBridge;
  /** Where start-up says what it recovered or removed of unreadable records (default: stderr). */
  log?: (line: string) => void;
  /** Make this node's routes, overlay and rules again from <stateRoot>/nodes/network.json (the service does at start). */
  applyNodes?: boolean;
}

export function openRuntime(options: RuntimeOptions = {}): ContainerRuntime {
  return new Runtime(options);
}

export class Runtime implements ContainerRuntime {
  readonly events = new EventEmitter<RuntimeEvents>();
  /** Pulled and imported images (./images.ts); `busybox` alone is the built-in one (./image/busybox.ts). */
  readonly images: RuntimeImages;
  readonly nodes: RuntimeNodes;
  private readonly context: RuntimeContext;
  private readonly watcher = new ExitWatcher();
  /** The containers this agent knows, by id, with their config.json. */
  private readonly table: ContainerTable;
  private readonly linkWatcher: LinkWatcher | null;
  private readonly pool: WarmPool | null;

  constructor(options: RuntimeOptions = {}) {
    if (process.getuid?.() !== 0) throw new LabError('permission', 'must run as root (the agent creates namespaces, mounts and cgroups)');
    const stateRoot = options.stateRoot ?? stateRootFromEnv();
    // Checked before anything is touched: a bad setting leaves the state root as it was.
    const defaultBridge = options.defaultBridge ? checkDefaultBridge(options.defaultBridge) : defaultBridgeFromEnv();
    const log = options.log ?? ((line: string) => process.stderr.write(`containers-lab: ${line}\n`));
    this.context = {
      stateRoot, store: new StateStore(stateRoot), cgroups: openCgroupHost(), defaultBridge, waiting: new Map(),
      mountNamespaces: new MountNamespaceHolds(),
      // a failing poststart/poststop hook (./hooks.ts)
      warn: (message) => log(`warning: ${message}`),
    };
    this.table = new ContainerTable(this.context.store);
    this.reconcile(log);
    this.images = new RuntimeImages(stateRoot, () => this.table.layersInUse(), (names, removed) => this.events.emit('image.changed', { names, removed }));
    this.nodes = new RuntimeNodes(() => ({ stateRoot, bridge: defaultBridge, containers: () => this.containersOn(defaultBridge.name) }), (view) => this.events.emit('node.changed', view));
    if (options.applyNodes) {
      try {
        this.nodes.reapply();
      } catch (error) {
        log(`nodes: could not make the routes or overlay again: ${(error as Error).message}`);
      }
    }
    const poolSize = options.warmPool ?? 0;
    this.pool = poolSize > 0 ? new WarmPool(this.context, poolSize, () => ensureBusyboxImage(stateRoot).path) : null;
    this.linkWatcher = options.watchLinks
      ? watchLinks((event, link) => this.events.emit('link.changed', { event, link }))
      : null;
  }

  /** The running containers on `bridge`: their host veth and first process. */
  private containersOn(bridge: string): { pid: number; vethHost: string }[] {
    return this.table.withProcess().flatMap((state) =>
      state.network.bridge === bridge && state.network.vethHost ? [{ pid: state.pid!, vethHost: state.network.vethHost }] : []);
  }

  info(): AgentInfo {
    const image = busyboxImageStatus(this.context.stateRoot);
    const cgroups = this.context.cgroups;
    return {
      version: AGENT_VERSION,
      kernel: release(),
      arch: arch(),
      hostname: hostname(),
      cgroupVersion: cgroups.mode,
      stateRoot: this.context.stateRoot,
      image: { name: 'busybox', path: image.path, ready: image.ready },
    };
  }

  async run(options: RunOptions, amend?: SpecAmendment): Promise<ContainerRecord> {
    if (typeof options !== 'object' || options === null) throw badInput('run needs options');
    if (options.pod === undefined) return this.runContainer(options, undefined, undefined, amend);
    // A pod's first member brings up the pod's sandbox; if the member then fails, so does the pod.
    const pod = validateName(options.pod);
    const sandboxExisted = this.table.findByName(sandboxName(pod)) !== undefined;
    const sandbox = await this.sandboxOf(pod, options);
    // The first member's network options made the sandbox's network; they are not the member's own.
    const { net: _net, bridge: _bridge, subnet: _subnet, ...memberOptions } = options;
    try {
      return await this.runContainer(sandboxExisted ? options : memberOptions, sandbox, undefined, amend);
    } catch (error) {
      if (!sandboxExisted) await this.remove(sandbox.id, true).catch(() => undefined);
      throw error;
    }
  }

  async podSandbox(pod: string, options: RunOptions, amend?: SpecAmendment): Promise<ContainerRecord> {
    return this.inspect((await this.sandboxOf(validateName(pod), options, amend)).id);
  }

  private async runContainer(options: RunOptions, podSandbox?: ContainerState, sandboxOfPod?: string, amend?: SpecAmendment): Promise<ContainerRecord> {
    this.pool?.noteActivity();
    const id = randomBytes(16).toString('hex');
    const name = options.name !== undefined ? validateName(options.name) : id.slice(0, 12);
    // The word `busybox` is the built-in image; any other names a pulled or imported one (./images.ts).
    const fromImage = (options.image ?? 'busybox') === 'busybox' ? null : await this.images.forRun(options.image!);
    let state: ContainerState;
    let claimed: ReturnType<NonNullable<typeof this.pool>['claim']> = null;
    let spec: OciSpec;
    try {
      // Checked after the wait for the image: from here to the record, nothing else runs.
      if (this.table.findByName(name)) throw conflict(`a container named "${name}" already exists`);
      const image = fromImage ? null : ensureBusyboxImage(this.context.stateRoot);
      const pod = podSandbox ? { name: options.pod!, sandboxPid: podSandbox.pid!, network: podSandbox.network.mode } : undefined;
      const emptyDir = emptyDirUnder(pod ? podDirectory(this.context.stateRoot, pod.name) : this.context.store.directory(id));
      const defaults = {
        rootfs: this.context.store.directory(id) + '/merged', name, emptyDir, bridge: this.context.defaultBridge,
        subnetOf: (bridge: string) => readLedger(this.context.stateRoot, bridge)?.subnet ?? null,
        ...(pod ? { pod } : {}), ...(sandboxOfPod ? { sandboxOfPod } : {}),
      };
      const drafted = validateConfig(fromImage ? configFromImage(options, fromImage.image, defaults) : configFromRunOptions(options, defaults));
      spec = amend ? validateConfig(amend(drafted)) : drafted;
      if (fromImage) checkImageNamespaces(spec, fromImage.image.familiarName);
      const persistCreated = options.createOnly === true;
      // A pre-made (busybox) container if one fits the request (it brings its own id); else made now.
      claimed = fromImage ? null : this.pool?.claim({ name, spec, persistCreated }) ?? null;
      try {
        state = claimed?.state ?? createContainer(this.context, {
          id, name, spec, persistCreated, ...(podSandbox ? { joinedNetwork: podSandbox.network } : {}),
          ...(fromImage ? { imageLayer: fromImage.image.lower[0]!, imageLayers: fromImage.image.lower } : { imageLayer: image!.path }),
        });
      } catch (error) {
        this.collectShiftedLayers(); // a refused user-namespace config's copies
        throw error;
      }
      if (fromImage) this.images.saveLayersFor(this.context.store.directory(state.id), fromImage.image, fromImage.layers);
    } finally {
      // The record on disk lists the layers now: prune sees them in use without the lease.
      fromImage?.release();
    }
    this.table.set(state, claimed?.spec ?? spec);
    this.watchChild(state);
    this.changed(state);
    if (!options.createOnly) {
      const init = options.init !== undefined ? await this.runInitStep(state, options.init) : 0;
      if (init === 0) await this.startState(state);
    }
    return this.inspect(state.id);
  }

  /** The pod's sandbox: found running, or made now with the pod's network. */
  private async sandboxOf(pod: string, options: RunOptions, amend?: SpecAmendment): Promise<ContainerState> {
    const existing = this.table.findByName(sandboxName(pod));
    if (existing) {
      if (podMembership(this.table.config(existing))?.sandbox !== true) throw conflict(`"${sandboxName(pod)}" is not the sandbox of pod "${pod}": rename that container`);
      if (existing.status !== 'running') throw conflict(`pod "${pod}" is ${existing.status} (its sandbox ${existing.name} is not running): remove its containers and start again`);
      return existing;
    }
    const record = await this.runContainer({
      name: sandboxName(pod),
      ...(isHostname(pod) ? { hostname: pod } : {}),
      ...(options.net !== undefined ? { net: options.net } : {}),
      ...(options.bridge !== undefined ? { bridge: options.bridge } : {}),
      ...(options.subnet !== undefined ? { subnet: options.subnet } : {}),
    }, undefined, pod, amend);
    return this.table.lookup(record.id);
  }

  /**
   * The init step: the command runs to completion inside the created container (all its
   * namespaces, its cgroup, its capabilities) before the main process starts; its output goes to
   * the container's log. A failed step leaves the container stopped with the step's exit code.
   */
  private async runInitStep(state: ContainerState, args: string[]): Promise<number> {
    const session = this.execSession(state, { id: state.id, args }, true);
    session.onOutput((_stream, data) => appendFileSync(state.logPath, data));
    session.close();
    const code = await new Promise<number>((resolve) => session.onExit(resolve));
    state.initExitCode = code;
    if (code !== 0) {
      this.killUnstarted(state);
      state.exitCode = code;
    }
    this.save(state);
    this.changed(state);
    return code;
  }

  async start(id: string): Promise<ContainerRecord> {
    let state = this.table.lookup(id);
    if (state.status === 'created' && !this.context.waiting.has(state.id)) state = this.remake(state);
    await this.startState(state);
    return this.inspect(state.id);
  }

  /** A created container whose first process waited in an earlier agent is made again (./lifecycle/remake.ts). */
  private remake(old: ContainerState): ContainerState {
    // A pulled image's container stands on the same layers again; busybox's layer is built if missing.
    const fromImage = this.table.config(old).annotations?.[ANNOTATIONS.imageId] !== undefined && old.rootfs !== null;
    const image = fromImage ? old.rootfs!.lower.map(baseLayerOf) : ensureBusyboxImage(this.context.stateRoot).path;
    const state = remakeCreated(this.context, old, this.table.config(old), this.cgroupOf(old), image, () => this.forget(old));
    this.table.set(state);
    this.watchChild(state);
    return state;
  }

  private async startState(state: ContainerState): Promise<void> {
    try {
      startContainer(this.context, state, this.table.config(state));
    } catch (error) {
      // A failing startContainer hook: stopped by startContainer, destroyed here (the runtime-spec's step 12).
      if (error instanceof StartHookFailure) await this.remove(state.id, true);
      throw error;
    }
    this.changed(state);
    this.watcher.poll();
  }

  list(): ContainerSummary[] {
    this.refresh();
    return this.table.all().sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map((state) => this.summary(state));
  }

  inspect(id: string): ContainerRecord {
    const state = this.table.lookup(id);
    return buildContainerRecord(state, this.table.config(state), this.cgroupOf(state));
  }

  pathLayer(id: string, path: string): PathLayer {
    const stack = this.layerStack(id);
    return pathLayer(stack.rootfs, path, stack.layers);
  }

  layerStack(id: string): ContainerLayerStack {
    const state = this.table.lookup(id);
    const rootfs = state.rootfs;
    if (!rootfs) throw badInput(`${state.name} shares the host's root: it has no overlay layers`);
    return { id: state.id, name: state.name, image: state.image, rootfs, layers: this.images.layersOf(this.context.store.directory(state.id), rootfs.lower) };
  }

  resolveId(idOrName: string): string {
    return this.table.lookup(idOrName).id;
  }

  async stop(id: string, timeoutSeconds?: number): Promise<ContainerRecord> {
    const state = this.table.lookup(id);
    if (state.status === 'created') {
      this.killUnstarted(state);
    } else if (state.status === 'running' || state.status === 'paused') {
      await stopContainer(state, this.cgroupOf(state), this.watcher, () => state.status === 'stopped', timeoutSeconds);
    }
    return this.inspect(state.id);
  }

  pause(id: string): ContainerRecord {
    const state = this.table.lookup(id);
    pauseContainer(state, this.requireCgroup(state));
    this.save(state);
    return this.inspect(state.id);
  }

  resume(id: string): ContainerRecord {
    const state = this.table.lookup(id);
    resumeContainer(state, this.requireCgroup(state));
    this.save(state);
    return this.inspect(state.id);
  }

  async remove(id: string, force = false): Promise<void> {
    this.pool?.noteActivity();
    const state = this.table.lookup(id);
    const membership = podMembership(this.table.config(state));
    const members = membership ? this.podMembers(membership.pod).filter((member) => member !== state) : [];
    if (membership?.sandbox && members.length > 0) {
      throw conflict(`${state.name} holds pod "${membership.pod}" together: remove its containers first (${members.map((m) => m.name).join(', ')})`);
    }
    if (state.status === 'running' || state.status === 'paused') {
      if (!force) throw conflict(`container "${state.name}" is ${state.status}: stop it first or remove with force (-f)`);
      await stopContainer(state, this.cgroupOf(state), this.watcher, () => state.status === 'stopped', 0);
    } else if (state.status === 'created' || state.status === 'creating') {
      this.killUnstarted(state);
    }
    deleteContainer(this.context, state, this.cgroupOf(state));
    this.forget(state);
    if (state.rootfs?.lower.some(isShiftedCopy)) {
      // Its shifted copies go once no container stands on them and its overlay is gone.
      await this.context.mountNamespaces.released(state.id);
      this.collectShiftedLayers();
    }
    if (membership?.sandbox) removePodDirectory(this.context.stateRoot, membership.pod);
    else if (membership && members.length === 0) {
      // The last member is gone: the pod goes, sandbox and volumes with it.
      const sandbox = this.table.findByName(sandboxName(membership.pod));
      if (sandbox) await this.remove(sandbox.id, true);
    }
  }

  /** Containers of a pod other than its sandbox. */
  private podMembers(pod: string): ContainerState[] {
    return this.table.all().filter((state) => {
      const membership = podMembership(this.table.config(state));
      return membership?.pod === pod && !membership.sandbox;
    });
  }

  logs(id: string): Buffer {
    return readLog(this.table.lookup(id).logPath);
  }

  followLogs(id: string, onData: (data: Buffer) => void, fromOffset?: number): LogFollower {
    return followLog(this.table.lookup(id).logPath, onData, fromOffset);
  }

  exec(options: ExecOptions): ExecSession {
    return this.execSession(this.table.lookup(options.id), options, false);
  }

  private execSession(state: ContainerState, options: ExecOptions, beforeStart: boolean): ExecSession {
    const session = execInContainer(this.context, state, options, beforeStart);
    // Its client (or the init step) waits for this status: the agent must live to collect it.
    this.watcher.watchChild(session.pid, (status) => session.processExited(status?.code ?? 255), { holdOpen: true });
    return session;
  }

  snapshot(): HostSnapshot {
    return takeHostSnapshot(this.table.withProcess().map((state) => ({ name: state.name, pid: state.pid!, namespaces: state.namespaces })));
  }

  hostContainers(roots: string[] = []): HostContainers {
    const relative = roots.find((root) => !isAbsolute(root));
    if (relative !== undefined) throw badInput(`runtime root ${JSON.stringify(relative.slice(0, 80))} is not an absolute path`);
    const own: OwnContainer[] = this.table.withProcess()
      .filter((state) => state.status !== 'creating')
      .map((state) => ({ id: state.id, name: state.name, pid: state.pid!, status: state.status as OwnContainer['status'], stateDir: this.context.store.directory(state.id) }));
    // The warm pool's sandboxes are the agent's too: in the kernel they look like containers.
    for (const sandbox of this.warmPoolSandboxes()) {
      own.push({ id: sandbox.id, name: 'warm-pool sandbox', pid: sandbox.pid, status: 'created', stateDir: this.context.store.directory(sandbox.id) });
    }
    return discoverHostContainers({ own, roots });
  }

  /** The pre-made containers waiting in the warm pool (not containers; for tests). */
  warmPoolSandboxes(): { id: string; pid: number }[] {
    return this.pool?.sandboxes() ?? [];
  }

  close(): void {
    // Unclaimed sandboxes are the agent's own: they go with it (containers keep running).
    this.pool?.close();
    this.context.mountNamespaces.releaseAll();
    this.watcher.close();
    this.linkWatcher?.close();
    this.events.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------

  private forget(state: ContainerState): void {
    this.table.delete(state.id);
    this.events.emit('container.removed', { id: state.id, name: state.name });
  }

  /** Shifted layer copies no container stands on (./shifted-layers.ts), busybox's and pulled images' alike. */
  private collectShiftedLayers(): void {
    const folders = [dirname(busyboxImageStatus(this.context.stateRoot).path), this.images.store.layersDirectory];
    collectShiftedLayers(folders, () => this.table.layersInUse().flatMap((container) => container.rootfs?.lower ?? []));
  }

  private cgroupOf(state: ContainerState): Cgroup | null {
    if (!state.cgroup) return null;
    try {
      return this.context.cgroups.open(state.cgroup);
    } catch {
      return null;
    }
  }

  private requireCgroup(state: ContainerState): Cgroup {
    const cgroup = this.cgroupOf(state);
    if (!cgroup) throw conflict(`container "${state.name}" has no cgroup`);
    return cgroup;
  }

  private save(state: ContainerState): void {
    this.context.store.save(state);
    this.changed(state);
  }

  private changed(state: ContainerState): void {
    this.events.emit('container.changed', { id: state.id, status: state.status, summary: this.summary(state) });
  }

  private summary(state: ContainerState): ContainerSummary {
    let config: OciSpec | null = null;
    try {
      config = this.table.config(state);
    } catch {
      config = null;
    }
    return summaryOf(state, config);
  }

  private watchChild(state: ContainerState): void {
    if (state.pid === null) return;
    this.watcher.watchChild(state.pid, (status) => this.containerExited(state, status));
  }

  /** The container's first process ended: record how, and release what only a live container needs (./lifecycle/exit.ts). */
  private containerExited(state: ContainerState, status: ExitStatus | null): void {
    if (!this.table.has(state.id) || state.status === 'stopped') return;
    recordExit(this.context, state, this.cgroupOf(state), status);
    this.save(state);
  }

  private killUnstarted(state: ContainerState): void {
    if (state.pid !== null && isSameProcessAlive(state.pid, state.pidStartTime)) {
      const cgroup = this.cgroupOf(state);
      killEverything(state, cgroup);
      this.watcher.poll();
    }
    if (state.status !== 'stopped') this.containerExited(state, null);
  }

  /** Loads every record (./state/recover.ts rebuilds unreadable ones); adopts what still runs. */
  private reconcile(log: (line: string) => void): void {
    for (const { state, config } of loadRecords(this.context, log)) {
      this.table.set(state, config);
      if (state.status !== 'running' && state.status !== 'paused') continue;
      if (state.pid !== null && isSameProcessAlive(state.pid, state.pidStartTime)) {
        this.watcher.watchAdopted(state.pid, state.pidStartTime, (status) => this.containerExited(state, status));
      } else {
        this.containerExited(state, null);
      }
    }
  }

  /** Status of adopted containers is only known by looking. */
  private refresh(): void {
    this.watcher.poll();
  }
}
