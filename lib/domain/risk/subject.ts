import type { DiscoveredIdentity } from '../discovery.ts';
import type { CertificateRecord, IdentityRecord } from '../inventory.ts';
import { servedEndpointsOf, servedSummary } from '../tls-discovery.ts';
import { certificateViewOfAcmFacts, certificateViewOfRecord } from './certificate-view.ts';
import type { StoredRisk } from './levels.ts';
import type { RiskSubject } from './rule.ts';
import { assessRisk, type RiskAssessment } from './rules.ts';

/**
 * A discovered identity as the rules see it: its facts, and for a certificate the view of them. ACM's facts are read
 * as ACM spells them; imported and scanned certificates' facts are shaped as ACM's, with what the certificate itself
 * says (its key, whether it is self-signed) and where it is served (a scan also says whether each endpoint validates
 * and matches its name).
 */
export function riskSubjectOfDiscovered(identity: DiscoveredIdentity): RiskSubject {
  return {
    identityId: identity.identityId,
    type: identity.type,
    source: identity.source,
    status: identity.status,
    owner: identity.owner,
    facts: identity.facts,
    ...(identity.type === 'x509-certificate' ? certificateOf(identity) : {}),
    ...(identity.sharedKeyCount === undefined ? {} : { context: { certificatesSharingKey: identity.sharedKeyCount } }),
  };
}

function certificateOf(identity: DiscoveredIdentity): Pick<RiskSubject, 'certificate'> {
  const facts = identity.facts;
  if (identity.source === 'aws-acm') return { certificate: certificateViewOfAcmFacts(facts) };
  if (identity.source !== 'import' && identity.source !== 'tls') return {};
  const served = identity.source === 'tls' ? servedSummary(servedEndpointsOf(facts.endpoints)) : undefined;
  const view = certificateViewOfAcmFacts(facts, {
    servedAt: served?.locations ?? stringsOf(facts.locations),
    publicKeySha256: typeof facts.spkiSha256 === 'string' ? facts.spkiSha256 : undefined,
    chainValid: served?.chainValid,
    nameMatches: served?.nameMatches,
  });
  return { certificate: typeof facts.selfSigned === 'boolean' ? { ...view, selfSigned: facts.selfSigned } : view };
}

/** An issued identity as the rules see it, with its current certificate when it is known, and where it is served. */
export function riskSubjectOfIssued(identity: IdentityRecord, certificate: CertificateRecord | undefined): RiskSubject {
  const served = servedSummary(identity.servedAt ?? []);
  return {
    identityId: identity.identityId,
    type: identity.type,
    source: identity.source,
    status: identity.status,
    owner: identity.owner,
    facts: {},
    ...(certificate === undefined
      ? {}
      : {
          certificate: certificateViewOfRecord(certificate, {
            servedAt: served.locations,
            chainValid: served.chainValid,
            nameMatches: served.nameMatches,
          }),
        }),
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
