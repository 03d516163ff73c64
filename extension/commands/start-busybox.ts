/*
 * "Start busybox container": one step with defaults (see busybox-options.ts), or the guided
 * form for name, command, namespaces, limits and network. Either way the agent turns the options
 * into an OCI config.json and realises it; the new container's node is revealed in the tree.
 *
 * The guided form checks every answer as it is typed (busybox-options.ts). If the agent still
 * refuses the container — a limit above what the lab host has, a program the image lacks — its
 * one-line reason is shown with "Edit and Retry", which opens the form again with every answer
 * kept, the refused one marked at its step.
 */
import * as vscode from 'vscode';
import type { ContainerRecord, NamespaceType, NetworkMode, RunOptions } from '../../agent/protocol';
import { NAMESPACE_TYPES } from '../../agent/protocol';
import type { Lab } from '../lab';
import { errorMessage } from '../output';
import {
  DEFAULT_COMMAND,
  DEFAULT_MEMORY,
  DEFAULT_NAMESPACES,
  DEFAULT_NETWORK,
  defaultBusyboxOptions,
  guidedRunOptions,
  networkChoices,
  nextBusyboxName,
  stepRefused,
  validateCommand,
  validateContainerName,
  validateCpus,
  validateMemory,
  validatePids,
  type GuidedAnswers,
  type GuidedStep,
} from './busybox-options';
import { Cancelled } from './cancelled';
import { registerLabCommand } from './register';

const NAMESPACE_HELP: Record<NamespaceType, string> = {
  cgroup: 'its own view of the cgroup tree (/proc/self/cgroup shows /)',
  ipc: 'its own System V IPC and POSIX message queues',
  mnt: 'its own mount table: the overlay root, /proc, /dev',
  net: 'its own network stack: eth0, routes, ports',
  pid: 'its own PID numbers: the shell is PID 1',
  user: 'its own user IDs: root inside is an unprivileged user outside',
  uts: 'its own hostname',
};

const NETWORK_HELP: Record<NetworkMode, string> = {
  bridge: 'eth0 on a veth pair plugged into the lab bridge, with an address',
  none: 'only a loopback device',
  host: 'share the host\'s network (no net namespace)',
};

const TITLE = 'Start busybox container';
const EDIT_AND_RETRY = 'Edit and Retry';

