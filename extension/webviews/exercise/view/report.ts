/*
 * The Exercise page's "Checks" section: before a check, what will be looked at (○, unscored);
 * after one, each check ✓ or ✗ with its weight, what is missing, and a failed check's own hint.
 * When the attempt ran out of time, the last report stays, marked as the attempt's final one (the
 * score the agent recorded at the deadline may differ: the scenario may have changed since).
 * A mock exam's checks name their CKA domains: its report adds a table of points by domain, as the
 * exam's result page gives them.
 */
import type { LabCheckReport, LabCheckResult, LabDetail, LabDomainScore } from '../../../../agent/protocol';
import { scoreByDomain } from '../../../../agent/labs/domain-points';
import { formatPoints } from '../../../views/exercises/model';
import { h } from '../../shared/view/vscode-api';
import type { TimeUp } from '../ending';
import { parseMarkdown } from '../markdown';
import { renderBlocks } from './markdown-dom';

export interface ReportView {
  /** The section's content: the score line, the final-report note, the points by domain, the list. */
  readonly elements: HTMLElement[];
  draw(report: LabCheckReport | null, detail: LabDetail | null, timeUp: TimeUp | null): void;
  /** A new attempt: the hints opened on the old report's failures close. */
  closeHints(): void;
}

export function reportView(): ReportView {
  const score = h('p', { id: 'score', class: 'score', 'aria-live': 'polite', tabindex: -1 });
  const final = h('p', { id: 'report-final', class: 'final muted', hidden: true });
  const domains = h('table', { id: 'by-domain', class: 'by-domain', hidden: true });
  const checks = h('ul', { id: 'checks', class: 'checks' });
  /** Failed checks whose hint the learner opened. */
  const openCheckHints = new Set<string>();

  const points = (weight: number): string => `${formatPoints(weight)} pt${weight === 1 ? '' : 's'}`;

  function resultRow(result: LabCheckResult, detail: LabDetail | null): HTMLLIElement {
    const info = detail?.checks.find((check) => check.id === result.id);
    const hintText = result.hint ?? info?.hint ?? null;
    const row = h(
      'li',
      { class: `check ${result.passed ? 'passed' : 'failed'}`, 'data-check': result.id, 'data-passed': String(result.passed) },
      h('span', { class: 'glyph', 'aria-label': result.passed ? 'passed' : 'failed' }, result.passed ? '✓' : '✗'),
      h('span', { class: 'check-title' }, info?.title ?? result.id),
      h('span', { class: 'weight muted' }, `${result.passed ? formatPoints(result.weight) : 0}/${points(result.weight)}`),
    );
    if (!result.passed && result.message) row.append(h('div', { class: 'message' }, result.message));
    if (!result.passed && hintText) {
      const text = h('div', { class: 'check-hint-text', hidden: !openCheckHints.has(result.id) }, ...renderBlocks(parseMarkdown(hintText)));
      const toggle = h('button', { type: 'button', class: 'secondary check-hint', 'aria-expanded': String(openCheckHints.has(result.id)) }, 'Hint');
      toggle.addEventListener('click', () => {
        const open = !openCheckHints.has(result.id);
        if (open) openCheckHints.add(result.id);
        else openCheckHints.delete(result.id);
        text.hidden = !open;
        toggle.setAttribute('aria-expanded', String(open));
      });
      row.append(toggle, text);
    }
    return row;
  }

  /** Domain, points and share, one row each, in the order the exam's tasks first name them (before a check: what each is worth). */
  function drawDomains(byDomain: readonly LabDomainScore[] | undefined, caption = 'Result by domain'): void {
    domains.hidden = !byDomain || byDomain.length === 0;
    const percent = (entry: LabDomainScore): string => (entry.max === 0 ? '–' : `${Math.round((entry.score / entry.max) * 100)}%`);
    domains.replaceChildren(
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Domain'), h('th', { scope: 'col' }, 'Points'), h('th', { scope: 'col' }, 'Share'))),
      h('tbody', {}, ...(byDomain ?? []).map((entry) =>
        h('tr', { 'data-domain': entry.domain, 'data-full': String(entry.score === entry.max) },
          h('th', { scope: 'row' }, entry.domain),
          h('td', { class: 'points' }, `${formatPoints(entry.score)}/${formatPoints(entry.max)}`),
          h('td', { class: 'share' }, percent(entry))))),
    );
  }

  function draw(report: LabCheckReport | null, detail: LabDetail | null, timeUp: TimeUp | null): void {
    if (report) {
      score.textContent = `Score ${formatPoints(report.score)}/${formatPoints(report.max)}${report.passed ? ' — all checks pass' : ''}`;
      score.dataset.passed = String(report.passed);
      checks.replaceChildren(...report.checks.map((result) => resultRow(result, detail)));
      drawDomains(report.byDomain);
    } else {
      drawDomains(detail ? scoreByDomain(detail.checks) : undefined, 'Points by domain');
      const max = detail?.checks.reduce((sum, check) => sum + check.weight, 0) ?? 0;
      score.textContent = detail ? `Not checked yet (${formatPoints(max)} points)` : '';
      delete score.dataset.passed;
      checks.replaceChildren(
        ...(detail?.checks ?? []).map((check) =>
          h('li', { class: 'check', 'data-check': check.id, 'data-passed': 'unknown' }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, '○'), h('span', { class: 'check-title' }, check.title), h('span', { class: 'weight muted' }, points(check.weight))),
        ),
      );
    }
    const isFinal = report !== null && timeUp !== null;
    score.dataset.final = String(isFinal);
    final.hidden = !isFinal;
    final.textContent = isFinal ? `Final report: your last check of the attempt that ran out of time. At its end the agent scored the scenario ${formatPoints(timeUp.score)}/${formatPoints(timeUp.max)}.` : '';
  }

  return { elements: [score, final, domains, checks], draw, closeHints: () => openCheckHints.clear() };
}
