/*
 * extensionTestsPath module for Containers Lab: runs INSIDE code-server's extension host, with the
 * packaged extension loaded, and drives it through its commands (vscode.commands.executeCommand)
 * and its tree providers — no UI clicks. The vitest side (test/e2e/extension-tests.e2e.ts) starts
 * an agent service on a throwaway socket and sets containersLab.target = "local" with
 * containersLab.agent.socketPath pointing at it, so these tests check command and provider logic
 * against a real agent; the extension host runs as root on the same machine, so the kernel's
 * /proc/<pid>/ns/* is read here as the independent witness.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ContainerRecord } from '../../../agent/protocol';
import type { Lab } from '../../../extension/lab';
import type { ContainersTreeNode } from '../../../extension/views/containers/tree-node';
import type { LabTarget } from '../../../extension/connection/types';
import { assert, assertEqual, eventually, runAll, test } from './runner';

const EXTENSION_ID = 'containers-lab.containers-lab';
let lab: Lab;
let record: ContainerRecord;

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

async function childrenOf(node?: ContainersTreeNode): Promise<{ node: ContainersTreeNode; item: vscode.TreeItem }[]> {
  const nodes = (await lab.containers.getChildren(node)) ?? [];
  return nodes.map((child) => ({ node: child, item: lab.containers.getTreeItem(child) as vscode.TreeItem }));
}

test('the extension activates and returns its Lab', async () => {
  const extension = vscode.extensions.getExtension<Lab>(EXTENSION_ID);
  assert(extension, `${EXTENSION_ID} is not installed`);
  lab = extension.isActive ? extension.exports : await extension.activate();
  assert(lab && lab.connection && lab.containers, 'activate() did not return the Lab');
});

test('every command the manifest contributes is registered', async () => {
  const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: { command: string }[] } };
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = manifest.contributes.commands.map((c) => c.command).filter((id) => !registered.has(id));
  assertEqual(missing, [], 'contributed but not registered');
});

test('Connect with target "local" reaches the agent on the configured socket', async () => {
  const socket = vscode.workspace.getConfiguration('containersLab').get<string>('agent.socketPath');
  assertEqual(socket, process.env.CONTAINERS_LAB_E2E_SOCKET, 'containersLab.agent.socketPath');
  const target = await vscode.commands.executeCommand<LabTarget>('containersLab.connect');
  assertEqual(target?.kind, 'local', 'target kind');
  assertEqual(lab.connection.state, 'connected', 'connection state');
  assert(lab.connection.info?.version, 'agent.info has no version');
});

test('Start busybox container returns a running record and the Containers provider shows it', async () => {
  record = (await vscode.commands.executeCommand<ContainerRecord>('containersLab.startBusybox'))!;
  assert(record && record.id, 'startBusybox returned no record');
  assertEqual(record.status, 'running', 'status');
  assert(record.pid && existsSync(`/proc/${record.pid}`), `PID ${record.pid} is not running`);
  const top = await childrenOf();
  const node = top.find((entry) => label(entry.item) === record.name);
  assert(node, `no tree node "${record.name}" (nodes: ${top.map((e) => label(e.item)).join(', ')})`);
  const sections = (await childrenOf(node.node)).map((entry) => label(entry.item));
  for (const section of ['Processes', 'Namespaces', 'Cgroup', 'Filesystem', 'Network']) {
    assert(sections.some((text) => text.startsWith(section)), `section ${section} missing (has ${sections.join(', ')})`);
  }
});

test('the Namespaces rows carry the kernel\'s inodes for /proc/<pid>/ns/*', async () => {
  const node = (await childrenOf()).find((entry) => label(entry.item) === record.name)!;
  const namespaces = (await childrenOf(node.node)).find((entry) => label(entry.item).startsWith('Namespaces'))!;
  const rows = (await childrenOf(namespaces.node)).map((entry) => label(entry.item));
  assertEqual(rows.length, 7, `namespace rows (${rows.join(', ')})`);
  for (const row of rows) {
    const [type, rest] = row.split(': ');
    const [inode, ...note] = rest.split(' ');
    const own = String(statSync(`/proc/${record.pid}/ns/${type}`).ino);
    assertEqual(inode, own, `${type} inode vs /proc/${record.pid}/ns/${type}`);
    // The extension host runs in the host's namespaces, as the agent here does (and may not read PID 1's).
    const hosts = String(statSync(`/proc/self/ns/${type}`).ino);
    assertEqual(note.join(' '), own === hosts ? 'shared with host' : '', `${type} row's note (the host's ${type} is ${hosts})`);
  }
});

test('Open Shell in Container opens a terminal whose shell joins the container', async () => {
  const procsFile = Object.values(record.cgroup?.directories ?? {}).map((dir) => join(dir, 'cgroup.procs')).find((file) => existsSync(file));
  assert(procsFile, 'no cgroup.procs for the container');
  const processes = () => readFileSync(procsFile, 'utf8').trim().split('\n').filter(Boolean);
  const before = processes();
  const name = await vscode.commands.executeCommand<string>('containersLab.openShell', record.id);
  assertEqual(name, `Shell: ${record.name}`, 'terminal name');
  await eventually('the terminal in window.terminals', () => vscode.window.terminals.some((terminal) => terminal.name === name));
  // the shell is a new process in the container's cgroup and in its PID namespace
  const shellPid = await eventually('a new process in the container cgroup', () => processes().find((pid) => !before.includes(pid)));
  assertEqual(statSync(`/proc/${shellPid}/ns/pid`).ino, statSync(`/proc/${record.pid}/ns/pid`).ino, 'shell PID namespace');
  for (const terminal of vscode.window.terminals) if (terminal.name === name) terminal.dispose();
  await eventually('the shell process gone after closing the terminal', () => !processes().includes(shellPid));

  // A shell that ends on its own reports its exit code, as any terminal does.
  const second = await openShellTerminal(name);
  await eventually('the second shell in the container cgroup', () => processes().find((pid) => !before.includes(pid)));
  second.sendText('exit 3');
  const status = await closedStatus(second);
  assertEqual(status?.code, 3, 'exit code of a shell that ran `exit 3`');
});

test('keys typed while the shell is still starting reach it (nothing typed ahead is lost)', async () => {
  // The container's cgroup is frozen behind the agent's back, so the shell's process stops as it
  // joins the cgroup and exec.start cannot answer until the thaw: what is typed meanwhile must be
  // kept by the terminal, not dropped for want of a session.
  freeze(true);
  let name: string | undefined;
  try {
    const known = new Set(vscode.window.terminals);
    name = await vscode.commands.executeCommand<string>('containersLab.openShell', record.id);
    const terminal = vscode.window.terminals.find((candidate) => candidate.name === name && !known.has(candidate));
    assert(terminal, 'the new shell terminal, right after the command');
    terminal.sendText('exit 4');
    await new Promise((resolve) => setTimeout(resolve, 500));
    freeze(false);
    assertEqual((await closedStatus(terminal))?.code, 4, 'exit code of `exit 4`, typed before the shell had started');
  } finally {
    freeze(false);
    for (const terminal of vscode.window.terminals) if (terminal.name === name) terminal.dispose();
  }
});

/** Freezes or thaws the container's cgroup through the kernel's own file (v1 freezer or v2). */
function freeze(frozen: boolean): void {
  const directories = record.cgroup?.directories ?? {};
  if (directories.freezer) writeFileSync(join(directories.freezer, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
  else if (directories.unified) writeFileSync(join(directories.unified, 'cgroup.freeze'), frozen ? '1' : '0');
  else throw new Error('the container has no freezer cgroup');
}

/** Runs Open Shell and returns its terminal. */
async function openShellTerminal(name: string): Promise<vscode.Terminal> {
  const known = new Set(vscode.window.terminals);
  assertEqual(await vscode.commands.executeCommand<string>('containersLab.openShell', record.id), name, 'terminal name');
  return eventually('the new shell terminal', () => vscode.window.terminals.find((terminal) => terminal.name === name && !known.has(terminal)));
}

/** The terminal's exit status once it has closed. */
async function closedStatus(terminal: vscode.Terminal, timeout = 10_000): Promise<vscode.TerminalExitStatus | undefined> {
  await eventually('the terminal closed', () => !vscode.window.terminals.includes(terminal), timeout);
  return terminal.exitStatus;
}

test('Stop Container stops it (the store and provider follow); its open shell closes quietly', async () => {
  const procsFile = Object.values(record.cgroup?.directories ?? {}).map((dir) => join(dir, 'cgroup.procs')).find((file) => existsSync(file))!;
  const before = readFileSync(procsFile, 'utf8').trim().split('\n').filter(Boolean);
  const shell = await openShellTerminal(`Shell: ${record.name}`);
  await eventually('the shell in the container cgroup', () => readFileSync(procsFile, 'utf8').trim().split('\n').filter(Boolean).length > before.length);
  const status = await vscode.commands.executeCommand<string>('containersLab.stopContainer', record.id);
  assertEqual(status, 'stopped', 'status returned by stopContainer');
  // Killed with its container (SIGKILL, 137): closed without an exit code, so VS Code shows no error.
  const exit = await closedStatus(shell, 5_000);
  assertEqual(exit?.code, undefined, 'exit code of a shell whose container was stopped');
  await eventually('PID gone', () => !existsSync(`/proc/${record.pid}/ns`));
  const node = (await childrenOf()).find((entry) => label(entry.item) === record.name);
  assert(node, 'the stopped container left the tree');
  assertEqual(lab.store.find(record.id)?.status, 'stopped', 'status in the store');
});

test('Remove Container removes it from the provider and the kernel', async () => {
  const id = await vscode.commands.executeCommand<string>('containersLab.removeContainer', record.id);
  assertEqual(id, record.id, 'id returned by removeContainer');
  await eventually('the node gone from the provider', async () => !(await childrenOf()).some((entry) => label(entry.item) === record.name));
  for (const dir of Object.values(record.cgroup?.directories ?? {})) assert(!existsSync(dir), `cgroup ${dir} still exists`);
});

test('Remove All Containers with none left does nothing and returns 0', async () => {
  assertEqual(await vscode.commands.executeCommand<number>('containersLab.removeAllContainers'), 0, 'removed count');
});

test('Disconnect leaves the provider empty and the state disconnected', async () => {
  await vscode.commands.executeCommand('containersLab.disconnect');
  assertEqual(lab.connection.state, 'disconnected', 'connection state');
  assertEqual((await childrenOf()).length, 0, 'tree nodes after disconnect');
});

export function run(): Promise<void> {
  return runAll();
}
