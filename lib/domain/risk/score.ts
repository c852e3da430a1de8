import type { Finding, RiskLevel, Severity } from './rule.ts';

/** What one finding of each severity weighs, out of 100. */
export const SEVERITY_WEIGHTS: Readonly<Record<Severity, number>> = { low: 10, medium: 25, high: 50, critical: 80 };

/** The lowest score of each level above `none`: one finding alone scores its weight, so it lands on its own level. */
export const LEVEL_THRESHOLDS: Readonly<Record<Severity, number>> = { low: 1, medium: 25, high: 50, critical: 80 };

/**
 * The score formula, as documented for users. Each finding takes its weight's share of what is left: findings add
 * up, but never past 100, and a pile of low findings approaches high without a single one being high. One finding
 * alone scores its weight, which is its severity's threshold, so one critical finding makes the identity critical.
 * Adding a finding never lowers the score or the level, and the order of the findings does not matter.
 */
export const SCORE_FORMULA =
  'score = round(100 × (1 − Π(1 − wᵢ/100))) over the findings i, with weights low 10, medium 25, high 50, ' +
  'critical 80, rounded half up, computed exactly; 0 when nothing fired. ' +
  'level: 0 none, 1–24 low, 25–49 medium, 50–79 high, 80–100 critical.';

export interface RiskScore {
  /** 0 to 100. */
  readonly score: number;
  readonly level: RiskLevel;
}

const SEVERITY_ORDER: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/**
 * Past this many findings of one severity, the product is at most 0.005 whatever else fired, so the score is 100:
 * counts are clamped there, which keeps the exact arithmetic below small (low 51, medium 19, high 8, critical 4).
 */
const SATURATING_COUNT: Readonly<Record<Severity, number>> = Object.fromEntries(
  SEVERITY_ORDER.map((severity) => {
    const keep = BigInt(100 - SEVERITY_WEIGHTS[severity]);
    let count = 1;
    // keep^count / 100^count ≤ 1/200
    while (200n * keep ** BigInt(count) > 100n ** BigInt(count)) count += 1;
    return [severity, count];
  }),
) as Record<Severity, number>;

/**
 * An identity's risk score and level from its findings (see {@link SCORE_FORMULA}). Computed with integers, from the
 * count of each severity: a floating-point product can differ in its last bit with the order of its factors, and the
 * formula does land on exact halves (two lows and a high: 59.5), where that bit would decide the rounding.
 */
export function scoreOf(findings: Iterable<Pick<Finding, 'severity'>>): RiskScore {
  const counts: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  for (const finding of findings) counts[finding.severity] += 1;
  let kept = 1n;
  let whole = 1n;
  for (const severity of SEVERITY_ORDER) {
    const count = BigInt(Math.min(counts[severity], SATURATING_COUNT[severity]));
    kept *= BigInt(100 - SEVERITY_WEIGHTS[severity]) ** count;
    whole *= 100n ** count;
  }
  // round half up of 100 × (whole − kept) / whole
  const score = Number((200n * (whole - kept) + whole) / (2n * whole));
  return { score, level: levelOf(score) };
}

/** The level a score falls into (see {@link LEVEL_THRESHOLDS}). */
export function levelOf(score: number): RiskLevel {
  if (score >= LEVEL_THRESHOLDS.critical) return 'critical';
  if (score >= LEVEL_THRESHOLDS.high) return 'high';
  if (score >= LEVEL_THRESHOLDS.medium) return 'medium';
  if (score >= LEVEL_THRESHOLDS.low) return 'low';
  return 'none';
}
