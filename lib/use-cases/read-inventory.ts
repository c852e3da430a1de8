import { type DiscoveredIdentity, isDiscoveredIdentityId } from '#lib/domain/discovery.ts';
import { NotFoundError } from '#lib/domain/errors.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { CertificateInventory, IdentityFilter, Page } from '#lib/ports/certificate-inventory.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';

/** A certificate record with its PEM; 404 CERTIFICATE_NOT_FOUND when the serial is unknown. */
export async function getCertificate(
  deps: { inventory: CertificateInventory },
  serialNumber: string,
): Promise<CertificateRecord> {
  const record = await deps.inventory.getCertificate(serialNumber);
  if (!record) throw new NotFoundError('CERTIFICATE_NOT_FOUND', `No certificate with serial number ${serialNumber}.`);
  return record;
}

/**
 * One identity, issued (a UUID) or discovered (`d-…`, with its source's facts, first seen and last change); 404
 * IDENTITY_NOT_FOUND when the id is unknown.
 */
export async function getIdentity(
  deps: { inventory: CertificateInventory; discovered: DiscoveredInventory },
  identityId: string,
): Promise<IdentityRecord | DiscoveredIdentity> {
  const record = isDiscoveredIdentityId(identityId)
    ? await deps.discovered.get(identityId)
    : await deps.inventory.getIdentity(identityId);
  if (!record) throw new NotFoundError('IDENTITY_NOT_FOUND', `No identity with id ${identityId}.`);
  return record;
}

/** A page of identities matching the filter, newest last within each partition, with an opaque cursor. */
export function listIdentities(
  deps: { inventory: CertificateInventory },
  filter: IdentityFilter,
  page: { limit: number; cursor?: string },
): Promise<Page<IdentityRecord>> {
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
