/*
 * A mock exam's points by CKA domain. The CKA weights its domains (Troubleshooting 30%, Cluster
 * Architecture 25%, Services & Networking 20%, Workloads & Scheduling 15%, Storage 10%) and its
 * result page scores each; here every check of a mixed-domain exam names its domain, and this adds
 * them up — for a report (what each domain scored) and before any check (what each is worth).
 * Pure, with types only: the CLI, the agent's scoring and the Exercise page share it.
 */
import type { LabCheckResult, LabDomain, LabDomainScore } from '../protocol/labs';

/**
 * A mixed-domain exam's points per CKA domain (checks of weight 0 — failchecks — count nowhere):
 * of checks run, what each domain scored; of checks not run yet (no `passed`), what it is worth.
 */
export function scoreByDomain(checks: readonly (Pick<LabCheckResult, 'weight' | 'domain'> & { passed?: boolean })[]): LabDomainScore[] {
  const domains = new Map<LabDomain, LabDomainScore>();
  for (const check of checks) {
    if (!check.domain || check.weight === 0) continue;
    const entry = domains.get(check.domain) ?? { domain: check.domain, score: 0, max: 0 };
    entry.max += check.weight;
    if (check.passed) entry.score += check.weight;
    domains.set(check.domain, entry);
  }
  return [...domains.values()];
}
