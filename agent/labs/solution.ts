/*
 * Running a reference solution. Steps are what a learner would type: `containers-lab …` command
 * lines (parsed by the CLI's own parser and option rules, then given to the runtime, exactly as
 * the CLI would), shell commands inside a container (`containers-lab exec NAME -- sh -c …`), and
 * commands on the lab host (`ip link …`, `nsenter …`) for the faults that are fixed from outside.
 *
 * Steps may name facts known only at run time: {{pid:NAME}}, {{ip:NAME}}, {{gateway:NAME}},
 * {{veth:NAME}} (the host end of NAME's veth pair), {{bridge:NAME}} and {{rootfs:NAME}}, besides {{workdir}}.
 */
import { execFileSync } from 'node:child_process';
import { badInput } from '../errors';
import { parseVerbArgs, switchOption } from '../cli/args';
import { runOptionsFrom } from '../cli/verbs/run';
import { execVerb } from '../cli/verbs/exec';
import { rmVerb } from '../cli/verbs/rm';
import { stopVerb } from '../cli/verbs/stop';
import { runVerb } from '../cli/verbs/run';
import { execCapture, fill, type LabContext } from './context';
import type { SolutionStep } from './format';
import { labRunOptions } from './setup';
import { waitUntilStopped } from './setup/wait';
import { splitWords } from './words';

/** Fills run-time facts about containers, then {{workdir}} and {{token}}. */
export function fillFacts(text: string, context: LabContext): string {
  const filled = text.replace(/\{\{\s*(pid|ip|gateway|veth|bridge|rootfs):([A-Za-z0-9_.-]+)\s*\}\}/g, (_, fact: string, name: string) => {
    const record = context.runtime.inspect(name);
    const value = { pid: record.pid, ip: record.network.ip, gateway: record.network.gateway, veth: record.network.vethHost, bridge: record.network.bridge, rootfs: record.rootfs?.merged }[fact];
    if (value === null || value === undefined) throw badInput(`"${name}" has no ${fact}`);
    return String(value);
  });
  return fill(filled, context);
}

/** A step as a line of text, as `lab.solution` shows it. */
export function stepText(step: SolutionStep): string {
  if ('cli' in step) return step.cli;
  if ('host' in step) return step.host;
  return `containers-lab exec ${step.exec.container} -- sh -c ${JSON.stringify(step.exec.command)}`;
}

async function runCli(line: string, context: LabContext): Promise<void> {
  const [program, verb, ...rest] = splitWords(line);
  if (program !== 'containers-lab') throw badInput(`solution step must start with containers-lab: ${line}`);
  const runtime = context.runtime;
  switch (verb) {
    case 'run': {
      const args = parseVerbArgs(runVerb.spec, rest);
      const options = labRunOptions(runOptionsFrom(args), context);
      const record = await runtime.run(options);
      if (!switchOption(args, 'detach')) await waitUntilStopped(runtime, record.id, 20_000);
      return;
    }
    case 'exec': {
      const args = parseVerbArgs(execVerb.spec, rest);
      const result = await execCapture(runtime, args.positionals[0]!, args.command!, 20_000);
      if (result.code !== 0) throw badInput(`"${line}" exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
      return;
    }
    case 'stop': {
      const args = parseVerbArgs(stopVerb.spec, rest);
      for (const name of args.positionals) await runtime.stop(name);
      return;
    }
    case 'rm': {
      const args = parseVerbArgs(rmVerb.spec, rest);
      for (const name of args.positionals) await runtime.remove(name, switchOption(args, 'force'));
      return;
    }
    default:
      throw badInput(`solution steps use run, exec, stop and rm, not "${verb ?? ''}"`);
  }
}

export async function runStep(step: SolutionStep, context: LabContext): Promise<void> {
  if ('cli' in step) return runCli(fillFacts(step.cli, context), context);
  if ('exec' in step) {
    const command = fillFacts(step.exec.command, context);
    const result = await execCapture(context.runtime, step.exec.container, ['sh', '-c', command], 20_000);
    if (result.code !== 0) throw badInput(`"${command}" in ${step.exec.container} exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
    return;
  }
  const command = fillFacts(step.host, context);
  try {
    execFileSync('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n').pop() ?? '';
    throw badInput(`"${command}" on the lab host failed: ${stderr || (error as Error).message}`);
  }
}

export async function runSteps(steps: readonly SolutionStep[], context: LabContext): Promise<void> {
  for (const step of steps) await runStep(step, context);
}
