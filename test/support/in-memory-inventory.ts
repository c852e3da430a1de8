import { AuthenticationError, ConflictError, ValidationError } from '#lib/domain/errors.ts';
import type { IdentityListFilter } from '#lib/domain/identity-catalog.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { CertificateInventory, ListedIdentity, Page, RevocationWrite } from '#lib/ports/certificate-inventory.ts';
import type { EnrollmentTokenRecord, EnrollmentTokenStore, TokenSpend } from '#lib/ports/enrollment-token-store.ts';

/** An in-memory inventory (and enrollment token store) for use-case tests: same contracts as the DynamoDB adapters. */
export class InMemoryInventory implements CertificateInventory, CaChainStore, EnrollmentTokenStore {
  readonly certificates = new Map<string, CertificateRecord>();
  readonly identities = new Map<string, IdentityRecord>();
  readonly audit: AuditRecord[] = [];
  readonly chains = new Map<string, string[]>();
  readonly tokens = new Map<string, EnrollmentTokenRecord>();

  async createToken(token: EnrollmentTokenRecord, audit: AuditRecord) {
    this.tokens.set(token.tokenHash, token);
    this.audit.push(audit);
  }

  async getToken(tokenHash: string) {
    return this.tokens.get(tokenHash);
  }

  async recordIssuance(write: {
    certificate: CertificateRecord;
    identity: IdentityRecord;
    audit: AuditRecord;
    spendToken?: TokenSpend | undefined;
  }) {
    if (this.certificates.has(write.certificate.serialNumber) || this.identities.has(write.identity.identityId)) {
      throw new ConflictError('SERIAL_NUMBER_EXISTS', 'serial number already used');
    }
    if (write.spendToken) {
      const token = this.tokens.get(write.spendToken.tokenHash);
      if (!token || token.spentAt !== undefined) throw new AuthenticationError('TOKEN_SPENT', 'spent');
      if (token.expiresAt <= write.spendToken.at) throw new AuthenticationError('TOKEN_EXPIRED', 'expired');
      this.tokens.set(token.tokenHash, {
        ...token,
        spentAt: write.spendToken.at,
        spentBySerial: write.certificate.serialNumber,
      });
    }
    this.certificates.set(write.certificate.serialNumber, write.certificate);
    this.identities.set(write.identity.identityId, write.identity);
    this.audit.push(write.audit);
  }

  async listAuditEvents(day: string, page: { limit: number; cursor?: string }): Promise<Page<AuditRecord>> {
    const all = this.audit.filter((a) => a.at.startsWith(day)).sort((a, b) => a.at.localeCompare(b.at));
    const start = page.cursor === undefined ? 0 : Number(page.cursor);
    const items = all.slice(start, start + page.limit);
    return start + page.limit < all.length ? { items, nextCursor: String(start + page.limit) } : { items };
  }

  async getCertificate(serialNumber: string) {
    return this.certificates.get(serialNumber);
  }

  async getIdentity(identityId: string) {
    return this.identities.get(identityId);
  }

  async recordIdentityUpdate(identity: IdentityRecord, audit: AuditRecord): Promise<void> {
    const current = this.identities.get(identity.identityId);
    if (current?.version !== identity.version - 1) throw new ConflictError('IDENTITY_VERSION_MISMATCH', 'stale');
    this.identities.set(identity.identityId, identity);
    this.audit.push(audit);
  }

  async recordRiskUpdate(identity: IdentityRecord): Promise<boolean> {
    if (this.identities.get(identity.identityId)?.version !== identity.version - 1) return false;
    this.identities.set(identity.identityId, identity);
    return true;
  }

  /** Issued identities only (they have no account): the DynamoDB adapter's integration tests cover the union. */
  async listIdentities(
    filter: IdentityListFilter,
    page: { limit: number; cursor?: string },
  ): Promise<Page<ListedIdentity>> {
    const all = [...this.identities.values()].filter(
      (i) =>
        (filter.type === undefined || i.type === filter.type) &&
        (filter.source === undefined || i.source === filter.source) &&
        (filter.status === undefined || i.status === filter.status) &&
        (filter.owner === undefined || i.owner === filter.owner) &&
        filter.account === undefined,
    );
    const start = page.cursor === undefined ? 0 : Number(page.cursor);
    if (!Number.isInteger(start) || start < 0) throw new ValidationError('INVALID_CURSOR', 'bad cursor');
    const items = all.slice(start, start + page.limit);
    const next = start + page.limit;
    return next < all.length ? { items, nextCursor: String(next) } : { items };
  }

  async recordRevocation(write: RevocationWrite): Promise<boolean> {
    const cert = this.certificates.get(write.serialNumber);
    const identity = this.identities.get(write.identityId);
    if (cert?.status !== 'active' || !identity) return false;
    this.certificates.set(write.serialNumber, {
      ...cert,
      status: 'revoked',
      revokedAt: write.revokedAt,
      revocationReason: write.reason,
      revokedBy: write.revokedBy,
    });
    this.identities.set(write.identityId, {
      ...identity,
      status: 'revoked',
      updatedAt: write.revokedAt,
      version: identity.version + 1,
    });
    this.audit.push(write.audit);
    return true;
  }

  async listCertificatesExpiring(from: Date, to: Date, page: { limit: number }): Promise<Page<CertificateRecord>> {
    const items = [...this.certificates.values()]
      .filter((c) => c.status === 'active' && c.notAfter >= from.toISOString() && c.notAfter < to.toISOString())
      .slice(0, page.limit);
    return { items };
  }

  async getChain(caId: string) {
    return this.chains.get(caId);
  }

  async putChain(caId: string, chainPem: readonly string[]) {
    this.chains.set(caId, [...chainPem]);
  }
}
