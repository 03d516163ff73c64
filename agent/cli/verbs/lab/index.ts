/*
 * `containers-lab lab`: the learning path and the CKA-style exercises from the VM's terminal.
 *
 *   lab list [--json]          every level and exercise, with progress
 *   lab show ID [--json]       the task, the checks (not how to pass them)
 *   lab start ID               run the setup (after removing what an earlier start left)
 *   lab check ID [--json]      run the checks against the kernel; weighted score
 *   lab reset ID               tear down and set up again
 *   lab stop ID                remove everything the lab made
 *   lab solution ID            the reference solution, as commands
 *   lab solve ID [--partial]   run the reference solution, then check ("show me")
 */
import { UsageError, switchOption } from '../../../command-line/args';
import type { ParsedArgs, VerbSpec } from '../../../command-line/args';
import type { CliContext, Verb } from '../../context';
import { writeAll } from '../../context';
import type { LabCheckReport, LabListEntry } from '../../../protocol/labs';
import { checkReportText, labDetailText, labTable } from './format';
import { openLabs } from './transport';

const SUBCOMMANDS = ['list', 'show', 'start', 'check', 'reset', 'stop', 'solution', 'solve'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

const spec: VerbSpec = {
  name: 'lab',
  summary: 'Levels and CKA-style exercises: list, show, start, check, reset, stop, solution.',
  usage: 'lab list|show|start|check|reset|stop|solution|solve [ID] [--json]',
  options: [
    { long: 'json', help: 'print the protocol objects as JSON (list, show, check, solve)' },
    { long: 'partial', help: 'solve: run the partial solution instead of the full one' },
  ],
  positionals: { name: 'SUBCOMMAND', min: 1, max: 2 },
  command: 'none',
  details: [
    'Examples:',
    '  containers-lab lab list',
    '  containers-lab lab start uts-namespace',
    '  containers-lab lab check uts-namespace --json',
  ],
};

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Exactly the documented shape of `lab check --json`, whatever else the agent sends. */
function reportShape(report: LabCheckReport): LabCheckReport {
  return {
    id: report.id,
    passed: report.passed,
    score: report.score,
    max: report.max,
    checks: report.checks.map(({ id, passed, weight, message, hint }) => ({ id, passed, weight, message, hint })),
  };
}

export function parseLabArgs(args: ParsedArgs): { subcommand: Subcommand; id: string | null } {
  const [subcommand, id] = args.positionals;
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand!)) {
    throw new UsageError(`lab: unknown subcommand "${subcommand}" (one of: ${SUBCOMMANDS.join(', ')})`);
  }
  if (subcommand === 'list' && id !== undefined) throw new UsageError(`lab list: unexpected argument "${id}"`);
  if (subcommand !== 'list' && id === undefined) throw new UsageError(`lab ${subcommand}: missing the lab ID (see: containers-lab lab list)`);
  if (switchOption(args, 'partial') && subcommand !== 'solve') throw new UsageError('lab: --partial goes with solve');
  return { subcommand: subcommand as Subcommand, id: id ?? null };
}

async function execute(args: ParsedArgs, context: CliContext): Promise<number> {
  const { subcommand, id } = parseLabArgs(args);
  const asJson = switchOption(args, 'json');
  const out = (text: string): Promise<void> => writeAll(context.io.stdout, text);
  const labs = await openLabs(context);
  try {
    switch (subcommand) {
      case 'list': {
        const list = await labs.call('lab.list', {});
        const entries: LabListEntry[] = list.map(({ id: labId, title, kind, domain }) => ({ id: labId, title, kind, domain }));
        await out(asJson ? json(entries) : labTable(list));
        return 0;
      }
      case 'show': {
        const detail = await labs.call('lab.show', { id: id! });
        await out(asJson ? json(detail) : labDetailText(detail));
        return 0;
      }
      case 'start':
      case 'reset': {
        const started = await labs.call(subcommand === 'start' ? 'lab.start' : 'lab.reset', { id: id! });
        const detail = await labs.call('lab.show', { id: id! });
        await out(asJson ? json(started) : `${labDetailText(detail)}\nStarted ${started.id} (time limit ${started.timeLimitMinutes} min). Answers go to ${started.workdir}\nWhen done: containers-lab lab check ${started.id}\n`);
        return 0;
      }
      case 'check':
      case 'solve': {
        const report = subcommand === 'check'
          ? await labs.call('lab.check', { id: id! })
          : await labs.call('lab.solve', { id: id!, ...(switchOption(args, 'partial') ? { partial: true } : {}) });
        await out(asJson ? json(reportShape(report)) : checkReportText(report));
        return 0;
      }
      case 'stop': {
        await labs.call('lab.stop', { id: id! });
        if (!asJson) await out(`Stopped ${id}: its containers, bridges and answers are removed.\n`);
        else await out(json({ id }));
        return 0;
      }
      case 'solution': {
        const solution = await labs.call('lab.solution', { id: id! });
        await out(asJson ? json(solution) : `${solution.steps.join('\n')}\n${solution.explanation ? `\n${solution.explanation}\n` : ''}`);
        return 0;
      }
    }
  } finally {
    labs.close();
  }
}

export const labVerb: Verb = { spec, execute };
