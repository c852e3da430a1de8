/** Severities of findings, least first. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The levels an identity's score falls into; `none` when nothing fired. */
export const RISK_LEVELS = ['none', ...SEVERITIES] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/**
 * What the inventory keeps of an identity's assessment: the level and score that listings filter by and events
 * report, and the codes of the rules that fired. Explanations are not kept: they carry figures that move every day
 * ("expires in 12 days"); `GET /v1/identities/{id}` computes them afresh.
 */
export interface StoredRisk {
  readonly score: number;
  readonly level: RiskLevel;
  /** Codes of the rules that fired, sorted. */
  readonly rules: readonly string[];
}
