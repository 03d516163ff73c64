/*
 * The agent as the benchmark meets it: a separate, warm `containers-lab serve` process.
 *
 * "Warm" is the point. A one-shot CLI such as `runc run` pays its own start-up on every container
 * (for Node that alone is ~55 ms); a long-lived service has paid it once, has its native bindings
 * loaded, its cgroup hierarchies found and its busybox layer built, and a client reaches it over
 * an already open Unix socket. The benchmark therefore starts the service exactly as a user would
 * (the bundled dist/agent/containers-lab.js), with its own state root and socket in a temporary
 * directory, connects once, and stops it (SIGTERM to the PID it started) at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAgent, type AgentClient } from '../agent/service/client';

export interface BenchService {
  pid: number;
  root: string;
  socket: string;
  client: AgentClient;
  /** What the service wrote on stderr (kept for error messages). */
  log(): string;
  /** Closes the connection, sends SIGTERM and waits for the process to exit. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15000;
/** The bench measures the service as it can be run warm: with sandboxes made ahead (`serve --warm-pool`). */
export const BENCH_WARM_POOL = 12;

/** dist/bench.js sits next to dist/agent/; build both when the agent bundle is missing. */
export function agentEntryPoint(): string {
  const entry = join(__dirname, 'agent', 'containers-lab.js');
  if (!existsSync(entry)) {
    const built = spawnSync(process.execPath, [join(__dirname, '..', 'build.mjs')], { stdio: 'inherit' });
    if (built.status !== 0 || !existsSync(entry)) throw new Error(`cannot build the agent (${entry} is missing)`);
  }
  return entry;
}

/** `env`: variables added to the service's environment (a default bridge of a benchmark's own). */
export async function startService(directory: string, warmPool = BENCH_WARM_POOL, env: Record<string, string> = {}): Promise<BenchService> {
  const root = join(directory, 'root');
  const socket = join(directory, 'agent.sock');
  const child = spawn(process.execPath, [agentEntryPoint(), '--root', root, '--socket', socket, 'serve', '--warm-pool', String(warmPool)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const client = await waitForSocket(child, socket, () => stderr);
    return {
      pid: child.pid!,
      root,
      socket,
      client,
      log: () => stderr,
      stop: async () => {
        client.close();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  }
}

async function waitForSocket(child: ChildProcess, socket: string, log: () => string): Promise<AgentClient> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the service exited during start-up (${child.exitCode ?? child.signalCode}): ${log().trim()}`);
    }
    const client = existsSync(socket) ? await connectAgent(socket) : null;
    if (client) return client;
    if (Date.now() > deadline) throw new Error(`the service did not listen on ${socket} within ${START_TIMEOUT_MS} ms: ${log().trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The service's child processes, as the kernel lists them (every thread's children). */
function childProcesses(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * Waits until the service's warm pool is full again: `size` parked sandboxes, each a child
 * process of the service (no container runs between lifecycle rounds). The pool refills while the
 * service is idle — a runc or crun round timed meanwhile would share the CPUs with that refill.
 * Resolves false if it is not full within `timeoutMs`.
 */
export async function untilWarmPoolFull(service: BenchService, size = BENCH_WARM_POOL, timeoutMs = 15000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (childProcesses(service.pid).length < size) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
