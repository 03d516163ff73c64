/*
 * The topology kept live: read the world once, then follow the agent's notifications.
 *
 *   connect → host.snapshot + container.list + container.inspect (each)  → inputs → graph
 *   link.changed         → the link replaced/removed in the inputs
 *   container.changed    → container.inspect of that one container (its netns, veth, processes)
 *   container.removed    → the container (and its namespace's links) dropped
 *   node.changed         → this node's peers and mode replaced (node.list at load)
 *
 * After each change the graph is rebuilt and only the difference is sent to the page (model.ts).
 * Bursts are coalesced: changes arriving in the same turn of the event loop make one diff. A
 * new namespace is drawn at once from the container's record; a snapshot taken once things are
 * quiet (SNAPSHOT_DEBOUNCE_MS after the last new container) replaces that guess with the kernel's
 * full list of its links, again as a diff. (A snapshot reads every process on the host: taken
 * while containers keep starting, it would delay the agent's answers that draw them.)
 */
import type { AgentNotifications, ContainerRecord, NodesView } from '../../../agent/protocol';
import type { ConnectionState } from '../../connection/types';
import type { Lab } from '../../lab';
import {
  applyContainerRecord,
  applyContainerRemoved,
  applyLinkChange,
  applyNodesChange,
  buildGraph,
  diffGraphs,
  hostNetnsOf,
  inputsFromSnapshot,
  isEmptyDiff,
  type ContainerView,
  type TopologyDiff,
  type TopologyGraph,
  type TopologyInputs,
} from './model';

const SNAPSHOT_DEBOUNCE_MS = 1_500;

type Change =
  | { kind: 'nodes'; nodes: NodesView }
  | { kind: 'link'; params: AgentNotifications['link.changed'] }
  | { kind: 'record'; record: ContainerRecord }
  | { kind: 'removed'; id: string };

export interface TopologyListener {
  /** `notifiedAt`: Date.now() when the oldest agent notification behind this diff arrived (for the benchmark's breakdown). */
  diff(diff: TopologyDiff, reset: boolean, notifiedAt?: number): void;
  status(text: string): void;
}

const EMPTY: TopologyGraph = { nodes: new Map(), edges: new Map() };

