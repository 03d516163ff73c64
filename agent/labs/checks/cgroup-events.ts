/*
 * Check "cgroup-events": what the kernel counted in a cgroup — here, how many processes the OOM
 * killer killed because the cgroup hit its memory limit: "oom_kill N" in memory.events (v2) or
 * memory.oom_control (v1). The counter outlives the processes, until the cgroup is removed.
 */
import { readFileSync } from 'node:fs';
import type { CheckParamsByKind } from '../format';
import type { LabContext } from '../context';
import { CheckFailed, existing, failIf } from './outcome';

export function checkCgroupEvents(params: CheckParamsByKind['cgroup-events'], context: LabContext): void {
  const record = existing(context, params.container);
  const file = record.cgroup?.files.oomKills;
  if (!file) throw new CheckFailed(`"${params.container}" has no memory events file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CheckFailed(`cannot read ${file}`);
  }
  const kills = Number(/^oom_kill\s+(\d+)$/m.exec(text)?.[1] ?? 0);
  if (params.oomKillsAtLeast !== undefined) failIf(kills < params.oomKillsAtLeast, `oom_kill is ${kills} in ${file}`);
  if (params.oomKills !== undefined) failIf(kills !== params.oomKills, `oom_kill is ${kills} in ${file}`);
}
