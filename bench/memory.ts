/*
 * Benchmark: how much memory the service holds, idle and with 100 running containers.
 *
 * The figure is the service process's resident set size, VmRSS in /proc/<pid>/status: the pages
 * of RAM the process has mapped right now (its heap, Node's and koffi's code, stacks), counted by
 * the kernel — not what the JavaScript heap thinks it uses. The containers' own processes are
 * separate processes in their own cgroups and are not part of it; what 100 containers cost the
 * service is its per-container bookkeeping (records, exit watching, event listeners).
 *
 * The containers run the default idle command with `--net none` (a network namespace with only
 * loopback), so the figure is about the service, not about bridges and veths. They are started
 * one after another over the one connection; the time for all 100 is printed too.
 */
import { readFileSync } from 'node:fs';
import type { AgentClient } from '../agent/service/client';
import { millisecondsSince } from './stats';

export const CONTAINER_COUNT = 100;

export interface MemoryAtScale {
  count: number;
  rssMiB: number;
  startAllMs: number;
  removeAllMs: number;
}

/** VmRSS of a process in MiB (the kernel reports it in kB). */
export function residentMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** The idle figure: the service after start-up and one request. */
export async function idleResidentMiB(client: AgentClient, pid: number): Promise<number> {
  await client.call('agent.info', {});
  return residentMiB(pid);
}

/**
 * Starts `count` idle containers, reads the service's RSS, then removes them all (force: they
 * are running). Every id is added to `created` as soon as the service returns it.
 */
export async function residentWithContainers(
  client: AgentClient,
  pid: number,
  namePrefix: string,
  created: Set<string>,
  count = CONTAINER_COUNT,
): Promise<MemoryAtScale> {
  const ids: string[] = [];
  try {
    const start = process.hrtime.bigint();
    for (let index = 0; index < count; index++) {
      const record = await client.call('container.run', { net: 'none', name: `${namePrefix}-${index}` });
      created.add(record.id);
      ids.push(record.id);
      if (record.status !== 'running') throw new Error(`container ${record.name} is ${record.status}, not running`);
    }
    const startAllMs = millisecondsSince(start);
    const running = (await client.call('container.list', {})).filter((summary) => ids.includes(summary.id) && summary.status === 'running');
    if (running.length !== count) throw new Error(`only ${running.length} of ${count} containers are running`);
    const rssMiB = residentMiB(pid);
    const removing = process.hrtime.bigint();
    await removeAll(client, ids);
    return { count, rssMiB, startAllMs, removeAllMs: millisecondsSince(removing) };
  } finally {
    // On failure part-way, remove what was started (a second remove of a removed id is harmless).
    await removeAll(client, ids).catch(() => undefined);
  }
}

async function removeAll(client: AgentClient, ids: string[]): Promise<void> {
  const remaining = [...ids];
  ids.length = 0;
  let firstError: unknown = null;
  for (const id of remaining) {
    try {
      await client.call('container.remove', { id, force: true });
    } catch (error) {
      firstError ??= error;
      ids.push(id);
    }
  }
  if (firstError) throw firstError;
}
