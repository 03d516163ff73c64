/*
 * The options behind "Start busybox container": one step with sensible defaults, or a guided form.
 * Pure rules (names, sizes, limits), kept free of 'vscode' so they are unit-tested; the agent checks
 * everything again and its one-line error is what the user finally sees.
 *
 * Defaults, and why: a generated name ("busybox-1", the lowest free number) that is also the
 * hostname — so `hostname` in the shell answers with the name in the tree, which shows the UTS
 * namespace at work; bridge networking, so the container has an eth0, a veth pair and a bridge to
 * look at; a 64 MiB memory limit, so the Cgroup section has a real limit to show. Namespaces are left
 * to the agent's default (every type except user).
 */
import type { NamespaceType, NetworkMode, RunOptions } from '../../agent/protocol';
import { parseCpuQuantity, parseMemoryQuantity } from '../../agent/protocol/quantity';

export const DEFAULT_MEMORY = '64m';
export const DEFAULT_NETWORK: NetworkMode = 'bridge';
/** The agent's default set: all seven types except user (user only with `userns`). */
export const DEFAULT_NAMESPACES: NamespaceType[] = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'];

/** The agent's own rule for names (agent/oci/from-run-options.ts): 1-63 of [A-Za-z0-9_.-], first alphanumeric. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** "busybox-N" with the lowest N not taken. */
export function nextBusyboxName(existingNames: Iterable<string>): string {
  const taken = new Set(existingNames);
  for (let number = 1; ; number++) {
    const name = `busybox-${number}`;
    if (!taken.has(name)) return name;
  }
}

/** One-step defaults. */
export function defaultBusyboxOptions(name: string): RunOptions {
  return { name, hostname: name, image: 'busybox', net: DEFAULT_NETWORK, memory: DEFAULT_MEMORY };
}

/** Undefined when fine, else the message an input box shows under the field. */
export function validateContainerName(text: string, existingNames: Iterable<string>): string | undefined {
  if (!NAME.test(text)) return "Use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit.";
  for (const name of existingNames) if (name === text) return `A container named "${text}" already exists.`;
  return undefined;
}

/** "64m", "128Mi", "1Gi", "4096" — what `run --memory` takes (the protocol's rules); empty means no limit. */
export function validateMemory(text: string): string | undefined {
  return refusal(() => parseMemoryQuantity(text.trim()), text, 'Give bytes or a size such as 64m, 128Mi or 1Gi (empty: no limit).');
}

/** "0.5", "2", "500m"; empty means no limit. */
export function validateCpus(text: string): string | undefined {
  return refusal(() => parseCpuQuantity(text.trim()), text, 'Give a number of CPUs greater than 0 or millicores, such as 0.5 or 500m (empty: no limit).');
}

function refusal(read: () => number, text: string, message: string): string | undefined {
  if (text.trim() === '') return undefined;
  try {
    read();
    return undefined;
  } catch {
    return message;
  }
}

/** "64"; empty means no limit. */
export function validatePids(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? undefined : 'Give a whole number of processes greater than 0, such as 64 (empty: no limit).';
}

/** Network modes that make sense for the chosen namespaces. */
export function networkChoices(namespaces: NamespaceType[]): NetworkMode[] {
  return namespaces.includes('net') ? ['bridge', 'none'] : ['host'];
}

export interface GuidedAnswers {
  name: string;
  namespaces: NamespaceType[];
  memory: string;
  cpus: string;
  pids: string;
  net: NetworkMode;
}

/** The run options the guided form's answers mean. Empty limits are left out (no limit). */
export function guidedRunOptions(answers: GuidedAnswers): RunOptions {
  const options: RunOptions = { name: answers.name, image: 'busybox', net: answers.net };
  const namespaces = answers.namespaces.filter((type) => type !== 'user');
  options.namespaces = namespaces;
  if (answers.namespaces.includes('user')) options.userns = true;
  // A hostname only means something in a UTS namespace of the container's own.
  if (namespaces.includes('uts')) options.hostname = answers.name;
  if (answers.memory.trim() !== '') options.memory = answers.memory.trim();
  if (answers.cpus.trim() !== '') options.cpus = answers.cpus.trim();
  if (answers.pids.trim() !== '') options.pids = Number(answers.pids);
  // eth0 lives in a network namespace of the container's own: without one the only choice is the
  // host's network, and the guided form does not offer bridge/none then (see networkChoices).
  if (!namespaces.includes('net')) options.net = 'host';
  return options;
}
