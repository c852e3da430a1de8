import { randomUUID } from 'node:crypto';
import { type DiscoveredIdentity, isDiscoveredIdentityId, ownerFromTags } from '#lib/domain/discovery.ts';
import { NotFoundError } from '#lib/domain/errors.ts';
import {
  type AnnotationPatch,
  effectiveOwner,
  identityVersionMismatch,
  patchAnnotations,
} from '#lib/domain/identity-annotations.ts';
import type { AuditRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { Principal } from '#lib/domain/principal.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfDiscovered, riskSubjectOfIssued, storedRiskOf } from '#lib/domain/risk/subject.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';

export interface UpdateIdentityDeps {
  readonly inventory: CertificateInventory;
  readonly discovered: DiscoveredInventory;
  readonly clock: Clock;
}

/**
 * Sets an identity's owner, purpose and tags (`null` clears one), on condition that it is still at `expectedVersion`;
 * the identity's next version and an `IdentityUpdated` audit entry are written in one transaction. A manual owner
 * becomes the identity's owner at once (and so its owner in listings); discovery keeps it at every later run, and
 * clearing it gives back the owner the tags (discovered) or issuance (issued) gave.
 * @throws NotFoundError `IDENTITY_NOT_FOUND`; ConflictError `IDENTITY_VERSION_MISMATCH` (409) when it changed.
 */
export async function updateIdentity(
  deps: UpdateIdentityDeps,
  principal: Principal,
  request: { readonly identityId: string; readonly expectedVersion: number; readonly patch: AnnotationPatch },
): Promise<IdentityRecord | DiscoveredIdentity> {
  const { identityId, expectedVersion, patch } = request;
  const at = deps.clock.now().toISOString();
  const existing = isDiscoveredIdentityId(identityId)
    ? await deps.discovered.get(identityId)
    : await deps.inventory.getIdentity(identityId);
  if (existing === undefined) throw new NotFoundError('IDENTITY_NOT_FOUND', `No identity with id ${identityId}.`);
  if (existing.version !== expectedVersion)
    throw identityVersionMismatch(identityId, { currentVersion: existing.version });
  const annotations = patchAnnotations(existing.annotations, patch, principal.id, at);
  const audit: AuditRecord = {
    eventId: randomUUID(),
    at,
    action: 'IdentityUpdated',
    actor: principal.id,
    target: `identity/${identityId}`,
    details: {
      fields: (['owner', 'purpose', 'tags'] as const).filter((k) => patch[k] !== undefined).join(','),
      version: existing.version + 1,
    },
  };
  if ('observationHash' in existing) {
    const owned: DiscoveredIdentity = {
      ...existing,
      annotations,
      owner: effectiveOwner(annotations, ownerFromTags(existing.tags)),
      version: existing.version + 1,
    };
    // The owner is a fact of its risk (OWNER_MISSING).
    const updated = { ...owned, risk: storedRiskOf(assessRisk(riskSubjectOfDiscovered(owned), new Date(at))) };
    await deps.discovered.recordUpdate(updated, audit);
    return updated;
  }
  // The owner issuance gave is kept aside the first time a manual one replaces it.
  const derivedOwner = existing.derivedOwner ?? existing.owner;
  const owned: IdentityRecord = {
    ...existing,
    annotations,
    derivedOwner,
    owner: effectiveOwner(annotations, derivedOwner) ?? derivedOwner,
    updatedAt: at,
    version: existing.version + 1,
  };
  const certificate = await deps.inventory.getCertificate(existing.currentSerialNumber);
  const updated = {
    ...owned,
    risk: storedRiskOf(assessRisk(riskSubjectOfIssued(owned, certificate), new Date(at))),
  };
  await deps.inventory.recordIdentityUpdate(updated, audit);
  return updated;
}
