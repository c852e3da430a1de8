import { type DiscoveredIdentity, isDiscoveredIdentityId, lastSeenOf } from '#lib/domain/discovery.ts';
import { NotFoundError, ValidationError } from '#lib/domain/errors.ts';
import type { IdentityListFilter } from '#lib/domain/identity-catalog.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import { assessRisk, type RiskAssessment } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfDiscovered, riskSubjectOfIssued } from '#lib/domain/risk/subject.ts';
import { servedEndpointsOf, servedSummary } from '#lib/domain/tls-discovery.ts';
import type { CertificateInventory, ListedIdentity, Page } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import type { DiscoveryRunStore } from '#lib/ports/discovery-runs.ts';

/** A certificate record with its PEM; 404 CERTIFICATE_NOT_FOUND when the serial is unknown. */
export async function getCertificate(
  deps: { inventory: CertificateInventory },
  serialNumber: string,
): Promise<CertificateRecord> {
  const record = await deps.inventory.getCertificate(serialNumber);
  if (!record) throw new NotFoundError('CERTIFICATE_NOT_FOUND', `No certificate with serial number ${serialNumber}.`);
  return record;
}

/** A certificate linked to an identity: its current one (issued), or the one this plane issued with its serial. */
export interface LinkedCertificate {
  readonly serialNumber: string;
  readonly identityId: string;
  readonly status: CertificateRecord['status'];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly fingerprintSha256: string;
}

/** One identity as `GET /v1/identities/{id}` shows it, with its risk assessed as of the request. */
export type IdentityDetail =
  | {
      readonly kind: 'issued';
      readonly identity: IdentityRecord;
      readonly certificates: LinkedCertificate[];
      readonly risk: RiskAssessment;
    }
  | {
      readonly kind: 'discovered';
      readonly identity: DiscoveredIdentity;
      /** When a read of its scope last saw it; undefined when no such read is on record. */
      readonly lastSeenAt: string | undefined;
      readonly certificates: LinkedCertificate[];
      readonly risk: RiskAssessment;
    };

export interface GetIdentityDeps {
  readonly inventory: CertificateInventory;
  readonly discovered: DiscoveredInventory;
  readonly runs: Pick<DiscoveryRunStore, 'lastScopeRead' | 'locationScans'>;
  readonly clock: Clock;
}

function link(certificate: CertificateRecord): LinkedCertificate {
  const { serialNumber, identityId, status, notBefore, notAfter, fingerprintSha256 } = certificate;
  return { serialNumber, identityId, status, notBefore, notAfter, fingerprintSha256 };
}

/**
 * A serial number as a source shows it (`0F:A1:…`, maybe with the DER sign octet) in the inventory's form: lower-case
 * hex without colons or leading zero octets. Undefined when it is not hex.
 */
export function normalizedSerial(serial: unknown): string | undefined {
  if (typeof serial !== 'string') return undefined;
  const hex = serial.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) return undefined;
  return hex.replace(/^(00)+(?=..)/, '');
}

/**
 * One identity, issued (a UUID) or discovered (`d-…`), with the records linked to it: an issued identity's current
 * certificate; for a discovered certificate (ACM), the certificate this plane issued with the same serial, if any
 * (serials are 128 random bits here, so a match is ours). A discovered identity also says when it was last seen: for
 * one seen by its scope's latest read, that read's end (recorded per scope); for one being missed, what the first
 * miss recorded. Its risk is assessed as of now (explanations carry today's figures). 404 IDENTITY_NOT_FOUND when
 * the id is unknown.
 */
export async function getIdentity(deps: GetIdentityDeps, identityId: string): Promise<IdentityDetail> {
  if (!isDiscoveredIdentityId(identityId)) {
    const identity = await deps.inventory.getIdentity(identityId);
    if (!identity) throw identityNotFound(identityId);
    const current = await deps.inventory.getCertificate(identity.currentSerialNumber);
    const risk = assessRisk(riskSubjectOfIssued(identity, current), deps.clock.now());
    return { kind: 'issued', identity, certificates: current ? [link(current)] : [], risk };
  }
  const identity = await deps.discovered.get(identityId);
  if (!identity) throw identityNotFound(identityId);
  const serial = identity.type === 'x509-certificate' ? normalizedSerial(identity.facts.serial) : undefined;
  const [ours, lastSeenAt] = await Promise.all([
    serial === undefined ? undefined : deps.inventory.getCertificate(serial),
    lastSeenAtOf(deps, identity),
  ]);
  const risk = assessRisk(riskSubjectOfDiscovered(identity), deps.clock.now());
  return { kind: 'discovered', identity, lastSeenAt, certificates: ours ? [link(ours)] : [], risk };
}

/**
 * When a discovered identity was last seen: one no read has missed since, the later of its scope's last read (for a
 * certificate on TLS endpoints, the last scan of one of its locations that found it there) and its own last change;
 * one being missed, what its first miss recorded. An import is seen by no read: none.
 */
async function lastSeenAtOf(deps: GetIdentityDeps, identity: DiscoveredIdentity): Promise<string | undefined> {
  if (identity.source === 'import') return undefined;
  if (identity.status !== 'active' || identity.missedRuns > 0) return identity.lastSeenAt;
  if (identity.source === 'tls') {
    const locations = servedSummary(servedEndpointsOf(identity.facts.endpoints)).locations;
    const scans = await deps.runs.locationScans(locations);
    const seen = [...scans.values()]
      .filter((scan) => scan.identityIds.includes(identity.identityId))
      .map((scan) => scan.scannedAt)
      .sort();
    return lastSeenOf(identity, seen.at(-1));
  }
  return lastSeenOf(identity, await deps.runs.lastScopeRead({ ...identity, source: identity.source }));
}

function identityNotFound(identityId: string): NotFoundError {
  return new NotFoundError('IDENTITY_NOT_FOUND', `No identity with id ${identityId}.`);
}

/**
 * A page of identities, issued and discovered, matching the filter, newest last within each partition, with an
 * opaque cursor. Two of owner, account and risk together are refused: each is a partition of its own index.
 * @throws ValidationError `UNSUPPORTED_FILTER`, `INVALID_CURSOR`.
 */
export function listIdentities(
  deps: { inventory: CertificateInventory },
  filter: IdentityListFilter,
  page: { limit: number; cursor?: string },
): Promise<Page<ListedIdentity>> {
  // Each of owner, account and risk is a partition of its own index; a rule reads the risk index, so it combines
  // with a risk level but not with an owner or an account.
  const named = (['owner', 'account', 'risk', 'rule'] as const).filter((key) => filter[key] !== undefined);
  const indexes = new Set(named.map((key) => (key === 'rule' ? 'risk' : key)));
  if (indexes.size > 1) {
    return Promise.reject(
      new ValidationError(
        'UNSUPPORTED_FILTER',
        `Filter by one of owner, account and risk (or rule), not ${named.join(' and ')}. Narrow it with type, source or status.`,
        { details: { filters: named } },
      ),
    );
  }
  return deps.inventory.listIdentities(filter, page);
}

/** A page of one UTC day's audit entries, oldest first. */
export function listAuditEvents(
  deps: { inventory: CertificateInventory },
  day: string,
  page: { limit: number; cursor?: string },
): Promise<Page<AuditRecord>> {
  return deps.inventory.listAuditEvents(day, page);
}
