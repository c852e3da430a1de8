import type { IdentityAnnotations } from './identity-annotations.ts';
import type { RevocationReason } from './revocation-reason.ts';
import type { StoredRisk } from './risk/levels.ts';
import type { ServedEndpoint } from './tls-discovery.ts';

/** A name a certificate is issued for, exactly as it appears in the subjectAltName extension. */
export type SubjectAltName =
  | { readonly type: 'dns'; readonly value: string }
  | { readonly type: 'ip'; readonly value: string }
  | { readonly type: 'uri'; readonly value: string };

/** Public key algorithms a leaf certificate may carry. */
export type LeafKeyAlgorithm = 'EC_P256' | 'EC_P384' | 'RSA' | 'ED25519';

export type CertificateStatus = 'active' | 'revoked';

/** The kinds of machine identity the inventory holds. Only certificates are issued so far. */
export const IDENTITY_TYPES = ['x509-certificate'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

export const IDENTITY_STATUSES = ['active', 'revoked'] as const;
export type IdentityStatus = (typeof IDENTITY_STATUSES)[number];

/** One issued certificate, as the inventory stores it. `expired` is not a status: it is derived from `notAfter`. */
export interface CertificateRecord {
  /** Lower-case hex of the DER INTEGER content, without leading zero octet or colons. */
  readonly serialNumber: string;
  readonly identityId: string;
  /** The policy it was issued under. */
  readonly policy: string;
  /** RFC 4514 string of the subject, e.g. `CN=api.local.test`; empty when the subject is empty. */
  readonly subject: string;
  readonly subjectAltNames: readonly SubjectAltName[];
  readonly keyAlgorithm: LeafKeyAlgorithm;
  readonly keySize: number;
  readonly notBefore: string;
  readonly notAfter: string;
  /** When renewal is due (the policy's renewal window before notAfter). */
  readonly renewAfter: string;
  /** Lower-case hex SHA-256 of the certificate DER. */
  readonly fingerprintSha256: string;
  readonly issuedAt: string;
  readonly issuedBy: string;
  readonly status: CertificateStatus;
  readonly revokedAt?: string;
  readonly revocationReason?: RevocationReason;
  readonly revokedBy?: string;
  readonly certificatePem: string;
  /** Tags the policy stamped, e.g. owner and purpose. */
  readonly tags: Readonly<Record<string, string>>;
}

/** A machine identity: the thing an owner cares about, of which a certificate is the current credential. */
export interface IdentityRecord {
  readonly identityId: string;
  readonly type: IdentityType;
  readonly status: IdentityStatus;
  /** The manual owner when one is set, else {@link IdentityRecord.derivedOwner}. */
  readonly owner: string;
  /**
   * The owner issuance gave it: the token's, else the policy's `owner` tag, else the requester's principal id. Absent
   * on records from before annotations, where it is `owner`.
   */
  readonly derivedOwner?: string;
  /** Owner, purpose and tags people set with `PATCH /v1/identities/{id}`. */
  readonly annotations?: IdentityAnnotations;
  /** The policy it was issued under, and the tags that policy stamped. */
  readonly policy: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The primary name: the first subjectAltName. */
  readonly name: string;
  readonly source: 'issued';
  readonly currentSerialNumber: string;
  readonly expiresAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Incremented by every change (revocation, annotation): the ETag a `PATCH` names in `If-Match`. */
  readonly version: number;
  /** Its risk as last assessed (when it was written): what listings filter by and events report. */
  readonly risk?: StoredRisk;
  /** Where TLS scans last found its certificate served (absent: nowhere scanned). */
  readonly servedAt?: readonly ServedEndpoint[];
}

export const AUDIT_ACTIONS = [
  'CertificateIssued',
  'CertificateRevoked',
  'CaBootstrapped',
  'PolicyCreated',
  'PolicyUpdated',
  'PolicyDeleted',
  'EnrollmentTokenCreated',
  'IdentityUpdated',
  'IdentitiesImported',
] as const;

/** One audited action. `details` never holds secrets: ids, serials, fingerprints, names. */
export interface AuditRecord {
  readonly eventId: string;
  readonly at: string;
  readonly action: (typeof AUDIT_ACTIONS)[number];
  readonly actor: string;
  readonly target: string;
  readonly details: Readonly<Record<string, string | number | boolean>>;
}
