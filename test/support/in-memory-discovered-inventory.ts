import type { DiscoveredIdentity, DiscoveryScopeKey } from '#lib/domain/discovery.ts';
import { ConflictError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';

/** The discovered inventory in memory, with the DynamoDB adapter's version condition; counts its writes. */
export class InMemoryDiscoveredInventory implements DiscoveredInventory {
  readonly items = new Map<string, DiscoveredIdentity>();
  writes = 0;

  async get(identityId: string): Promise<DiscoveredIdentity | undefined> {
    return this.items.get(identityId);
  }

  async getMany(identityIds: readonly string[]): Promise<ReadonlyMap<string, DiscoveredIdentity>> {
    const found = new Map<string, DiscoveredIdentity>();
    for (const id of identityIds) {
      const item = this.items.get(id);
      if (item) found.set(id, item);
    }
    return found;
  }

  async keyHolders(spkiSha256: string): Promise<readonly string[]> {
    return [...this.items.values()]
      .filter((i) => i.type === 'x509-certificate' && i.facts.spkiSha256 === spkiSha256)
      .map((i) => i.identityId)
      .sort();
  }

  async *listScope(scope: DiscoveryScopeKey): AsyncIterable<readonly DiscoveredIdentity[]> {
    yield [...this.items.values()].filter(
      (i) => i.source === scope.source && i.account === scope.account && i.region === scope.region,
    );
  }

  async write(identities: readonly DiscoveredIdentity[]): Promise<void> {
    for (const identity of identities) {
      const current = this.items.get(identity.identityId);
      if ((current?.version ?? 0) !== identity.version - 1) {
        throw new ConflictError('CONCURRENT_UPDATE', `version conflict on ${identity.identityId}`);
      }
      this.items.set(identity.identityId, identity);
      this.writes++;
    }
  }

  readonly audit: AuditRecord[] = [];

  async recordAudit(audit: AuditRecord): Promise<void> {
    this.audit.push(audit);
  }

  async recordUpdate(identity: DiscoveredIdentity, audit: AuditRecord): Promise<void> {
    if (this.items.get(identity.identityId)?.version !== identity.version - 1) {
      throw new ConflictError('IDENTITY_VERSION_MISMATCH', `version conflict on ${identity.identityId}`);
    }
    this.items.set(identity.identityId, identity);
    this.writes++;
    this.audit.push(audit);
  }
}
