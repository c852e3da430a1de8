import type { Finding, RiskRule, RiskSubject } from './rule.ts';
import { CERTIFICATE_RULES } from './rules/cert-index.ts';
import { IDENTITY_RULES } from './rules/non-cert-index.ts';
import { type RiskScore, scoreOf } from './score.ts';

/** Every risk rule, by code: the registry filters and findings name rules from. A new rule is one file and one line. */
export const RISK_RULES: readonly RiskRule[] = [...CERTIFICATE_RULES, ...IDENTITY_RULES];

export const RISK_RULE_CODES: readonly string[] = RISK_RULES.map((rule) => rule.code);

/** An identity's risk: the findings of every rule that fires for it at `now`, most severe first, and its score. */
export interface RiskAssessment extends RiskScore {
  readonly findings: readonly Finding[];
}

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3 } as const;

/** Runs every rule that applies to the identity's type. Pure: the same subject and instant give the same answer. */
export function assessRisk(subject: RiskSubject, now: Date): RiskAssessment {
  const findings = RISK_RULES.filter((rule) => rule.appliesTo.includes(subject.type))
    .map((rule) => rule.evaluate(subject, now))
    .filter((finding): finding is Finding => finding !== undefined)
    .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.rule.localeCompare(b.rule));
  return { ...scoreOf(findings), findings };
}
