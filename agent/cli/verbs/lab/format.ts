/*
 * What `containers-lab lab` prints for people (the --json forms print the protocol's objects).
 */
import type { LabCheckReport, LabDetail, LabSummary } from '../../../protocol/labs';
import { table } from '../../format';
import { scoreByDomain } from '../../../labs/domain-points';

function progressText(lab: LabSummary): string {
  const { progress } = lab;
  if (progress.completed) return `done (${progress.bestScore}/${progress.max})`;
  if (progress.startedAt) return progress.lastScore === null ? 'started' : `started (${progress.lastScore}/${progress.max})`;
  return progress.bestScore === null ? '-' : `${progress.bestScore}/${progress.max}`;
}

export function labTable(labs: LabSummary[]): string {
  return table(
    ['ID', 'KIND', 'MIN', 'PROGRESS', 'DOMAIN', 'TITLE'],
    labs.map((lab) => [lab.id, lab.kind, String(lab.timeLimitMinutes), progressText(lab), lab.domain, lab.title]),
  );
}

export function labDetailText(lab: LabDetail): string {
  const lines = [`# ${lab.title}`, '', `${lab.domain} · ${lab.kind} · ${lab.difficulty} · ${lab.timeLimitMinutes} min`];
  if (lab.requires.length > 0) lines.push(`Needs runtime features: ${lab.requires.join(', ')}`);
  lines.push('', lab.task, '', 'Checks:');
  for (const check of lab.checks) lines.push(`  [${check.weight}] ${check.title}${check.needs.length ? ` (after: ${check.needs.join(', ')})` : ''}`);
  // A mock exam: what each CKA domain is worth, as the exam weights them.
  const domains = scoreByDomain(lab.checks);
  const total = domains.reduce((sum, entry) => sum + entry.max, 0);
  if (domains.length > 0) lines.push('', 'Points by domain:', ...domains.map((entry) => `  ${entry.domain}: ${entry.max} (${Math.round((100 * entry.max) / total)}%)`));
  if (lab.hints.length > 0) lines.push('', `Hints: containers-lab lab check ${lab.id} shows one per failed check; more with --json.`);
  return `${lines.join('\n')}\n`;
}

export function checkReportText(report: LabCheckReport): string {
  const lines = report.checks.map((check) => {
    const mark = check.passed ? '✓' : '✗';
    const detail = check.passed ? '' : ` — ${check.message}${check.hint && !check.message.startsWith('not checked:') ? `\n      hint: ${check.hint}` : ''}`;
    return `  ${mark} ${check.id} [${check.weight}]${detail}`;
  });
  lines.push('', `Score: ${report.score}/${report.max}${report.passed ? ' — passed' : ''}`);
  for (const domain of report.byDomain ?? []) lines.push(`  ${domain.domain}: ${domain.score}/${domain.max}`);
  return `${lines.join('\n')}\n`;
}
