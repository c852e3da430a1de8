import type { AuditRecord } from '#lib/domain/inventory.ts';

/** A one-time enrollment token as stored: never the token itself, only its SHA-256. */
export interface EnrollmentTokenRecord {
  /** Lower-case hex SHA-256 of the token: the storage key. */
  readonly tokenHash: string;
  /** Public id for logs and audit (the first 16 hex of the hash). */
  readonly tokenId: string;
  readonly policy: string;
  /** The exact names the token may be used for, as `type:value` (normalized), e.g. `dns:door-7.devices.example`. */
  readonly names: readonly string[];
  /** Stamped on the identity issued with it (overrides the policy's owner tag). */
  readonly owner?: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt: string;
  /** Set, once, by the issuance that spends it. */
  readonly spentAt?: string;
  readonly spentBySerial?: string;
}

export interface EnrollmentTokenStore {
  /** Stores a new token and its audit entry atomically. */
  createToken(token: EnrollmentTokenRecord, audit: AuditRecord): Promise<void>;
  getToken(tokenHash: string): Promise<EnrollmentTokenRecord | undefined>;
}

/** What an issuance paid with an enrollment token writes, in the issuance's own transaction. */
export interface TokenSpend {
  readonly tokenHash: string;
  /** Now: the token must not have expired by then. */
  readonly at: string;
}
