import type {
  AuditRecord,
  CertificateRecord,
  IdentityRecord,
  IdentityStatus,
  IdentityType,
} from '#lib/domain/inventory.ts';
import type { RevocationReason } from '#lib/domain/revocation-reason.ts';

export interface IdentityFilter {
  readonly type?: IdentityType | undefined;
  readonly status?: IdentityStatus | undefined;
  readonly owner?: string | undefined;
}

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
  readonly audit: AuditRecord;
}

/** The inventory of machine identities and their certificates, with the audit trail of what changed them. */
export interface CertificateInventory {
  /**
   * Writes the certificate, its identity and the audit entry atomically. Throws `ConflictError` with code
   * `SERIAL_NUMBER_EXISTS` if the serial is already used (nothing is written then).
   */
  recordIssuance(write: {
    certificate: CertificateRecord;
    identity: IdentityRecord;
    audit: AuditRecord;
  }): Promise<void>;
  getCertificate(serialNumber: string): Promise<CertificateRecord | undefined>;
  getIdentity(identityId: string): Promise<IdentityRecord | undefined>;
  /** Throws `ValidationError` with code `INVALID_CURSOR` for a cursor this inventory did not hand out for this filter. */
  listIdentities(filter: IdentityFilter, page: { limit: number; cursor?: string }): Promise<Page<IdentityRecord>>;
  /**
   * Marks an active certificate (and its identity) revoked and writes the audit entry, atomically, on the condition
   * that the certificate is still active. Returns `false` and writes nothing when it is not (absent or revoked).
   */
  recordRevocation(write: RevocationWrite): Promise<boolean>;
  /**
   * Active certificates whose notAfter lies in [from, to), read from the sparse expiry index day by day, so the cost
   * grows with the number due and not with the inventory.
   */
  listCertificatesExpiring(
    from: Date,
    to: Date,
    page: { limit: number; cursor?: string },
  ): Promise<Page<CertificateRecord>>;
}
