import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assessRisk, RISK_RULE_CODES, RISK_RULES } from '#lib/domain/risk/rules.ts';

describe('the risk rule registry', () => {
  it('names every rule once, by a stable upper snake case code, with a severity and a title', () => {
    expect(new Set(RISK_RULE_CODES).size).toBe(RISK_RULE_CODES.length);
    for (const rule of RISK_RULES) {
      expect(rule.code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
      expect(rule.title.length).toBeGreaterThan(10);
      expect(rule.appliesTo.length).toBeGreaterThan(0);
    }
    expect(RISK_RULES.length).toBeGreaterThanOrEqual(30);
  });

  it('is documented: the README lists every rule by its code, severity and control', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const rule of RISK_RULES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${rule.code}\` |`));
      expect(row, rule.code).toBeDefined();
      expect(row).toContain(`| ${rule.severity} |`);
      if (rule.control) expect(row).toContain(rule.control);
    }
  });

  it('assesses an identity with every rule that applies: findings most severe first, and their score', () => {
    const now = new Date('2026-11-29T12:00:00.000Z');
    const assessment = assessRisk(
      {
        identityId: 'd-x',
        type: 'x509-certificate',
        source: 'aws-acm',
        status: 'active',
        owner: undefined,
        facts: {},
        certificate: {
          notBefore: '2025-01-01T00:00:00.000Z',
          notAfter: '2026-11-20T00:00:00.000Z',
          names: ['*.shop.example'],
          revoked: false,
          servedAt: [],
          inUseBy: ['arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/shop/1'],
        },
      },
      now,
    );
    const rules = assessment.findings.map((f) => f.rule);
    expect(rules.slice(0, 2)).toEqual(['CERT_EXPIRING_DEPLOYED', 'CERT_EXPIRED']);
    expect(rules).toEqual(expect.arrayContaining(['CERT_WILDCARD', 'CERT_VALIDITY_TOO_LONG', 'OWNER_MISSING']));
    expect(assessment.level).toBe('critical');
    expect(assessRisk({ ...assessmentSubjectNone(), type: 'kms-key' }, now)).toEqual({
      score: 0,
      level: 'none',
      findings: [],
    });
  });
});

function assessmentSubjectNone() {
  return {
    identityId: 'd-y',
    type: 'kms-key' as const,
    source: 'aws-kms' as const,
    status: 'retired' as const,
    owner: 'platform',
    facts: {},
  };
}
