/*
 * update [--resources FILE|-] [--memory BYTES] [--cpu-quota US] [--cpu-period US] [--pids-limit N] ID:
 * new cgroup limits for a created, running or paused container — the runtime-spec's
 * linux.resources document (what containerd's shim sends on stdin), or single flags. Limits not
 * named keep their value; memory, cpu bandwidth and pids are applied (others refused by name).
 */
import { readFileSync } from 'node:fs';
import type { OciSpec } from '../protocol';
import { limitsFromConfig } from '../oci/from-run-options';
import { RuncError } from './errors';
import { flag, parseFlags, requireId } from './flags';
import type { Invocation } from './verb';

type Resources = NonNullable<NonNullable<OciSpec['linux']>['resources']>;

const APPLIED = new Set(['memory', 'cpu', 'pids', 'devices']);

export async function update(invocation: Invocation): Promise<number> {
  const parsed = parseFlags(invocation.args, [
    { name: 'resources', alias: 'r', kind: 'string' },
    { name: 'memory', kind: 'string' },
    { name: 'cpu-quota', kind: 'string' },
    { name: 'cpu-period', kind: 'string' },
    { name: 'pids-limit', kind: 'string' },
  ]);
  const id = requireId('update', parsed.positionals);
  const resources = resourcesFrom(parsed);
  const unknown = Object.keys(resources).filter((key) => !APPLIED.has(key) && (resources as Record<string, unknown>)[key] !== undefined);
  if (unknown.length) throw new RuncError(`update: linux.resources.${unknown[0]} is not supported by this runtime (memory, cpu quota/period, pids are)`);
  const { root } = invocation;
  root.lock(id);
  const container = root.load(id);
  if (container.status === 'stopped') throw new RuncError('container not running');
  const cgroup = root.cgroupOf(container.state);
  if (!cgroup) throw new RuncError(`container ${id} has no cgroup`);
  const asked = limitsFromConfig({ linux: { resources } } as OciSpec);
  const current = cgroup.limits();
  cgroup.setLimits({
    memoryBytes: resources.memory?.limit !== undefined ? asked.memoryBytes : current.memoryBytes,
    cpuQuotaUs: resources.cpu?.quota !== undefined ? asked.cpuQuotaUs : current.cpuQuotaUs,
    cpuPeriodUs: resources.cpu?.period !== undefined ? asked.cpuPeriodUs : current.cpuPeriodUs,
    pids: resources.pids?.limit !== undefined ? asked.pids : current.pids,
  });
  return 0;
}

function resourcesFrom(parsed: ReturnType<typeof parseFlags>): Resources {
  const file = flag.string(parsed, 'resources');
  let resources: Resources = {};
  if (file !== undefined) {
    try {
      resources = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as Resources;
    } catch (error) {
      throw new RuncError(`update --resources: ${(error as Error).message}`);
    }
    if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) throw new RuncError('update --resources: not a linux.resources object');
  }
  const number = (name: string): number | undefined => {
    const text = flag.string(parsed, name);
    if (text === undefined) return undefined;
    if (!/^-?\d+$/.test(text)) throw new RuncError(`invalid value for --${name}: ${text}`);
    return Number(text);
  };
  const memory = number('memory');
  const quota = number('cpu-quota');
  const period = number('cpu-period');
  const pids = number('pids-limit');
  if (memory !== undefined) resources.memory = { ...resources.memory, limit: memory };
  if (quota !== undefined) resources.cpu = { ...resources.cpu, quota };
  if (period !== undefined) resources.cpu = { ...resources.cpu, period };
  if (pids !== undefined) resources.pids = { limit: pids };
  return resources;
}
