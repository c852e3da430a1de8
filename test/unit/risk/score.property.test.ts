import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RISK_LEVELS, SEVERITIES, type Severity } from '#lib/domain/risk/rule.ts';
import { LEVEL_THRESHOLDS, levelOf, SCORE_FORMULA, SEVERITY_WEIGHTS, scoreOf } from '#lib/domain/risk/score.ts';

/** Properties of the risk score (fast-check, fixed seed for repeatability), and its values at the boundaries. */

const runs = { numRuns: 500, seed: 20261125 };
const rank = (level: string) => RISK_LEVELS.indexOf(level as (typeof RISK_LEVELS)[number]);
const of = (...severities: Severity[]) => scoreOf(severities.map((severity) => ({ severity })));

const severity = fc.constantFrom(...SEVERITIES);
const findings = fc.array(
  severity.map((s) => ({ severity: s })),
  { maxLength: 40 },
);

/** The formula as written, in floating point: the exact implementation must agree with it away from halves. */
function naive(severities: readonly Severity[]): number {
  const kept = severities.reduce((product, s) => product * (1 - SEVERITY_WEIGHTS[s] / 100), 1);
  return 100 * (1 - kept);
}

describe('risk score', () => {
  it('is 0 and none with no findings', () => {
    expect(scoreOf([])).toEqual({ score: 0, level: 'none' });
  });

  it.each([
    ['low', 10],
    ['medium', 25],
    ['high', 50],
    ['critical', 80],
  ] as const)('one %s finding scores %i and is %s', (s, score) => {
    expect(of(s)).toEqual({ score, level: s });
  });

  it.each([
    [['low', 'low'], 19, 'low'],
    [['low', 'low', 'low'], 27, 'medium'],
    [['low', 'medium'], 33, 'medium'],
    [['medium', 'medium'], 44, 'medium'],
    [['medium', 'medium', 'medium'], 58, 'high'],
    [['low', 'low', 'high'], 60, 'high'],
    [['high', 'high'], 75, 'high'],
    [['medium', 'high', 'low'], 66, 'high'],
    [['high', 'high', 'low'], 78, 'high'],
    [['high', 'high', 'medium'], 81, 'critical'],
    [['high', 'high', 'high'], 88, 'critical'],
    [['critical', 'low'], 82, 'critical'],
    [['critical', 'critical'], 96, 'critical'],
    [['critical', 'critical', 'critical', 'critical'], 100, 'critical'],
  ] as const)('%j scores %i (%s)', (severities, score, level) => {
    expect(of(...severities)).toEqual({ score, level });
  });

  it('rounds an exact half up (two lows and a high: 59.5 → 60), whatever the order', () => {
    expect(of('low', 'low', 'high').score).toBe(60);
    expect(of('high', 'low', 'low').score).toBe(60);
    expect(of('low', 'high', 'low').score).toBe(60);
  });

  it('saturates at 100 and stays there', () => {
    expect(of(...Array<Severity>(51).fill('low')).score).toBe(100);
    expect(of(...Array<Severity>(50).fill('low')).score).toBe(99);
    expect(of(...Array<Severity>(1000).fill('medium'), 'low').score).toBe(100);
  });

  it('has levels at the documented thresholds', () => {
    expect([0, 1, 24, 25, 49, 50, 79, 80, 100].map(levelOf)).toEqual([
      'none',
      'low',
      'low',
      'medium',
      'medium',
      'high',
      'high',
      'critical',
      'critical',
    ]);
    expect(LEVEL_THRESHOLDS).toEqual({ low: 1, medium: 25, high: 50, critical: 80 });
    expect(SCORE_FORMULA).toMatch(/round\(100 × \(1 − Π\(1 − wᵢ\/100\)\)\)/);
  });

  it('is an integer within 0..100, 0 exactly when nothing fired', () => {
    fc.assert(
      fc.property(findings, (fs) => {
        const { score, level } = scoreOf(fs);
        expect(Number.isInteger(score)).toBe(true);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(100);
        expect(score === 0).toBe(fs.length === 0);
        expect(level).toBe(levelOf(score));
      }),
      runs,
    );
  });

  it('never lowers the score or the level when a finding is added', () => {
    fc.assert(
      fc.property(findings, severity, fc.nat(), (fs, added, where) => {
        const before = scoreOf(fs);
        const position = fs.length === 0 ? 0 : where % (fs.length + 1);
        const after = scoreOf([...fs.slice(0, position), { severity: added }, ...fs.slice(position)]);
        expect(after.score).toBeGreaterThanOrEqual(before.score);
        expect(rank(after.level)).toBeGreaterThanOrEqual(rank(before.level));
      }),
      runs,
    );
  });

  it('is at least the level of its most severe finding', () => {
    fc.assert(
      fc.property(findings, severity, (fs, worst) => {
        const { level } = scoreOf([...fs, { severity: worst }]);
        expect(rank(level)).toBeGreaterThanOrEqual(rank(worst));
      }),
      runs,
    );
  });

  it('does not depend on the order of the findings', () => {
    fc.assert(
      fc.property(
        findings.chain((fs) => fc.tuple(fc.constant(fs), fc.shuffledSubarray(fs, { minLength: fs.length }))),
        ([fs, shuffled]) => {
          expect(scoreOf(shuffled)).toEqual(scoreOf(fs));
        },
      ),
      runs,
    );
  });

  it('agrees with the formula computed in floating point, to the rounding', () => {
    fc.assert(
      fc.property(fc.array(severity, { maxLength: 40 }), (severities) => {
        const exact = of(...severities).score;
        expect(Math.abs(exact - naive(severities))).toBeLessThanOrEqual(0.5 + 1e-9);
      }),
      runs,
    );
  });
});
