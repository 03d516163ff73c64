/*
 * What the extension knows about the lab's images, kept current from the agent's notifications:
 * the list (image.list) once per connection, then again whenever image.changed says names came
 * or went. Details (image.inspect: layers, the containers using the image) are fetched for the
 * images whose node was opened, and dropped when containers come or go, since "used by" changes
 * then. No 'vscode' here: the view subscribes with onDidChange.
 */
import type { ImageDetails, ImageListEntry } from '../../../agent/protocol';
import type { AgentClient } from '../../../agent/service/client';

export class ImageStore {
  private images = new Map<string, ImageListEntry>();
  private details = new Map<string, ImageDetails>();
  private readonly listeners = new Set<() => void>();
  /** Bumped by clear(): answers that arrive for an older connection are dropped. */
  private generation = 0;

  constructor(private readonly client: () => AgentClient | null) {}

  onDidChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): ImageListEntry[] {
    return [...this.images.values()];
  }

  /** By full name, familiar name (`alpine:3.20`) or image ID prefix. */
  find(reference: string): ImageListEntry | undefined {
    const all = this.list();
    return this.images.get(reference)
      ?? all.find((image) => image.familiarName === reference)
      ?? all.find((image) => reference.length >= 4 && image.id.replace(/^sha256:/, '').startsWith(reference.replace(/^sha256:/, '')));
  }

  cachedDetails(name: string): ImageDetails | undefined {
    return this.details.get(name);
  }

  /** Re-reads the list (on connect, on image.changed, on Refresh); details are fetched again when asked. */
  async load(): Promise<void> {
    const client = this.client();
    if (!client) return;
    const generation = this.generation;
    const list = await client.call('image.list', {});
    if (generation !== this.generation) return;
    this.images = new Map(list.map((image) => [image.name, image]));
    this.details.clear();
    this.emit();
  }

  async inspect(name: string): Promise<ImageDetails | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const generation = this.generation;
    const details = await client.call('image.inspect', { reference: name });
    if (generation !== this.generation || !this.images.has(name)) return undefined;
    this.details.set(name, details);
    return details;
  }

  /** Containers came or went: which images they use is asked again when a node is opened. */
  containersChanged(): void {
    if (this.details.size === 0) return;
    this.details.clear();
    this.emit();
  }

  clear(): void {
    this.generation++;
    const hadAny = this.images.size > 0;
    this.images.clear();
    this.details.clear();
    if (hadAny) this.emit();
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
