import type { DiscoveredIdentity, DiscoveryScopeKey } from '#lib/domain/discovery.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';

/**
 * The discovered identities of the inventory. Reads are by id (batched) and by scope (the identities a source found in
 * one account and region); writes are conditional on the version read, so two runs never overwrite each other's news.
 */
export interface DiscoveredInventory {
  /** One identity, or undefined. */
  get(identityId: string): Promise<DiscoveredIdentity | undefined>;
  /** The identities with these ids that exist, by id. */
  getMany(identityIds: readonly string[]): Promise<ReadonlyMap<string, DiscoveredIdentity>>;
  /** Every identity of a scope, page by page. */
  listScope(scope: DiscoveryScopeKey): AsyncIterable<readonly DiscoveredIdentity[]>;
  /**
   * The certificate identities filed under this public key (lower-case hex SHA-256 of the SubjectPublicKeyInfo), at
   * most 1,000. A certificate identity whose facts carry `spkiSha256` is filed there by {@link write}.
   */
  keyHolders(spkiSha256: string): Promise<readonly string[]>;
  /**
   * Writes each identity on condition that its stored version is the one before (absent for version 1).
   * @throws ConflictError `CONCURRENT_UPDATE` when another writer got there first: the unit of work is retried.
   */
  write(identities: readonly DiscoveredIdentity[]): Promise<void>;
  /**
   * Writes an identity's next version (a change of its annotations) and the audit entry, atomically, on condition
   * that its stored version is the one before.
   * @throws ConflictError `IDENTITY_VERSION_MISMATCH` when it changed since it was read (nothing is written).
   */
  recordUpdate(identity: DiscoveredIdentity, audit: AuditRecord): Promise<void>;
  /** Appends an audit entry of a change made of several writes (an import), once they are all done. */
  recordAudit(audit: AuditRecord): Promise<void>;
}
