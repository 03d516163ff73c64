/*
 * "Start busybox container": one step with defaults (see busybox-options.ts), or the guided
 * form for name, namespaces, limits and network. Either way the agent turns the options into an
 * OCI config.json and realises it; the new container's node is revealed in the tree.
 */
import * as vscode from 'vscode';
import type { ContainerRecord, NamespaceType, NetworkMode, RunOptions } from '../../agent/protocol';
import { NAMESPACE_TYPES } from '../../agent/protocol';
import type { Lab } from '../lab';
import {
  DEFAULT_MEMORY,
  DEFAULT_NAMESPACES,
  defaultBusyboxOptions,
  guidedRunOptions,
  networkChoices,
  nextBusyboxName,
  validateContainerName,
  validateCpus,
  validateMemory,
  validatePids,
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

/** Runs the container with progress, records it, reveals its node. Returns the record. */
export async function startContainer(lab: Lab, options: RunOptions): Promise<ContainerRecord> {
  const client = await lab.ensureConnected();
  const name = options.name ?? 'busybox';
  const record = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Containers Lab: starting busybox container "${name}"…` },
    () => client.call('container.run', options, { timeoutMs: 120_000 }),
  );
  lab.output.info(`started ${record.name} (${record.id}): PID ${record.pid}, ${record.network.ip ?? 'no IP'}`);
  lab.store.put(record);
  await lab.containers.reveal(record.id).catch(() => undefined);
  return record;
}

async function ask(options: vscode.InputBoxOptions): Promise<string> {
  const value = await vscode.window.showInputBox({ ignoreFocusOut: true, ...options });
  if (value === undefined) throw new Cancelled();
  return value;
}

export function registerStartBusyboxCommands(lab: Lab): void {
  registerLabCommand(lab, 'containersLab.startBusybox', async () => {
    await lab.ensureConnected();
    return startContainer(lab, defaultBusyboxOptions(nextBusyboxName(lab.store.list().map((summary) => summary.name))));
  });

  registerLabCommand(lab, 'containersLab.startBusyboxGuided', async () => {
    await lab.ensureConnected();
    const names = lab.store.list().map((summary) => summary.name);
    const title = 'Start busybox container';
    const name = await ask({
      title: `${title} (1/5): name`,
      prompt: 'The container\'s name (also its hostname when it has its own UTS namespace)',
      value: nextBusyboxName(names),
      validateInput: (text) => validateContainerName(text, names),
    });

    const picked = await vscode.window.showQuickPick(
      NAMESPACE_TYPES.map((type) => ({ label: type, description: NAMESPACE_HELP[type], picked: DEFAULT_NAMESPACES.includes(type), type })),
      { title: `${title} (2/5): namespaces`, placeHolder: 'Which namespaces does the container get of its own? (unchecked: shared with the host)', canPickMany: true, ignoreFocusOut: true },
    );
    if (!picked) throw new Cancelled();
    const namespaces = picked.map((item) => item.type);

    const memory = await ask({ title: `${title} (3/5): memory limit`, prompt: 'Memory limit (cgroup memory.max), e.g. 64m or 128Mi; empty for none', value: DEFAULT_MEMORY, validateInput: validateMemory });
    const cpus = await ask({ title: `${title} (4/5): CPU and process limits`, prompt: 'CPU limit (cgroup cpu.max): CPUs or millicores, e.g. 0.5 or 500m; empty for none', value: '', validateInput: validateCpus });
    const pids = await ask({ title: `${title} (4/5): CPU and process limits`, prompt: 'Process limit (cgroup pids.max), e.g. 64; empty for none', value: '', validateInput: validatePids });

    const choices = networkChoices(namespaces);
    let net = choices[0]!;
    if (choices.length > 1) {
      const network = await vscode.window.showQuickPick(
        choices.map((mode) => ({ label: mode, description: NETWORK_HELP[mode], mode })),
        { title: `${title} (5/5): network`, placeHolder: 'How is the container networked?', ignoreFocusOut: true },
      );
      if (!network) throw new Cancelled();
      net = network.mode;
    }
    return startContainer(lab, guidedRunOptions({ name, namespaces, memory, cpus, pids, net }));
  });
}
