import type { DiscoveredIdentity } from '../discovery.ts';
import type { CertificateRecord, IdentityRecord } from '../inventory.ts';
import { certificateViewOfAcmFacts, certificateViewOfRecord } from './certificate-view.ts';
import type { StoredRisk } from './levels.ts';
import type { RiskSubject } from './rule.ts';
import { assessRisk, type RiskAssessment } from './rules.ts';

/** A discovered identity as the rules see it: its facts, and for an ACM certificate the view of them. */
export function riskSubjectOfDiscovered(identity: DiscoveredIdentity): RiskSubject {
  return {
    identityId: identity.identityId,
    type: identity.type,
    source: identity.source,
    status: identity.status,
    owner: identity.owner,
    facts: identity.facts,
    ...(identity.type === 'x509-certificate' && identity.source === 'aws-acm'
      ? { certificate: certificateViewOfAcmFacts(identity.facts) }
      : {}),
    // An imported certificate's facts are shaped as ACM's, with where it is deployed and what its key is.
    ...(identity.type === 'x509-certificate' && identity.source === 'import'
      ? {
          certificate: {
            ...certificateViewOfAcmFacts(identity.facts, {
              servedAt: stringsOf(identity.facts.locations),
              ...(typeof identity.facts.spkiSha256 === 'string' ? { publicKeySha256: identity.facts.spkiSha256 } : {}),
            }),
            ...(typeof identity.facts.selfSigned === 'boolean' ? { selfSigned: identity.facts.selfSigned } : {}),
          },
        }
      : {}),
  };
}

/** An issued identity as the rules see it, with its current certificate when it is known. */
export function riskSubjectOfIssued(identity: IdentityRecord, certificate: CertificateRecord | undefined): RiskSubject {
  return {
    identityId: identity.identityId,
    type: identity.type,
    source: identity.source,
    status: identity.status,
    owner: identity.owner,
    facts: {},
    ...(certificate === undefined ? {} : { certificate: certificateViewOfRecord(certificate) }),
  };
}

/** The identity with its risk assessed at `at` (an ISO instant). */
export function withAssessedRisk(identity: DiscoveredIdentity, at: string): DiscoveredIdentity {
  return { ...identity, risk: storedRiskOf(assessRisk(riskSubjectOfDiscovered(identity), new Date(at))) };
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function storedRiskOf(assessment: RiskAssessment): StoredRisk {
  return {
    score: assessment.score,
    level: assessment.level,
    rules: assessment.findings.map((finding) => finding.rule).sort(),
  };
}

/** Whether two stored assessments say the same: a write is due only when they do not. */
export function sameRisk(a: StoredRisk | undefined, b: StoredRisk | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.score === b.score && a.level === b.level && a.rules.join(',') === b.rules.join(',');
}
