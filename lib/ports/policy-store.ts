import type { AuditRecord } from '#lib/domain/inventory.ts';
import type { PolicyDocument } from '#lib/domain/policy.ts';

/** A policy as stored: its document and the version an `If-Match` must name to change it. */
export interface StoredPolicy {
  readonly document: PolicyDocument;
  /** 1 for a new policy, then one more per change. */
  readonly version: number;
  readonly updatedAt: string;
  /** Principal id, or `config` for the deployment's configuration file. */
  readonly updatedBy: string;
  /** Where the current version came from: the configuration file or the admin API. */
  readonly source: 'config' | 'api';
}

export interface PolicyWrite {
  readonly document: PolicyDocument;
  /**
   * The version the caller last read: 0 means "must not exist yet", a number means "must still be that version";
   * undefined writes regardless (used only by the configuration seeding).
   */
  readonly expectedVersion: number | undefined;
  readonly source: StoredPolicy['source'];
  readonly at: string;
  readonly by: string;
  readonly audit: AuditRecord;
}

/**
 * Issuance policies, versioned. Every write keeps the version it replaces, so the history of a policy is never lost,
 * and writes the audit entry in the same transaction.
 */
export interface PolicyStore {
  /** Every current policy, by name. */
  listPolicies(): Promise<StoredPolicy[]>;
  getPolicy(name: string): Promise<StoredPolicy | undefined>;
  /**
   * Writes the next version of a policy (1 when new).
   * @throws ConflictError `POLICY_VERSION_MISMATCH` (details `{ currentVersion }`, 0 when absent) when the stored
   *   version is not `expectedVersion`; nothing is written then.
   */
  putPolicy(write: PolicyWrite): Promise<StoredPolicy>;
  /**
   * Deletes the current policy; its versions stay in the history.
   * @throws NotFoundError `POLICY_NOT_FOUND`; ConflictError `POLICY_VERSION_MISMATCH` as for `putPolicy`.
   */
  deletePolicy(write: {
    readonly name: string;
    readonly expectedVersion: number | undefined;
    readonly audit: AuditRecord;
  }): Promise<void>;
  /** Every version of a policy ever written, oldest first, including deleted ones. */
  policyHistory(name: string): Promise<StoredPolicy[]>;
}
