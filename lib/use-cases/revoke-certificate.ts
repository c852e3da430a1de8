import { randomUUID } from 'node:crypto';
import { NotFoundError } from '#lib/domain/errors.ts';
import type { CertificateRecord } from '#lib/domain/inventory.ts';
import type { Principal } from '#lib/domain/principal.ts';
import type { RevocationReason } from '#lib/domain/revocation-reason.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfIssued, storedRiskOf } from '#lib/domain/risk/subject.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';

export interface RevokeCertificateDeps {
  readonly inventory: CertificateInventory;
  readonly clock: Clock;
}

export interface RevocationView {
  readonly serialNumber: string;
  readonly status: 'revoked';
  readonly revocationReason: RevocationReason;
  readonly revokedAt: string;
  /** False when the certificate was already revoked: then nothing changed, whatever reason this request gave. */
  readonly changed: boolean;
  readonly message: string;
}

function alreadyRevoked(record: CertificateRecord, requested: RevocationReason): RevocationView {
  const reason = record.revocationReason ?? 'unspecified';
  const revokedAt = record.revokedAt ?? '';
  const differs = reason === requested ? '' : ` The requested reason "${requested}" was not applied.`;
  return {
    serialNumber: record.serialNumber,
    status: 'revoked',
    revocationReason: reason,
    revokedAt,
    changed: false,
    message: `Certificate ${record.serialNumber} was already revoked (${reason}) at ${revokedAt}; nothing changed.${differs}`,
  };
}

/**
 * Revokes a certificate. Idempotent: revoking a revoked certificate changes nothing (not even the reason) and says
 * so. The state change and its audit entry are one conditional transaction, so two concurrent revocations cannot
 * both win.
 */
export async function revokeCertificate(
  deps: RevokeCertificateDeps,
  principal: Principal,
  command: { serialNumber: string; reason: RevocationReason },
): Promise<RevocationView> {
  const record = await deps.inventory.getCertificate(command.serialNumber);
  if (!record) {
    throw new NotFoundError('CERTIFICATE_NOT_FOUND', `No certificate with serial number ${command.serialNumber}.`);
  }
  if (record.status === 'revoked') return alreadyRevoked(record, command.reason);

  const revokedAt = deps.clock.now().toISOString();
  // The identity's risk once revoked (a revoked certificate nobody serves is no longer at risk of expiring).
  const identity = await deps.inventory.getIdentity(record.identityId);
  const risk =
    identity === undefined
      ? undefined
      : storedRiskOf(
          assessRisk(
            riskSubjectOfIssued({ ...identity, status: 'revoked' }, { ...record, status: 'revoked' }),
            new Date(revokedAt),
          ),
        );
  const changed = await deps.inventory.recordRevocation({
    serialNumber: record.serialNumber,
    identityId: record.identityId,
    reason: command.reason,
    revokedAt,
    revokedBy: principal.id,
    risk,
    audit: {
      eventId: randomUUID(),
      at: revokedAt,
      action: 'CertificateRevoked',
      actor: principal.id,
      target: `certificate/${record.serialNumber}`,
      details: { identityId: record.identityId, reason: command.reason, fingerprintSha256: record.fingerprintSha256 },
    },
  });
  if (!changed) {
    // Another request revoked it between our read and our conditional write: report its outcome.
    const current = await deps.inventory.getCertificate(command.serialNumber);
    if (current?.status === 'revoked') return alreadyRevoked(current, command.reason);
    throw new NotFoundError('CERTIFICATE_NOT_FOUND', `No certificate with serial number ${command.serialNumber}.`);
  }
  return {
    serialNumber: record.serialNumber,
    status: 'revoked',
    revocationReason: command.reason,
    revokedAt,
    changed: true,
    message: `Certificate ${record.serialNumber} revoked (${command.reason}).`,
  };
}
