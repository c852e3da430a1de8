import { randomUUID } from 'node:crypto';
import { AuthenticationError } from '#lib/domain/errors.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord, SubjectAltName } from '#lib/domain/inventory.ts';
import type { IssuanceAsk, PolicySet } from '#lib/domain/policy-engine.ts';
import type { Principal } from '#lib/domain/principal.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfIssued, storedRiskOf } from '#lib/domain/risk/subject.ts';
import { type IssuanceRequest, issueLeafCertificate } from '#lib/pki/issuance-core.ts';
import type { IssuerContext } from '#lib/pki/issuer.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { EnrollmentTokenRecord, EnrollmentTokenStore } from '#lib/ports/enrollment-token-store.ts';

export interface IssueCertificateDeps {
  /** The issuing CA, loaded once per container and reused. */
  readonly issuer: () => Promise<IssuerContext>;
  readonly inventory: CertificateInventory;
  readonly clock: Clock;
  /** The current policies, compiled (see `policySetLoader`). */
  readonly policies: () => Promise<PolicySet>;
  readonly tokens: EnrollmentTokenStore;
}

/** What the caller asks for: exactly what the issuance core takes. */
export type IssueCertificateCommand = IssuanceRequest;

export interface IssuedCertificateView {
  readonly identityId: string;
  readonly serialNumber: string;
  readonly certificate: string;
  /** The issuing CA first, then up to the root. */
  readonly chain: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly renewAfter: string;
  readonly policy: string;
  readonly subjectAltNames: readonly SubjectAltName[];
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The enrollment token a request pays with, loaded to learn what it is bound to. Whether it is still unspent is
 * decided again, atomically, by the transaction that spends it.
 */
async function usableToken(deps: IssueCertificateDeps, tokenHash: string, now: Date): Promise<EnrollmentTokenRecord> {
  const token = await deps.tokens.getToken(tokenHash);
  if (!token)
    throw new AuthenticationError('INVALID_TOKEN', 'The enrollment token is not valid. Ask an admin for one.');
  if (token.spentAt !== undefined) {
    throw new AuthenticationError(
      'TOKEN_SPENT',
      'This enrollment token has already been used; ask an admin for a new one.',
    );
  }
  if (Date.parse(token.expiresAt) <= now.getTime()) {
    throw new AuthenticationError('TOKEN_EXPIRED', 'This enrollment token has expired; ask an admin for a new one.');
  }
  return token;
}

/**
 * Issues a certificate from a CSR: the issuance core decides and signs (requester → policy → CSR validators →
 * enforcers → encode → sign), then the certificate, its new identity and the audit entry are written in one
 * transaction, which also spends the enrollment token the request paid with, if any. Nothing is written when any
 * step refuses.
 */
export async function issueCertificate(
  deps: IssueCertificateDeps,
  principal: Principal,
  command: IssueCertificateCommand,
): Promise<IssuedCertificateView> {
  const now = deps.clock.now();
  const token = principal.kind === 'enrollment-token' ? await usableToken(deps, principal.tokenHash, now) : undefined;
  const [issuer, policies] = await Promise.all([deps.issuer(), deps.policies()]);
  const binding = token ? { policy: token.policy, names: token.names } : undefined;
  const issued = await issueLeafCertificate(command, {
    issuer,
    now,
    decide: (ask: IssuanceAsk) => policies.decide(principal, { ...ask, binding }),
  });

  const at = now.toISOString();
  const identityId = randomUUID();
  const notBefore = issued.notBefore.toISOString();
  const notAfter = issued.notAfter.toISOString();
  const renewAfter = issued.renewAfter.toISOString();
  const owner = token?.owner ?? issued.tags.owner ?? principal.id;
  const certificate: CertificateRecord = {
    serialNumber: issued.serialNumber,
    identityId,
    policy: issued.policy,
    subject: issued.subject,
    subjectAltNames: issued.subjectAltNames,
    keyAlgorithm: issued.keyAlgorithm,
    keySize: issued.keySize,
    notBefore,
    notAfter,
    renewAfter,
    fingerprintSha256: issued.fingerprintSha256,
    issuedAt: at,
    issuedBy: principal.id,
    status: 'active',
    certificatePem: issued.pem,
    tags: issued.tags,
  };
  const identity: IdentityRecord = {
    identityId,
    type: 'x509-certificate',
    status: 'active',
    owner,
    policy: issued.policy,
    tags: issued.tags,
    name: issued.subjectAltNames[0]?.value ?? issued.subject,
    source: 'issued',
    currentSerialNumber: issued.serialNumber,
    expiresAt: notAfter,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
  const assessedIdentity: IdentityRecord = {
    ...identity,
    risk: storedRiskOf(assessRisk(riskSubjectOfIssued(identity, certificate), now)),
  };
  const audit: AuditRecord = {
    eventId: randomUUID(),
    at,
    action: 'CertificateIssued',
    actor: principal.id,
    target: `certificate/${issued.serialNumber}`,
    details: {
      identityId,
      policy: issued.policy,
      fingerprintSha256: issued.fingerprintSha256,
      names: issued.subjectAltNames.map((n) => n.value).join(','),
      notAfter,
      ...(token ? { enrollmentToken: token.tokenId } : {}),
    },
  };
  await deps.inventory.recordIssuance({
    certificate,
    identity: assessedIdentity,
    audit,
    spendToken: token ? { tokenHash: token.tokenHash, at: now.toISOString() } : undefined,
  });

  return {
    identityId,
    serialNumber: issued.serialNumber,
    certificate: issued.pem,
    chain: issuer.chainPem,
    notBefore,
    notAfter,
    renewAfter,
    policy: issued.policy,
    subjectAltNames: issued.subjectAltNames,
    tags: issued.tags,
  };
}
