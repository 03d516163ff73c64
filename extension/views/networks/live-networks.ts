/*
 * The Networks view's picture kept live, without 'vscode' (the provider shows it; tests drive it).
 *
 * Reading the whole host (host.snapshot: every process, every namespace, every link) is what the
 * view does once — on first load, after a reconnect, on "Refresh". After that it follows the
 * agent's notifications:
 *
 *   link.changed        the host's link replaced or removed (ports come and go, bridges change)
 *   container.changed   → running: container.inspect of that one container; its record says what
 *                       the far end of its veth is (eth0, its address, its namespace), which no
 *                       host link event can tell — that end lives in the container's namespace
 *   container.removed   the links of its namespace dropped
 *
 * A new port whose container record has not come yet is shown without a far end (not as a guess
 * like "ifindex 2"). Should no record claim it within AWAIT_MS (a veth someone made by hand), the
 * owner is told the picture is incomplete and may read the host again. Bursts (a container start
 * brings several link events and a record) are coalesced into one change for the tree.
 */
import type { AgentNotifications, ContainerRecord, LinkRecord } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';
import { applyLinkEvent, buildNetworkModel, containerEndOf, farEndListed, type BridgeModel, type ContainerEnd } from './model';

/** How long the tree waits to redraw after a change, so a burst of events redraws it once. */
const COALESCE_MS = 30;
/** How long a new port may wait for the record of the container at its far end. */
const AWAIT_MS = 2_000;

export interface LiveNetworksEvents {
  /** The picture changed (coalesced). */
  changed(): void;
  /** A port's far end is still unknown: only a new snapshot can show it. */
  incomplete(): void;
  error(message: string, error: unknown): void;
}

export class LiveNetworks {
  private links: LinkRecord[] = [];
  /** Far ends drawn from container records, by the host end's name (see KnownEnds in ./model). */
  private readonly ends = new Map<string, ContainerEnd>();
  /** Host ends waiting for their container's record, with the timer that gives up on it. */
  private readonly awaiting = new Map<string, NodeJS.Timeout>();
  /** Containers being inspected now, and those changed again meanwhile (inspected once more after). */
  private readonly inspecting = new Set<string>();
  private readonly inspectAgain = new Set<string>();
  private redraw: NodeJS.Timeout | undefined;
  private generation = 0;
  private snapshotTaken = false;

  constructor(
    private readonly client: () => AgentClient | null,
    private readonly events: LiveNetworksEvents,
  ) {}

  /** True once a snapshot has been read on the current connection. */
  get loaded(): boolean {
    return this.snapshotTaken;
  }

  bridges(): BridgeModel[] {
    return buildNetworkModel(this.links, { ends: this.ends, awaiting: new Set(this.awaiting.keys()) });
  }

  /** Reads the whole host: first load, reconnect, "Refresh". */
  async load(): Promise<void> {
    const client = this.client();
    if (!client) return;
    const generation = this.generation;
    try {
      const snapshot = await client.call('host.snapshot', {}, { timeoutMs: 30_000 });
      if (generation !== this.generation) return;
      this.links = snapshot.links;
      this.snapshotTaken = true;
      // The snapshot lists the far ends it could see; record-drawn ends it cannot see yet stay.
      for (const hostEnd of [...this.ends.keys(), ...this.awaiting.keys()]) if (this.farEndListedFor(hostEnd)) this.forget(hostEnd);
      this.scheduleRedraw();
    } catch (error) {
      this.events.error('Networks: host.snapshot failed', error);
    }
  }

  /** The connection ended: nothing is known any more. */
  clear(): void {
    this.generation++;
    this.links = [];
    this.snapshotTaken = false;
    for (const hostEnd of [...this.ends.keys(), ...this.awaiting.keys()]) this.forget(hostEnd);
    this.inspecting.clear();
    this.inspectAgain.clear();
    this.scheduleRedraw();
  }

  linkChanged({ event, link }: AgentNotifications['link.changed']): void {
    this.links = applyLinkEvent(this.links, event, link);
    if (event === 'removed') this.forget(link.name);
    else if (this.farEndMissing(link) && !this.ends.has(link.name) && !this.awaiting.has(link.name)) {
      this.awaiting.set(
        link.name,
        setTimeout(() => {
          this.awaiting.delete(link.name);
          this.scheduleRedraw();
          this.events.incomplete();
        }, AWAIT_MS),
      );
    }
    this.scheduleRedraw();
  }

  containerChanged({ id, status, summary }: AgentNotifications['container.changed']): void {
    // Only a running container on a bridge has a far end to draw (a stopped one's namespace is gone,
    // and its host end's removal comes as a link event).
    if (status === 'running' && summary.ip !== null) void this.inspect(id);
  }

  /** A container went away: its namespace's links went with it (the host end's removal comes as an event). */
  containerRemoved(name: string): void {
    const before = this.links.length;
    this.links = this.links.filter((link) => link.container !== name || link.kind === 'bridge');
    for (const [hostEnd, end] of this.ends) if (end.container === name) this.forget(hostEnd);
    if (this.links.length !== before) this.scheduleRedraw();
  }

  dispose(): void {
    this.clear();
    if (this.redraw) clearTimeout(this.redraw);
    this.redraw = undefined;
  }

  private async inspect(id: string): Promise<void> {
    const client = this.client();
    if (!client) return;
    if (this.inspecting.has(id)) {
      this.inspectAgain.add(id);
      return;
    }
    this.inspecting.add(id);
    const generation = this.generation;
    try {
      const record = await client.call('container.inspect', { id });
      if (generation === this.generation) this.applyRecord(record);
    } catch {
      // Removed meanwhile: container.removed follows.
    } finally {
      this.inspecting.delete(id);
      if (this.inspectAgain.delete(id) && generation === this.generation) void this.inspect(id);
    }
  }

  private applyRecord(record: ContainerRecord): void {
    const drawn = containerEndOf(record);
    if (!drawn || this.farEndListedFor(drawn.hostEnd)) return;
    // A pod's members share the sandbox's veth: the container that made it (the first) names it.
    const existing = this.ends.get(drawn.hostEnd);
    if (existing && existing.netns === drawn.end.netns && existing.container !== record.name) return;
    this.forget(drawn.hostEnd);
    this.ends.set(drawn.hostEnd, drawn.end);
    this.scheduleRedraw();
  }

  /** A veth whose far end, in another namespace, the list of links does not hold (yet). */
  private farEndMissing(link: LinkRecord): boolean {
    return link.kind === 'veth' && link.peer !== null && link.peer.netns !== link.netns && !farEndListed(this.links, link);
  }

  /** Whether the list holds the far end of the host end named so (then no record needs to draw it). */
  private farEndListedFor(hostEnd: string): boolean {
    const port = this.links.find((link) => link.name === hostEnd && link.kind === 'veth');
    return port !== undefined && farEndListed(this.links, port);
  }

  private forget(hostEnd: string): void {
    this.ends.delete(hostEnd);
    const timer = this.awaiting.get(hostEnd);
    if (timer) clearTimeout(timer);
    this.awaiting.delete(hostEnd);
  }

  private scheduleRedraw(): void {
    if (this.redraw) return;
    this.redraw = setTimeout(() => {
      this.redraw = undefined;
      this.events.changed();
    }, COALESCE_MS);
  }
}
