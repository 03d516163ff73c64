/*
 * Lab files are templates: a task names "the lab's answer directory", "a bridge of its own", "a
 * random word" — values that exist only once an attempt has started. Filling them in one place,
 * over the whole lab, means a learner never reads a raw {{placeholder}}: not in the task, a check's
 * title or message, a hint, nor the solution. Before a start, a placeholder reads as what it will
 * be ("‹a bridge chosen at start›").
 *
 *   {{workdir}}          the lab's answer directory on the lab host
 *   {{token}}            a random word made at start (answers that must be found, not guessed)
 *   {{network:NAME}}     the bridge the attempt got for network NAME
 *   {{subnet:NAME}}      that bridge's subnet
 *   {{address:NAME:N}}   host N of that subnet (10.78.5.0/24, 2 → 10.78.5.2), for links made by hand
 *   {{port}}             a host port for the attempt (20000–29999, from its token), for published ports
 *   {{cli}}              how this lab host runs the containers-lab CLI ($CONTAINERS_LAB_CLI, else containers-lab)
 *   {{kubelet}}          the node's kubelet directory (its config.json holds registry credentials for pods)
 *   {{runc}}             containers-lab-runc as an executable path ($CONTAINERS_LAB_RUNC, else the name, found on PATH)
 *
 * Facts of running containers ({{pid:C}}, {{veth:C}}, …) are read when a step runs (./solution.ts).
 */
import type { LabDefinition } from './format';

export interface LabNetwork {
  bridge: string;
  subnet: string;
}

export interface TemplateValues {
  workdir: string;
  /** null before a start. */
  token: string | null;
  networks: Record<string, LabNetwork>;
  /** The node's kubelet directory (../pods/engine/image-pull.ts). */
  kubelet?: string;
}

const PLACEHOLDER = /\{\{\s*(workdir|token|network|subnet|address|port|cli|kubelet|runc)(?::([a-z0-9-]+))?(?::(\d{1,3}))?\s*\}\}/g;

/** How this lab host runs the containers-lab CLI: $CONTAINERS_LAB_CLI (a checkout's build), else the one on PATH. */
export function labCli(): string {
  return process.env.CONTAINERS_LAB_CLI ?? 'containers-lab';
}

/** The attempt's host port: the same for every string of one attempt, different between attempts. */
export function attemptPort(token: string): number {
  return 20000 + (parseInt(token.slice(0, 6), 16) % 10000);
}

/** Fills the attempt's values into one string; what is not known yet reads as what it will be. */
export function fill(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string, key: string | undefined, host: string | undefined) => {
    switch (name) {
      case 'port':
        return values.token ? String(attemptPort(values.token)) : '‹a port chosen at start›';
      case 'cli':
        return labCli();
      case 'runc':
        return process.env.CONTAINERS_LAB_RUNC ?? 'containers-lab-runc';
      case 'kubelet':
        return values.kubelet ?? '‹the kubelet directory›';
      case 'address': {
        const subnet = key === undefined ? undefined : values.networks[key]?.subnet;
        if (key === undefined || host === undefined) return whole;
        return subnet ? `${subnet.split('.').slice(0, 3).join('.')}.${Number(host)}` : '‹an address chosen at start›';
      }
      case 'workdir':
        return values.workdir;
      case 'token':
        return values.token ?? '‹a word made at start›';
      case 'network':
        return key === undefined ? whole : (values.networks[key]?.bridge ?? '‹a bridge chosen at start›');
      default:
        return key === undefined ? whole : (values.networks[key]?.subnet ?? '‹a subnet chosen at start›');
    }
  });
}

/** Every string of `value`, filled: a lab (or any part of one) as this attempt's learner reads it. */
export function fillAll<T>(value: T, values: TemplateValues): T {
  if (typeof value === 'string') return fill(value, values) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => fillAll(item, values)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillAll(item, values)])) as T;
  }
  return value;
}

/** The lab as one attempt sees it: every template of the file filled with that attempt's values. */
export function instantiate(lab: LabDefinition, values: TemplateValues): LabDefinition {
  return fillAll(lab, values);
}