export class LiveTopology {
  private inputs: TopologyInputs | null = null;
  private graph: TopologyGraph = EMPTY;
  /** Changes that arrive while the first read is under way, applied after it. */
  private queued: Change[] | null = null;
  private publishScheduled = false;
  /** When the oldest notification not yet published arrived. */
  private pendingSince: number | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly lab: Lab,
    private readonly listener: TopologyListener,
  ) {
    const on = <N extends keyof AgentNotifications>(name: N, handle: (params: AgentNotifications[N]) => void): void => {
      const subscription = lab.onNotification(name, handle);
      this.offs.push(() => subscription.dispose());
    };
    on('link.changed', (params) => this.change({ kind: 'link', params }, Date.now()));
    on('container.changed', (params) => void this.inspect(params.id, Date.now()));
    on('container.removed', (params) => this.change({ kind: 'removed', id: params.id }, Date.now()));
    on('node.changed', (nodes) => this.change({ kind: 'nodes', nodes }, Date.now()));
    this.offs.push(lab.connection.on('state', (state) => this.connectionChanged(state)));
  }

  /** The graph as it is now (for a page that just loaded). */
  current(): TopologyGraph {
    return this.graph;
  }

  /** The live containers the graph knows (for revealing a namespace's owner). */
  containers(): ContainerView[] {
    return this.inputs?.containers ?? [];
  }

  /** Reads the world (again): on opening, on reconnect, on "Refresh". */
  async load(): Promise<void> {
    const generation = ++this.generation;
    if (this.lab.connection.state !== 'connected') {
      this.listener.status('Not connected to a lab host.');
      return;
    }
    this.queued = [];
    this.listener.status('Reading the host…');
    try {
      const client = this.lab.client();
      const [snapshot, list, nodes] = await Promise.all([
        client.call('host.snapshot', {}, { timeoutMs: 30_000 }),
        client.call('container.list', {}),
        // An agent older than `node` has no peers to draw.
        client.call('node.list', {}).catch(() => null),
      ]);
      const records = await Promise.all(list.map((summary) => client.call('container.inspect', { id: summary.id }).catch(() => null)));
      if (generation !== this.generation) return;
      let inputs = inputsFromSnapshot(snapshot, records.filter((record): record is ContainerRecord => record !== null), nodes);
      for (const change of this.queued ?? []) inputs = apply(inputs, change);
      this.queued = null;
      this.inputs = inputs;
      this.publish(true);
      this.listener.status('');
    } catch (error) {
      if (generation !== this.generation) return;
      this.queued = null;
      this.listener.status(`Could not read the host: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private connectionChanged(state: ConnectionState): void {
    if (state === 'connected') void this.load();
    else if (state === 'disconnected' || state === 'failed') {
      this.generation++;
      this.inputs = null;
      this.queued = null;
      const diff = diffGraphs(this.graph, EMPTY);
      this.graph = EMPTY;
      this.listener.diff(diff, true);
      this.listener.status('Not connected to a lab host.');
    }
  }

  private async inspect(id: string, notifiedAt: number): Promise<void> {
    const generation = this.generation;
    try {
      const record = await this.lab.client().call('container.inspect', { id });
      if (generation === this.generation) this.change({ kind: 'record', record }, notifiedAt);
    } catch {
      // Removed meanwhile: container.removed follows and takes it out.
    }
  }

  private change(change: Change, notifiedAt: number): void {
    if (this.queued) {
      this.queued.push(change);
      return;
    }
    if (!this.inputs) return;
    const unlisted = change.kind === 'record' && change.record.namespaces.net !== undefined && !this.inputs.links.some((link) => link.netns === change.record.namespaces.net);
    this.inputs = apply(this.inputs, change);
    this.pendingSince = Math.min(this.pendingSince ?? notifiedAt, notifiedAt);
    if (unlisted) this.scheduleSnapshot();
    this.schedulePublish();
  }

  private schedulePublish(): void {
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    setImmediate(() => {
      this.publishScheduled = false;
      this.publish(false);
    });
  }

  private publish(reset: boolean): void {
    if (!this.inputs) return;
    const next = buildGraph(this.inputs);
    const diff = diffGraphs(reset ? EMPTY : this.graph, next);
    this.graph = next;
    const notifiedAt = this.pendingSince;
    this.pendingSince = undefined;
    if (reset || !isEmptyDiff(diff)) this.listener.diff(diff, reset, notifiedAt);
  }

  /** The kernel's full list of links, a little after containers came or went (see the file comment). */
  private scheduleSnapshot(): void {
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = undefined;
      void this.resnapshot();
    }, SNAPSHOT_DEBOUNCE_MS);
  }

  private async resnapshot(): Promise<void> {
    const generation = this.generation;
    try {
      const snapshot = await this.lab.client().call('host.snapshot', {}, { timeoutMs: 30_000 });
      if (generation !== this.generation || !this.inputs) return;
      this.inputs = { ...this.inputs, hostNetns: hostNetnsOf(snapshot), links: snapshot.links };
      this.schedulePublish();
    } catch {
      // The record-based picture stays; the next change tries again.
    }
  }

  dispose(): void {
    this.generation++;
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    for (const off of this.offs) off();
  }
}

function apply(inputs: TopologyInputs, change: Change): TopologyInputs {
  switch (change.kind) {
    case 'link':
      return applyLinkChange(inputs, change.params.event, change.params.link);
    case 'record':
      return applyContainerRecord(inputs, change.record);
    case 'removed':
      return applyContainerRemoved(inputs, change.id);
    case 'nodes':
      return applyNodesChange(inputs, change.nodes);
  }
}
