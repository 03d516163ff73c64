/*
 * The options behind "Start busybox container": one step with sensible defaults, or a guided form.
 * Pure rules (names, commands, sizes, limits), kept free of 'vscode' so they are unit-tested.
 * Each step of the form is checked as it is typed, by the agent's own rules — the protocol's
 * quantity parser and the runtime's minimums — so "1k" of memory is refused at its step with the
 * reason, not at the end. What only the lab host knows (its memory, its CPUs, what the image holds)
 * the agent checks when the container is made; its one-line error is then shown with the answers
 * kept for another try.
 *
 * Defaults, and why: a generated name ("busybox-1", the lowest free number) that is also the
 * hostname — so `hostname` in the shell answers with the name in the tree, which shows the UTS
 * namespace at work; `sh` as PID 1, on a terminal the agent keeps open (as `docker run -dit
 * busybox` does), so the process tree, `ps` and config.json show a program a learner knows;
 * bridge networking, so the container has an eth0, a veth pair and a bridge to look at; a 64 MiB
 * memory limit, so the Cgroup section has a real limit to show. Namespaces are left to the
 * agent's default (every type except user).
 */
import type { NamespaceType, NetworkMode, RunOptions } from '../../agent/protocol';
import { parseCpuQuantity, parseMemoryQuantity } from '../../agent/protocol/quantity';
import { DEFAULT_CPU_PERIOD_US, MAX_PIDS, MIN_CPU_QUOTA_US, MIN_MEMORY_BYTES } from '../../agent/protocol/limit-bounds';
import { splitWords } from '../../agent/command-line/words';

export const DEFAULT_MEMORY = '64m';
export const DEFAULT_NETWORK: NetworkMode = 'bridge';
/** PID 1 of a container started from the extension, unless the guided form is told otherwise. */
export const DEFAULT_COMMAND = 'sh';
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

/** One-step defaults: `sh` on a terminal (tty), like `containers-lab run -dit --memory 64m busybox`. */
export function defaultBusyboxOptions(name: string): RunOptions {
  return { name, hostname: name, image: 'busybox', net: DEFAULT_NETWORK, memory: DEFAULT_MEMORY, tty: true, args: [DEFAULT_COMMAND] };
}

/** Undefined when fine, else the message an input box shows under the field. */
export function validateContainerName(text: string, existingNames: Iterable<string>): string | undefined {
  if (!NAME.test(text)) return "Use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit.";
  for (const name of existingNames) if (name === text) return `A container named "${text}" already exists.`;
  return undefined;
}

/** The command line as the program and its arguments, split as a shell would ('…' and "…" keep spaces). */
export function commandWords(text: string): string[] {
  return splitWords(text.trim());
}

/** PID 1's command: a program, then its arguments. */
export function validateCommand(text: string): string | undefined {
  let words: string[];
  try {
    words = commandWords(text);
  } catch (error) {
    return sentence(error);
  }
  if (words.length === 0 || words[0] === '') return `Give a program to run as PID 1, such as ${DEFAULT_COMMAND} or sleep 1d.`;
  return undefined;
}

/** "64m", "128Mi", "1Gi", "4096" — what `run --memory` takes (the protocol's rules), at least the agent's minimum; empty means no limit. */
export function validateMemory(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  let bytes: number;
  try {
    bytes = parseMemoryQuantity(text.trim());
  } catch (error) {
    return sentence(error);
  }
  if (bytes < MIN_MEMORY_BYTES) {
    return `${text.trim()} is ${bytes} bytes: a container needs at least ${MIN_MEMORY_BYTES / 1024 ** 2} MiB (4m), or a busybox shell cannot even start.`;
  }
  return undefined;
}

/** "0.5", "2", "500m", at least the kernel's smallest CPU quota; empty means no limit. */
export function validateCpus(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  let cpus: number;
  try {
    cpus = parseCpuQuantity(text.trim());
  } catch (error) {
    return sentence(error);
  }
  const smallest = MIN_CPU_QUOTA_US / DEFAULT_CPU_PERIOD_US;
  if (Math.round(cpus * DEFAULT_CPU_PERIOD_US) < MIN_CPU_QUOTA_US) {
    return `${text.trim()} is too small: at least ${smallest} CPUs (${smallest * 1000}m), the kernel's smallest quota (${MIN_CPU_QUOTA_US / 1000} ms of CPU time per ${DEFAULT_CPU_PERIOD_US / 1000} ms).`;
  }
  return undefined;
}

/** "64": a whole number from 1 to the kernel's PID limit; empty means no limit. */
export function validatePids(text: string): string | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text.trim());
  if (Number.isInteger(value) && value >= 1 && value <= MAX_PIDS) return undefined;
  return `Give a whole number of processes from 1 to ${MAX_PIDS}, such as 64 (empty: no limit).`;
}

/** Network modes that make sense for the chosen namespaces. */
export function networkChoices(namespaces: NamespaceType[]): NetworkMode[] {
  return namespaces.includes('net') ? ['bridge', 'none'] : ['host'];
}

export interface GuidedAnswers {
  name: string;
  /** PID 1's command line, e.g. "sh" or "sleep 1d". */
  command: string;
  namespaces: NamespaceType[];
  memory: string;
  cpus: string;
  pids: string;
  net: NetworkMode;
}

/** Which answer an agent's refusal is about, so the retried form can show it at that step. */
export type GuidedStep = 'name' | 'command' | 'memory' | 'cpus' | 'pids';

export function stepRefused(message: string): GuidedStep | null {
  if (/\bmemory\b/i.test(message)) return 'memory';
  if (/\bcpus?\b/i.test(message)) return 'cpus';
  if (/\bpids\b/i.test(message)) return 'pids';
  if (/cannot execute|invalid command/i.test(message)) return 'command';
  if (/\bnamed\b|invalid name/i.test(message)) return 'name';
  return null;
}

/** The run options the guided form's answers mean. Empty limits are left out (no limit). */
export function guidedRunOptions(answers: GuidedAnswers): RunOptions {
  const options: RunOptions = { name: answers.name, image: 'busybox', net: answers.net, tty: true, args: commandWords(answers.command) };
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

/** An error's message as a sentence for an input box: capital first letter, full stop. */
function sentence(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
