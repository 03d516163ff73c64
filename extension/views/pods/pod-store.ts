/*
 * What the extension knows about the lab's pods, kept current from the agent's notifications: the
 * list (pod.list, kubectl's `get pods` rows) once per connection, then pod.changed / pod.removed.
 * Details — the pod's record (pod.get: container statuses, events) and the runtime records of its
 * sandbox and running containers (container.inspect: their namespace inodes) — are fetched for
 * the pods whose node was opened, and fetched again when that pod changes. No 'vscode' here: the
 * view subscribes with onDidChange.
 */
import type { AgentNotifications, ContainerRecord, PodRecord, PodSummary } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';

export interface PodDetails {
  record: PodRecord;
  /** The sandbox ("pause") container's runtime record, when it runs. */
  sandbox: ContainerRecord | undefined;
  /** Runtime records of the pod's containers that have a process now, by the pod's container name. */
  containers: Map<string, ContainerRecord>;
}

/** `name`: one pod changed (its node is refreshed); undefined: the list changed. */
export type PodStoreListener = (name: string | undefined) => void;

export class PodStore {
  private pods = new Map<string, PodSummary>();
  private readonly details = new Map<string, PodDetails>();
  private readonly fetching = new Map<string, Promise<PodDetails | undefined>>();
  private readonly listeners = new Set<PodStoreListener>();
  /** Bumped by clear(): answers that arrive for an older connection are dropped. */
  private generation = 0;

  constructor(private readonly client: () => AgentClient | null) {}

  onDidChange(listener: PodStoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): PodSummary[] {
    return [...this.pods.values()];
  }

  summary(name: string): PodSummary | undefined {
    return this.pods.get(name);
  }

  cachedDetails(name: string): PodDetails | undefined {
    return this.details.get(name);
  }

  /** Reads the list (on connect, on Refresh); details are fetched again when asked. */
  async load(): Promise<void> {
    const client = this.client();
    if (!client) return;
    const generation = this.generation;
    const list = await client.call('pod.list', {});
    if (generation !== this.generation) return;
    this.pods = new Map(list.map((pod) => [pod.name, pod]));
    this.details.clear();
    this.emit(undefined);
  }

  /** The pod's record and its runtime containers' records (one request at a time per pod). */
  fetchDetails(name: string): Promise<PodDetails | undefined> {
    const running = this.fetching.get(name);
    if (running) return running;
    const fetch = this.read(name).finally(() => this.fetching.delete(name));
    this.fetching.set(name, fetch);
    return fetch;
  }

  private async read(name: string): Promise<PodDetails | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const generation = this.generation;
    let record: PodRecord;
    try {
      record = await client.call('pod.get', { name });
    } catch (error) {
      // Deleted between the notification and our question: pod.removed takes it out of the list.
      if (!this.pods.has(name)) return undefined;
      throw error;
    }
    const inspect = (id: string | null | undefined): Promise<ContainerRecord | undefined> =>
      id ? client.call('container.inspect', { id }).then((found) => found, () => undefined) : Promise.resolve(undefined);
    const statuses = [...record.status.initContainerStatuses, ...record.status.containerStatuses].filter((status) => status.state.running);
    const [sandbox, ...records] = await Promise.all([inspect(record.sandbox?.id), ...statuses.map((status) => inspect(status.containerID))]);
    if (generation !== this.generation || !this.pods.has(name)) return undefined;
    const containers = new Map<string, ContainerRecord>();
    statuses.forEach((status, index) => {
      const found = records[index];
      if (found && found.pid !== null) containers.set(status.name, found);
    });
    const details: PodDetails = { record, sandbox: sandbox && sandbox.pid !== null ? sandbox : undefined, containers };
    this.details.set(name, details);
    return details;
  }

  handleChanged({ name, summary }: AgentNotifications['pod.changed']): void {
    const isNew = !this.pods.has(name);
    this.pods.set(name, summary);
    if (isNew) return this.emit(undefined);
    if (!this.details.has(name)) return this.emit(name);
    // Someone opened this pod: bring its details up to date (after any read already under way,
    // which may predate this change), then refresh its node once.
    const previous = this.fetching.get(name) ?? Promise.resolve(undefined);
    previous.catch(() => undefined).then(() => this.fetchDetails(name)).then(() => this.emit(name), () => {
      this.details.delete(name);
      this.emit(name);
    });
  }

  handleRemoved({ name }: AgentNotifications['pod.removed']): void {
    if (!this.pods.delete(name)) return;
    this.details.delete(name);
    this.emit(undefined);
  }

  /** Disconnected: nothing is known any more. */
  clear(): void {
    this.generation++;
    const hadAny = this.pods.size > 0;
    this.pods.clear();
    this.details.clear();
    if (hadAny) this.emit(undefined);
  }

  private emit(name: string | undefined): void {
    for (const listener of [...this.listeners]) listener(name);
  }
}
