import { randomUUID } from 'node:crypto';
import type { CertificateProfiles } from '#lib/domain/certificate-profile.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord, SubjectAltName } from '#lib/domain/inventory.ts';
import type { NamePolicy } from '#lib/domain/name-policy.ts';
import type { Principal } from '#lib/domain/principal.ts';
import { issueLeafCertificate } from '#lib/pki/issuance-core.ts';
import type { IssuerContext } from '#lib/pki/issuer.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';

export interface IssueCertificateDeps {
  /** The issuing CA, loaded once per container and reused. */
  readonly issuer: () => Promise<IssuerContext>;
  readonly inventory: CertificateInventory;
  readonly clock: Clock;
  readonly profiles: CertificateProfiles;
  readonly namePolicy: NamePolicy;
}

export interface IssueCertificateCommand {
  readonly csr: string;
  readonly profile?: string | undefined;
  readonly validity?: string | undefined;
}

export interface IssuedCertificateView {
  readonly identityId: string;
  readonly serialNumber: string;
  readonly certificate: string;
  /** The issuing CA first, then up to the root. */
  readonly chain: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly profile: string;
  readonly subjectAltNames: readonly SubjectAltName[];
}

/**
 * Issues a certificate from a CSR: the issuance core decides and signs (requester → policy → CSR validators →
 * profile enforcers → encode → sign), then the certificate, its new identity and the audit entry are written in one
 * transaction. Nothing is written when any step refuses.
 */
export async function issueCertificate(
  deps: IssueCertificateDeps,
  principal: Principal,
  command: IssueCertificateCommand,
): Promise<IssuedCertificateView> {
  const issuer = await deps.issuer();
  const now = deps.clock.now();
  const issued = await issueLeafCertificate(
    {
      csr: command.csr,
      ...(command.profile === undefined ? {} : { profile: command.profile }),
      ...(command.validity === undefined ? {} : { validity: command.validity }),
    },
    { issuer, profiles: deps.profiles, namePolicy: deps.namePolicy, now },
  );

  const at = now.toISOString();
  const identityId = randomUUID();
  const notBefore = issued.notBefore.toISOString();
  const notAfter = issued.notAfter.toISOString();
  const certificate: CertificateRecord = {
    serialNumber: issued.serialNumber,
    identityId,
    profile: issued.profile,
    subject: issued.subject,
    subjectAltNames: issued.subjectAltNames,
    keyAlgorithm: issued.keyAlgorithm,
    keySize: issued.keySize,
    notBefore,
    notAfter,
    fingerprintSha256: issued.fingerprintSha256,
    issuedAt: at,
    issuedBy: principal.id,
    status: 'active',
    certificatePem: issued.pem,
  };
  const identity: IdentityRecord = {
    identityId,
    type: 'x509-certificate',
    status: 'active',
    owner: principal.id,
    name: issued.subjectAltNames[0]?.value ?? issued.subject,
    source: 'issued',
    currentSerialNumber: issued.serialNumber,
    expiresAt: notAfter,
    createdAt: at,
    updatedAt: at,
  };
  const audit: AuditRecord = {
    eventId: randomUUID(),
    at,
    action: 'CertificateIssued',
    actor: principal.id,
    target: `certificate/${issued.serialNumber}`,
    details: {
      identityId,
      profile: issued.profile,
      fingerprintSha256: issued.fingerprintSha256,
      names: issued.subjectAltNames.map((n) => n.value).join(','),
      notAfter,
    },
  };
  await deps.inventory.recordIssuance({ certificate, identity, audit });

  return {
    identityId,
    serialNumber: issued.serialNumber,
    certificate: issued.pem,
    chain: issuer.chainPem,
    notBefore,
    notAfter,
    profile: issued.profile,
    subjectAltNames: issued.subjectAltNames,
  };
}
