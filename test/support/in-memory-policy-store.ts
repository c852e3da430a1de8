import { ConflictError, NotFoundError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import type { PolicyStore, PolicyWrite, StoredPolicy } from '#lib/ports/policy-store.ts';

/** An in-memory policy store for use-case tests: the PolicyStore contract, no I/O. */
export class InMemoryPolicyStore implements PolicyStore {
  readonly current = new Map<string, StoredPolicy>();
  readonly history: StoredPolicy[] = [];
  readonly audit: AuditRecord[] = [];
  /** Highest version ever written per name, so a recreated policy keeps counting up. */
  private readonly lastVersion = new Map<string, number>();
  listCalls = 0;

  async listPolicies() {
    this.listCalls++;
    return [...this.current.values()].sort((a, b) => a.document.name.localeCompare(b.document.name));
  }

  async getPolicy(name: string) {
    return this.current.get(name);
  }

  private check(name: string, expected: number | undefined): void {
    const version = this.current.get(name)?.version ?? 0;
    if (expected !== undefined && expected !== version) {
      throw new ConflictError('POLICY_VERSION_MISMATCH', 'version mismatch', { details: { currentVersion: version } });
    }
  }

  async putPolicy(write: PolicyWrite) {
    this.check(write.document.name, write.expectedVersion);
    const version = (this.lastVersion.get(write.document.name) ?? 0) + 1;
    const stored: StoredPolicy = {
      document: write.document,
      version,
      updatedAt: write.at,
      updatedBy: write.by,
      source: write.source,
    };
    this.lastVersion.set(write.document.name, version);
    this.current.set(write.document.name, stored);
    this.history.push(stored);
    this.audit.push(write.audit);
    return stored;
  }

  async deletePolicy(write: { name: string; expectedVersion: number | undefined; audit: AuditRecord }) {
    if (!this.current.has(write.name)) throw new NotFoundError('POLICY_NOT_FOUND', 'no such policy');
    this.check(write.name, write.expectedVersion);
    this.lastVersion.set(write.name, (this.lastVersion.get(write.name) ?? 0) + 1);
    this.current.delete(write.name);
    this.audit.push(write.audit);
  }

  async policyHistory(name: string) {
    return this.history.filter((p) => p.document.name === name);
  }
}
