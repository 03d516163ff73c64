/*
 * What the extension knows about the lab's containers, kept current from the agent's
 * notifications instead of polling: the list (container.list) once per connection, then
 * container.changed / container.removed as they come. Full records (container.inspect) are
 * fetched only for containers whose node was opened, and re-fetched only for the one container a
 * notification names. No 'vscode' here: views subscribe with onDidChange.
 */
import type { AgentNotifications, ContainerRecord, ContainerSummary } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';
import { summaryFromRecord } from './model';

/** 'all' when containers came or went; otherwise the id of the one container that changed. */
export type StoreChange = { kind: 'all' } | { kind: 'container'; id: string };

export class ContainerStore {
  private summaries = new Map<string, ContainerSummary>();
  private records = new Map<string, ContainerRecord>();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  /** Bumped by clear(): answers that arrive for an older connection are dropped. */
  private generation = 0;

  /** The current agent client, or null while not connected (the Files node asks through it). */
  constructor(readonly client: () => AgentClient | null) {}

  onDidChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): ContainerSummary[] {
    return [...this.summaries.values()];
  }

  summary(id: string): ContainerSummary | undefined {
    return this.summaries.get(id);
  }

  record(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  /** By id, id prefix or name — what a user or a test passes to a command. */
  find(idOrName: string): ContainerSummary | undefined {
    const exact = this.summaries.get(idOrName);
    if (exact) return exact;
    const all = this.list();
    return all.find((summary) => summary.name === idOrName) ?? all.find((summary) => idOrName.length >= 4 && summary.id.startsWith(idOrName));
  }

  /** Re-reads the whole list (on connect and on "Refresh"). Records are dropped and re-fetched lazily. */
  async load(): Promise<void> {
    const client = this.client();
    if (!client) return;
    const generation = this.generation;
    const list = await client.call('container.list', {});
    if (generation !== this.generation) return;
    this.summaries = new Map(list.map((summary) => [summary.id, summary]));
    this.records.clear();
    this.emit({ kind: 'all' });
  }

  /**
   * Fetches one container's record. `notify: false` for the lazy first fetch a tree node does
   * while VS Code is already asking for its children.
   */
  async inspect(id: string, notify = true): Promise<ContainerRecord | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const generation = this.generation;
    let record: ContainerRecord;
    try {
      record = await client.call('container.inspect', { id });
    } catch (error) {
      // The container went away between the notification and our question: the removal
      // notification follows (or already came) and takes it out of the list.
      if (!this.summaries.has(id)) return undefined;
      throw error;
    }
    if (generation !== this.generation || !this.summaries.has(record.id)) return undefined;
    this.put(record, notify);
    return record;
  }

  /** A record the caller already has (e.g. container.run's answer). */
  put(record: ContainerRecord, notify = true): void {
    const isNew = !this.summaries.has(record.id);
    this.records.set(record.id, record);
    this.summaries.set(record.id, summaryFromRecord(record));
    if (notify) this.emit(isNew ? { kind: 'all' } : { kind: 'container', id: record.id });
  }

  handleChanged(params: AgentNotifications['container.changed']): void {
    const isNew = !this.summaries.has(params.id);
    this.summaries.set(params.id, params.summary);
    if (isNew) {
      this.emit({ kind: 'all' });
    } else if (this.records.has(params.id)) {
      // Someone looked inside this container: bring its record up to date (one inspect, one node).
      this.inspect(params.id).catch(() => this.emit({ kind: 'container', id: params.id }));
    } else {
      this.emit({ kind: 'container', id: params.id });
    }
  }

  handleRemoved(params: AgentNotifications['container.removed']): void {
    if (!this.summaries.delete(params.id)) return;
    this.records.delete(params.id);
    this.emit({ kind: 'all' });
  }

  /** Disconnected: nothing is known any more. */
  clear(): void {
    this.generation++;
    const hadAny = this.summaries.size > 0;
    this.summaries.clear();
    this.records.clear();
    if (hadAny) this.emit({ kind: 'all' });
  }

  private emit(change: StoreChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }
}
