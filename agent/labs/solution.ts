/*
 * Running a reference solution. Steps are what a learner would type: `containers-lab …` command
 * lines (read with the CLI's own grammar, agent/command-line/, then given to the runtime, exactly
 * as the CLI would), shell commands inside a container (`containers-lab exec NAME -- sh -c …`), and
 * commands on the lab host (`ip link …`, `nsenter …`) for the faults that are fixed from outside.
 *
 * Steps may name facts known only at run time: {{pid:NAME}}, {{ip:NAME}}, {{gateway:NAME}},
 * {{veth:NAME}} (the host end of NAME's veth pair), {{bridge:NAME}}, {{rootfs:NAME}}, {{cgroup:NAME}}
 * (the directory of its cpu controller) and {{freezer:NAME}} (the file that freezes it); the
 * attempt's own values ({{workdir}}, {{network:…}}) are filled before (../template.ts). Shown to a
 * learner, a fact of a container that does not run reads as what it stands for ("‹the PID of web›").
 */
import { readFileSync } from 'node:fs';
import { badInput } from '../errors';
import { parseVerbArgs, switchOption } from '../command-line/args';
import { RUN_SPEC, runOptionsFrom } from '../command-line/run-options';
import { APPLY_SPEC, DELETE_SPEC, EXEC_SPEC, RM_SPEC, STOP_SPEC } from '../command-line/verbs';
import { integerOption, stringOption } from '../command-line/args';
import { splitWords } from '../command-line/words';
import type { ContainerRecord } from '../protocol';
import type { ContainerRuntime } from '../runtime/api';
import { execCapture, execTarget, findContainer, runOnHost, type LabContext } from './context';
import type { SolutionStep } from './format';
import { waitUntilStopped } from './setup/wait';

const FACT = /\{\{\s*(pid|ip|gateway|veth|bridge|rootfs|cgroup|freezer):([A-Za-z0-9_.-]+)\s*\}\}/g;

const FACT_WORDS: Record<string, string> = {
  pid: 'the PID of', ip: 'the IP address of', gateway: 'the gateway of', veth: 'the host end of the veth of', bridge: 'the bridge of', rootfs: 'the root directory of',
  cgroup: 'the cpu cgroup directory of', freezer: 'the freezer file of',
};

function factOf(record: ContainerRecord, fact: string): string | number | null | undefined {
  const cgroup = record.cgroup;
  return {
    pid: record.pid, ip: record.network.ip, gateway: record.network.gateway, veth: record.network.vethHost, bridge: record.network.bridge, rootfs: record.rootfs?.merged,
    cgroup: cgroup?.directories.cpu ?? cgroup?.directories.unified, freezer: cgroup?.files.freezer ?? cgroup?.files.freeze,
  }[fact];
}

/** Fills run-time facts about containers: the values a step needs to run. */
export function fillFacts(text: string, context: Pick<LabContext, 'runtime'>): string {
  return text.replace(FACT, (_, fact: string, name: string) => {
    const value = factOf(context.runtime.inspect(name), fact);
    if (value === null || value === undefined) throw badInput(`"${name}" has no ${fact}`);
    return String(value);
  });
}

/** A step as a line of text, as `lab solution` shows it: facts of running containers filled, others named. */
export function stepText(step: SolutionStep, runtime: ContainerRuntime | null): string {
  const text = 'cli' in step ? step.cli : 'host' in step ? step.host : `containers-lab exec ${step.exec.container} -- sh -c ${JSON.stringify(step.exec.command)}`;
  return text.replace(FACT, (_, fact: string, name: string) => {
    const record = runtime ? findContainer({ runtime }, name) : null;
    const value = record ? factOf(record, fact) : null;
    return value === null || value === undefined ? `‹${FACT_WORDS[fact]} ${name}›` : String(value);
  });
}

async function runCli(line: string, context: LabContext): Promise<void> {
  const [program, verb, ...rest] = splitWords(line);
  if (program !== 'containers-lab') throw badInput(`solution step must start with containers-lab: ${line}`);
  const runtime = context.runtime;
  switch (verb) {
    case 'run': {
      const args = parseVerbArgs(RUN_SPEC, rest);
      const record = await runtime.run(runOptionsFrom(args));
      if (!switchOption(args, 'detach')) await waitUntilStopped(runtime, record.id, 20_000);
      return;
    }
    case 'exec': {
      const args = parseVerbArgs(EXEC_SPEC, rest);
      const result = await execCapture(runtime, args.positionals[0]!, args.command!, 20_000);
      if (result.code !== 0) throw badInput(`"${line}" exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
      return;
    }
    case 'stop': {
      const args = parseVerbArgs(STOP_SPEC, rest);
      for (const name of args.positionals) await runtime.stop(name);
      return;
    }
    case 'rm': {
      const args = parseVerbArgs(RM_SPEC, rest);
      for (const name of args.positionals) await runtime.remove(name, switchOption(args, 'force'));
      return;
    }
    case 'apply': {
      const file = stringOption(parseVerbArgs(APPLY_SPEC, rest), 'filename');
      if (file === undefined) throw badInput(`"${line}": give the Pod YAML with -f FILE`);
      await context.pods().apply(readManifest(file), file);
      await context.pods().settled();
      return;
    }
    case 'delete': {
      const args = parseVerbArgs(DELETE_SPEC, rest);
      const file = stringOption(args, 'filename');
      const grace = integerOption(args, 'grace-period', 'seconds');
      const target = file !== undefined ? { yaml: readManifest(file), file } : { name: args.positionals[1] };
      await context.pods().delete({ ...target, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) });
      return;
    }
    default:
      throw badInput(`solution steps use run, exec, stop, rm, apply and delete, not "${verb ?? ''}"`);
  }
}

function readManifest(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw badInput(`the path "${file}" cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export async function runStep(step: SolutionStep, context: LabContext): Promise<void> {
  if ('cli' in step) return runCli(fillFacts(step.cli, context), context);
  if ('exec' in step) {
    const command = fillFacts(step.exec.command, context);
    const result = await execCapture(context.runtime, execTarget(context, step.exec.container), ['sh', '-c', command], 20_000);
    if (result.code !== 0) throw badInput(`"${command}" in ${step.exec.container} exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
    return;
  }
  const command = fillFacts(step.host, context);
  const done = await runOnHost(command);
  if (!done.ok) throw badInput(`"${command}" on the lab host failed: ${done.said}`);
}

export async function runSteps(steps: readonly SolutionStep[], context: LabContext): Promise<void> {
  for (const step of steps) await runStep(step, context);
}