/** Runs the container with progress, records it, reveals its node. Returns the record. */
export async function startContainer(lab: Lab, options: RunOptions): Promise<ContainerRecord> {
  const client = await lab.ensureConnected();
  const what = options.image && options.image !== 'busybox' ? `a container of ${options.image}` : `busybox container "${options.name ?? 'busybox'}"`;
  const record = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Containers Lab: starting ${what}…` },
    () => client.call('container.run', options, { timeoutMs: 120_000 }),
  );
  lab.output.info(`started ${record.name} (${record.id}): PID ${record.pid}, ${record.network.ip ?? 'no IP'}`);
  lab.store.put(record);
  await lab.containers.reveal(record.id).catch(() => undefined);
  return record;
}

/** What the previous try answered and what the agent said about it. */
interface Retry {
  answers: GuidedAnswers;
  refused: { step: GuidedStep | null; value: string; message: string };
}

async function ask(options: vscode.InputBoxOptions): Promise<string> {
  const value = await vscode.window.showInputBox({ ignoreFocusOut: true, ...options });
  if (value === undefined) throw new Cancelled();
  return value;
}

/**
 * One text step: checked as typed. On a retry, the step whose answer the agent refused says so
 * above the field, and while the field still holds that answer, as a warning under it (which does
 * not block Enter: the lab host may have changed meanwhile).
 */
function askStep(step: GuidedStep, retry: Retry | undefined, options: vscode.InputBoxOptions & { validate: (text: string) => string | undefined }): Promise<string> {
  const { validate, ...rest } = options;
  const refused = retry?.refused.step === step ? retry.refused : null;
  return ask({
    ...rest,
    ...(refused ? { prompt: `The agent refused "${refused.value}": ${refused.message}. ${rest.prompt ?? ''}` } : {}),
    validateInput: (text) => {
      const problem = validate(text);
      if (problem !== undefined) return problem;
      if (refused && text.trim() === refused.value.trim()) return { message: `The agent refused this: ${refused.message}`, severity: vscode.InputBoxValidationSeverity.Warning };
      return undefined;
    },
  });
}

/** The guided form, each answer pre-filled from the last try (or the defaults). */
async function askAnswers(lab: Lab, retry: Retry | undefined): Promise<GuidedAnswers> {
  const names = lab.store.list().map((summary) => summary.name);
  const last = retry?.answers;
  const name = await askStep('name', retry, {
    title: `${TITLE} (1/6): name`,
    prompt: 'The container\'s name (also its hostname when it has its own UTS namespace)',
    value: last?.name ?? nextBusyboxName(names),
    validate: (text) => validateContainerName(text, names),
  });
  const command = await askStep('command', retry, {
    title: `${TITLE} (2/6): command`,
    prompt: `PID 1 of the container: a program and its arguments, on a terminal the agent keeps open (docker run -dit); ${DEFAULT_COMMAND} waits for input`,
    value: last?.command ?? DEFAULT_COMMAND,
    validate: validateCommand,
  });

  const wanted = last?.namespaces ?? DEFAULT_NAMESPACES;
  const picked = await vscode.window.showQuickPick(
    NAMESPACE_TYPES.map((type) => ({ label: type, description: NAMESPACE_HELP[type], picked: wanted.includes(type), type })),
    { title: `${TITLE} (3/6): namespaces`, placeHolder: 'Which namespaces does the container get of its own? (unchecked: shared with the host)', canPickMany: true, ignoreFocusOut: true },
  );
  if (!picked) throw new Cancelled();
  const namespaces = picked.map((item) => item.type);

  const memory = await askStep('memory', retry, {
    title: `${TITLE} (4/6): memory limit`, prompt: 'Memory limit (cgroup memory.max), e.g. 64m or 128Mi; at least 4m; empty for none', value: last?.memory ?? DEFAULT_MEMORY, validate: validateMemory,
  });
  const cpus = await askStep('cpus', retry, {
    title: `${TITLE} (5/6): CPU and process limits`, prompt: 'CPU limit (cgroup cpu.max): CPUs or millicores, e.g. 0.5 or 500m; empty for none', value: last?.cpus ?? '', validate: validateCpus,
  });
  const pids = await askStep('pids', retry, {
    title: `${TITLE} (5/6): CPU and process limits`, prompt: 'Process limit (cgroup pids.max), e.g. 64; empty for none', value: last?.pids ?? '', validate: validatePids,
  });

  const choices = networkChoices(namespaces);
  let net = choices[0]!;
  if (choices.length > 1) {
    const previous = last?.net ?? DEFAULT_NETWORK;
    // The last answer first, so Enter keeps it.
    const ordered = [...choices].sort((a, b) => Number(b === previous) - Number(a === previous));
    const network = await vscode.window.showQuickPick(
      ordered.map((mode) => ({ label: mode, description: NETWORK_HELP[mode], mode })),
      { title: `${TITLE} (6/6): network`, placeHolder: 'How is the container networked?', ignoreFocusOut: true },
    );
    if (!network) throw new Cancelled();
    net = network.mode;
  }
  return { name, command, namespaces, memory, cpus, pids, net };
}

/** The value of the answer a refusal is about, to recognise it when the form is shown again. */
function answerOf(answers: GuidedAnswers, step: GuidedStep | null): string {
  return step === null ? '' : answers[step];
}

export function registerStartBusyboxCommands(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.startBusybox', async () => {
    await lab.ensureConnected();
    return startContainer(lab, defaultBusyboxOptions(nextBusyboxName(lab.store.list().map((summary) => summary.name))));
  });

  registerLabCommand(lab, 'containersLab.startBusyboxGuided', async () => {
    await lab.ensureConnected();
    let retry: Retry | undefined;
    for (;;) {
      const answers = await askAnswers(lab, retry);
      try {
        return await startContainer(lab, guidedRunOptions(answers));
      } catch (error) {
        const message = errorMessage(error);
        lab.output.error(`starting "${answers.name}" failed`, error);
        const choice = await vscode.window.showErrorMessage(`Could not start "${answers.name}": ${message}`, EDIT_AND_RETRY);
        if (choice !== EDIT_AND_RETRY) throw new Cancelled(); // shown already: end quietly
        const step = stepRefused(message);
        retry = { answers, refused: { step, value: answerOf(answers, step), message } };
      }
    }
  });
}
