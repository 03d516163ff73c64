/*
 * The containers this agent knows, in memory: each one's record (./store.ts keeps it on disk)
 * and the config.json it was made from, read once — it never changes after create.
 *
 * A learner names a container the way Docker lets them: by its name, or by any prefix of its id
 * that only one container has (`containers-lab stop 3f2a`). Anything else is a one-line error
 * that says which it was: no such container, or a prefix that several ids share.
 */
import { badInput, notFound } from '../../errors';
import type { OciSpec } from '../../protocol';
import type { ContainerState, StateStore } from './store';

export class ContainerTable {
  private readonly states = new Map<string, ContainerState>();
  private readonly configs = new Map<string, OciSpec>();

  constructor(private readonly store: StateStore) {}

  /** Adds (or replaces) a container; its config when the caller has it already. */
  set(state: ContainerState, config?: OciSpec): void {
    this.states.set(state.id, state);
    if (config) this.configs.set(state.id, config);
  }

  has(id: string): boolean {
    return this.states.has(id);
  }

  delete(id: string): void {
    this.states.delete(id);
    this.configs.delete(id);
  }

  all(): ContainerState[] {
    return [...this.states.values()];
  }

  /** Those whose first process lives (or was last seen alive): running, paused or created. */
  withProcess(): ContainerState[] {
    return this.all().filter((state) => state.pid !== null && state.status !== 'stopped');
  }

  findByName(name: string): ContainerState | undefined {
    return this.all().find((state) => state.name === name);
  }

  /** By name, else by a prefix of the id that only one container has. */
  lookup(idOrName: string): ContainerState {
    if (typeof idOrName !== 'string' || idOrName.length === 0) throw badInput('a container name or id is required');
    const byName = this.findByName(idOrName);
    if (byName) return byName;
    const matches = this.all().filter((state) => state.id.startsWith(idOrName));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw badInput(`"${idOrName}" matches ${matches.length} containers; use more of the id`);
    throw notFound(`no container named or with id "${idOrName}"`);
  }

  /**
   * The layers every container stands on, for image prune and inspect: the records on disk (a
   * container another process made counts too) and this table's own (one being made).
   */
  layersInUse(): Pick<ContainerState, 'name' | 'rootfs'>[] {
    const byId = new Map<string, Pick<ContainerState, 'name' | 'rootfs'>>();
    for (const id of this.store.ids()) {
      try {
        const state = this.store.load(id);
        if (state) byId.set(id, { name: state.name, rootfs: state.rootfs });
      } catch {
        // a record being rewritten or removed: this table's own copy (below) or none
      }
    }
    for (const state of this.states.values()) byId.set(state.id, { name: state.name, rootfs: state.rootfs });
    return [...byId.values()];
  }

  /** config.json never changes after create: read once. */
  config(state: ContainerState): OciSpec {
    let config = this.configs.get(state.id);
    if (!config) {
      config = this.store.config(state.id);
      this.configs.set(state.id, config);
    }
    return config;
  }
}
