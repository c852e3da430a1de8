import type { DiscoveredIdentity } from '../discovery.ts';
import type { CertificateRecord, IdentityRecord } from '../inventory.ts';
import { certificateViewOfAcmFacts, certificateViewOfRecord } from './certificate-view.ts';
import type { StoredRisk } from './levels.ts';
import type { RiskSubject } from './rule.ts';
import type { RiskAssessment } from './rules.ts';

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
