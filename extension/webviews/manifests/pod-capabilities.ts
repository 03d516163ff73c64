/*
 * Capabilities in a Pod: securityContext.capabilities says what to add to and drop from the
 * runtime's default set (Docker's 14), where config.json lists the resulting sets in full. So
 * the translation is a difference against DEFAULT_CAPABILITIES in one direction and the same
 * arithmetic as `--cap-add/--cap-drop` in the other. Kubernetes writes names without "CAP_".
 */
import { CAPABILITY_NAMES, DEFAULT_CAPABILITIES, type OciProcess } from '../../../agent/protocol';

export interface PodCapabilities {
  add?: string[];
  drop?: string[];
}

const short = (name: string): string => name.replace(/^CAP_/, '');

/** The add/drop that turns the default set into the config's bounding set; undefined when nothing differs. */
export function capabilitiesToPod(capabilities: OciProcess['capabilities']): PodCapabilities | undefined {
  if (!capabilities?.bounding) return undefined;
  const chosen = new Set(capabilities.bounding);
  const defaults = new Set<string>(DEFAULT_CAPABILITIES);
  const added = CAPABILITY_NAMES.filter((name) => chosen.has(name) && !defaults.has(name)).map(short);
  const dropped = DEFAULT_CAPABILITIES.filter((name) => !chosen.has(name)).map(short);
  if (added.length === 0 && dropped.length === 0) return undefined;
  // Keeping fewer than are dropped reads better as "drop ALL, add back these" (the usual hardening idiom).
  if (chosen.size < dropped.length) {
    const kept = CAPABILITY_NAMES.filter((name) => chosen.has(name)).map(short);
    return { ...(kept.length ? { add: kept } : {}), drop: ['ALL'] };
  }
  return { ...(added.length ? { add: added } : {}), ...(dropped.length ? { drop: dropped } : {}) };
}

/** securityContext.capabilities → capAdd/capDrop, with one-line errors for anything else. */
export function podCapabilitiesToOptions(value: unknown, where: string): { capAdd?: string[]; capDrop?: string[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected a mapping with add and/or drop`);
  const entries = value as Record<string, unknown>;
  const extra = Object.keys(entries).find((key) => key !== 'add' && key !== 'drop');
  if (extra) throw new Error(`${where}.${extra}: not supported here (supported: add, drop)`);
  const list = (key: 'add' | 'drop'): string[] | undefined => {
    const names = entries[key];
    if (names === undefined) return undefined;
    if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) throw new Error(`${where}.${key}: expected a list of capability names`);
    for (const name of names as string[]) {
      const full = name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`;
      if (name.toUpperCase() !== 'ALL' && !(CAPABILITY_NAMES as readonly string[]).includes(full)) throw new Error(`${where}.${key}: unknown capability ${JSON.stringify(name)}`);
    }
    return names as string[];
  };
  const add = list('add');
  const drop = list('drop');
  return { ...(add?.length ? { capAdd: add } : {}), ...(drop?.length ? { capDrop: drop } : {}) };
}
