import type { Facts } from '../discovery.ts';
import type { AnyIdentityStatus, AnyIdentityType, IdentitySource } from '../identity-catalog.ts';

/**
 * Risk rules: pure functions of one identity (as a {@link RiskSubject}) and the clock, one file each under
 * `lib/domain/risk/rules/`, registered in `lib/domain/risk/rules.ts`. A rule that fires gives a {@link Finding}: a
 * stable code, a severity, what is wrong with this identity and what to do, and the AWS Foundational Security Best
 * Practices (FSBP) or CIS AWS Foundations control it matches, where one does.
 */

export { RISK_LEVELS, type RiskLevel, SEVERITIES, type Severity } from './levels.ts';

import type { Severity } from './levels.ts';

/**
 * What the certificate rules read, whichever source saw the certificate (our issuance, ACM, a TLS scan, an import):
 * absent fields are unknown, and a rule that needs one does not fire without it.
 */
export interface CertificateView {
  readonly notBefore?: string | undefined;
  readonly notAfter?: string | undefined;
  /** When renewal is due: ours carry it (the policy's window); others fall back to 30 days before notAfter. */
  readonly renewAfter?: string | undefined;
  /** `RSA`, `EC` or `ED25519`. */
  readonly keyFamily?: 'RSA' | 'EC' | 'ED25519' | undefined;
  /** RSA modulus bits; EC curve bits (256 for P-256). */
  readonly keyBits?: number | undefined;
  /** As the source spells it (`SHA256WITHRSA`, `sha1WithRSAEncryption`, `ecdsa-with-SHA256`…). */
  readonly signatureAlgorithm?: string | undefined;
  /** DNS names, IPs and URIs it is for (SANs, else the CN). */
  readonly names: readonly string[];
  readonly selfSigned?: boolean | undefined;
  /** Lower-case hex SHA-256 of its SubjectPublicKeyInfo, when known. */
  readonly publicKeySha256?: string | undefined;
  /** Revoked by its issuer (ours: the inventory says so). */
  readonly revoked: boolean;
  /** Where it is deployed: endpoints serving it (`host:port`) and AWS resources using it (ACM `InUseBy` ARNs). */
  readonly servedAt: readonly string[];
  readonly inUseBy: readonly string[];
  /** From a TLS scan: whether the presented chain validated (to our CA or the system roots), and the name matched. */
  readonly chainValid?: boolean | undefined;
  readonly nameMatches?: boolean | undefined;
}

/** One identity as the rules see it. */
export interface RiskSubject {
  readonly identityId: string;
  readonly type: AnyIdentityType;
  readonly source: IdentitySource;
  readonly status: AnyIdentityStatus;
  readonly owner: string | undefined;
  /** The source's facts (discovered identities); empty for issued ones, whose certificate says everything. */
  readonly facts: Facts;
  readonly certificate?: CertificateView | undefined;
  /** What only the rest of the inventory knows: how many other certificates carry the same public key. */
  readonly context?: { readonly certificatesSharingKey?: number | undefined } | undefined;
}

/** A rule that fired for one identity. */
export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  /** What is wrong with this identity, with its own figures ("expired 3 days ago", "created 412 days ago"). */
  readonly explanation: string;
  /** What a person does about it. */
  readonly remediation: string;
  /** The FSBP or CIS control it matches, e.g. `AWS FSBP IAM.3`, `CIS AWS 1.14`. */
  readonly control?: string | undefined;
}

export interface RiskRule {
  /** Stable, upper snake case, e.g. `CERT_EXPIRED`; filters and findings name rules by it. */
  readonly code: string;
  readonly severity: Severity;
  /** One line: what the rule looks for. */
  readonly title: string;
  readonly control?: string | undefined;
  /** The identity types it can fire for. */
  readonly appliesTo: readonly AnyIdentityType[];
  /** A finding when the rule fires for this identity at `now`, else undefined. Pure: no I/O, no clock but `now`. */
  evaluate(subject: RiskSubject, now: Date): Finding | undefined;
}
