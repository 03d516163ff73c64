/*
 * Starts the real agent service (the bundled CLI's `serve`) as a separate process for tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { connectAgent, type AgentClient } from '../../agent/service/client';
import { leftovers, type Leftovers } from './kernel-witness';

const repo = join(__dirname, '..', '..');
export const AGENT_BUNDLE = join(repo, 'dist', 'agent', 'containers-lab.js');

export function ensureBuilt(): void {
  if (existsSync(AGENT_BUNDLE)) return;
  const result = spawnSync('node', [join(repo, 'build.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building the agent failed');
}

export interface RunningService {
  process: ChildProcess;
  client: AgentClient;
  stderr: () => string;
  /** How the service ended when nobody stopped it (a crash, a signal), with its last log lines; null while it runs. */
  unexpectedExit: () => string | null;
}

// A failed or timed-out test must not leave its agent running: what is still running when the
// test file ends (or its process exits) is stopped, by the PIDs this file started.
const started = new Set<ChildProcess>();
/** Services this file asked to stop: their exit is expected. */
const stopRequested = new WeakSet<ChildProcess>();
const killLeftovers = (): void => {
  for (const child of started) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    stopRequested.add(child);
    child.kill('SIGTERM');
  }
};
afterAll(killLeftovers);
process.once('exit', killLeftovers);

/**
 * `env`: more environment for the service (e.g. CONTAINERS_LAB_LABS, a test's own lab files), on top of this process's.
 * `wrap`: the program and arguments that run the service's own command line (e.g. inside a network
 * namespace); it must end by exec'ing that command, so the PID stays the agent's.
 */
export async function startService(
  stateRoot: string, socketPath: string, serveOptions: string[] = [], env: Record<string, string> = {},
  wrap: (argv: string[]) => [string, string[]] = (argv) => [argv[0]!, argv.slice(1)],
): Promise<RunningService> {
  ensureBuilt();
  const [program, args] = wrap(['node', AGENT_BUNDLE, 'serve', '--root', stateRoot, '--socket', socketPath, ...serveOptions]);
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  started.add(child);
  let stderr = '';
  let unexpectedExit: string | null = null;
  child.once('exit', (code, signal) => {
    started.delete(child);
    if (!stopRequested.has(child)) unexpectedExit = `the agent service exited unexpectedly (${signal ?? `code ${code}`}); its log ends:\n${stderr.slice(-2000)}`;
  });
  child.stderr!.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    // Connect only once the new service says it listens: until then the path may still name the
    // socket of an agent that was just killed (its dying children hold it open for a moment).
    const listening = stderr.includes('listening on');
    const client = listening ? await connectAgent(socketPath).catch(() => null) : null;
    if (client) return { process: child, client, stderr: () => stderr, unexpectedExit: () => unexpectedExit };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the agent service did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Removes every container the service holds, stops it, and returns what the kernel still holds of
 * them (NONE_LEFT when nothing): the end of a test file that ran its own service.
 */
export async function removeAllAndStop(service: RunningService, stateRoot: string): Promise<Leftovers> {
  const made = await service.client.call('container.list', {});
  for (const summary of made) await service.client.call('container.remove', { id: summary.id, force: true });
  await stopService(service);
  return leftovers(stateRoot, made.map(({ id, pid }) => ({ id, pid })));
}

export async function stopService(service: RunningService, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  service.client.close();
  if (service.process.exitCode !== null || service.process.signalCode !== null) return;
  const exited = new Promise((resolve) => service.process.once('exit', resolve));
  stopRequested.add(service.process);
  service.process.kill(signal);
  await exited;
}
