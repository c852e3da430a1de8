import type { DiscoveredIdentity } from '#lib/domain/discovery.ts';
import type { IdentityListFilter } from '#lib/domain/identity-catalog.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { RevocationReason } from '#lib/domain/revocation-reason.ts';
import type { StoredRisk } from '#lib/domain/risk/levels.ts';
import type { TokenSpend } from './enrollment-token-store.ts';

/** An identity as a listing shows it: an issued one whole, a discovered one without its facts. */
export type ListedIdentity = IdentityRecord | Omit<DiscoveredIdentity, 'facts' | 'observationHash'>;

export interface Page<T> {
  readonly items: T[];
  /** Opaque; present when more items may follow. */
  readonly nextCursor?: string;
}

export interface RevocationWrite {
  readonly serialNumber: string;
  readonly identityId: string;
  readonly reason: RevocationReason;
  readonly revokedAt: string;
  readonly revokedBy: string;
  /** The identity's risk once revoked; undefined keeps what it has. */
  readonly risk?: StoredRisk | undefined;
  readonly audit: AuditRecord;
}

/** The inventory of machine identities and their certificates, with the audit trail of what changed them. */
export interface CertificateInventory {
  /**
   * Writes the certificate, its identity and the audit entry atomically. Throws `ConflictError` with code
   * `SERIAL_NUMBER_EXISTS` if the serial is already used (nothing is written then).
   *
   * With `spendToken`, the same transaction marks that enrollment token spent, on condition that it exists, is unspent
   * and has not expired at `spendToken.at`; otherwise nothing is written and `AuthenticationError` `TOKEN_SPENT` or
   * `TOKEN_EXPIRED` (401) is thrown. So a token pays for exactly one certificate, even under concurrent use.
   */
  recordIssuance(write: {
    certificate: CertificateRecord;
    identity: IdentityRecord;
    audit: AuditRecord;
    spendToken?: TokenSpend | undefined;
  }): Promise<void>;
  getCertificate(serialNumber: string): Promise<CertificateRecord | undefined>;
  getIdentity(identityId: string): Promise<IdentityRecord | undefined>;
  /**
   * Replaces an issued identity with its next version (`identity.version`) and writes the audit entry, atomically.
   * @throws ConflictError `IDENTITY_VERSION_MISMATCH` when the stored version is not `identity.version - 1`.
   */
  recordIdentityUpdate(identity: IdentityRecord, audit: AuditRecord): Promise<void>;
  /**
   * Replaces an issued identity with its next version whose risk was reassessed (not audited: the clock moved it).
   * @returns false, writing nothing, when the stored version is not `identity.version - 1` (another change won).
   */
  recordRiskUpdate(identity: IdentityRecord): Promise<boolean>;
  /**
   * Issued and discovered identities matching the filter (at most one of owner and account), one page at a time.
   * Throws `ValidationError` with code `INVALID_CURSOR` for a cursor this inventory did not hand out for this filter.
   */
  listIdentities(filter: IdentityListFilter, page: { limit: number; cursor?: string }): Promise<Page<ListedIdentity>>;
  /**
   * Marks an active certificate (and its identity) revoked and writes the audit entry, atomically, on the condition
   * that the certificate is still active. Returns `false` and writes nothing when it is not (absent or revoked).
   */
  recordRevocation(write: RevocationWrite): Promise<boolean>;
  /**
   * Active certificates whose notAfter lies in [from, to), read from the sparse expiry index day by day, so the cost
   * grows with the number due and not with the inventory.
   */
  /** The audit entries of one UTC day (`YYYY-MM-DD`), oldest first, one page at a time. */
  listAuditEvents(day: string, page: { limit: number; cursor?: string }): Promise<Page<AuditRecord>>;
  listCertificatesExpiring(
    from: Date,
    to: Date,
    page: { limit: number; cursor?: string },
  ): Promise<Page<CertificateRecord>>;
}
