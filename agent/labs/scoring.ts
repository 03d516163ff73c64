/*
 * Scoring: run a lab's checks and add up their weights, CKA-style — partial credit per check.
 * Checks run in the order their `needs` allow; a check whose needed check failed is not run at
 * all (its premise is missing, so its answer would mean nothing) and scores 0, reported as
 * "not checked: needs “<title of X>” to pass first" — in the learner's words, not the check's id.
 * The report lists the checks in the lab file's order.
 */
import type { LabCheckReport, LabCheckResult } from '../protocol/labs';
import { scoreByDomain } from './domain-points';
import type { LabContext } from './context';
import type { CheckSpec, LabDefinition } from './format';
import { CHECKS, CheckFailed } from './checks';
import { orderByNeeds } from './loader';

async function runOne(check: CheckSpec, context: LabContext): Promise<string | null> {
  try {
    const runner = CHECKS[check.kind] as (params: unknown, context: LabContext) => void | Promise<void>;
    await runner(check.params, context);
    return null;
  } catch (error) {
    if (error instanceof CheckFailed) return `${check.message} (found: ${error.found})`;
    const reason = error instanceof Error ? error.message : String(error);
    return `${check.message} (the check could not look: ${reason.replace(/\s*\n\s*/g, ' ')})`;
  }
}

export async function scoreLab(lab: LabDefinition, context: LabContext): Promise<LabCheckReport> {
  const outcomes = new Map<string, LabCheckResult>();
  const titleOf = new Map(lab.checks.map((check) => [check.id, check.title]));
  for (const check of orderByNeeds(lab.checks)) {
    const unmet = (check.needs ?? []).find((need) => !outcomes.get(need)?.passed);
    const failure = unmet !== undefined ? notCheckedYet(titleOf.get(unmet) ?? unmet) : await runOne(check, context);
    outcomes.set(check.id, { id: check.id, passed: failure === null, weight: check.weight, message: failure ?? '', hint: check.hint ?? null, ...(check.domain ? { domain: check.domain } : {}) });
  }
  const checks = lab.checks.map((check) => outcomes.get(check.id)!);
  const score = checks.reduce((sum, result) => sum + (result.passed ? result.weight : 0), 0);
  const max = checks.reduce((sum, result) => sum + result.weight, 0);
  const byDomain = scoreByDomain(checks);
  return { id: lab.id, passed: score === max, score, max, checks, ...(byDomain.length > 0 ? { byDomain } : {}) };
}

/** The message of a check whose premise failed. */
export function notCheckedYet(neededTitle: string): string {
  return `not checked: needs “${neededTitle}” to pass first`;
}
