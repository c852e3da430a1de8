import { randomUUID } from 'node:crypto';
import { afterSeen, type DiscoveredIdentity, discoveredIdentityId, type Observation } from '#lib/domain/discovery.ts';
import {
  IMPORT_ACCOUNT,
  IMPORT_REGION,
  type ImportLine,
  type ImportLineError,
  importInvalid,
  parseImportLines,
} from '#lib/domain/identity-import.ts';
import { withAssessedRisk } from '#lib/domain/risk/subject.ts';
import { describeCertificate } from '#lib/pki/describe-certificate.ts';
import { decodePem } from '#lib/pki/pem.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import { certificateArn, certificateFacts, certificateName } from './certificate-facts.ts';
import { refreshSharedKeys } from './shared-keys.ts';

export interface ImportIdentitiesDeps {
  readonly discovered: Pick<DiscoveredInventory, 'getMany' | 'write' | 'keyHolders' | 'recordAudit'>;
  readonly clock: Clock;
}

export interface ImportOutcome {
  readonly lines: number;
  readonly created: number;
  readonly changed: number;
  readonly unchanged: number;
}

/** A certificate line as an observation: keyed by its fingerprint, its facts shaped as ACM's. */
function certificateObservation(line: Extract<ImportLine, { type: 'x509-certificate' }>, der: Buffer): Observation {
  const certificate = describeCertificate(der);
  return {
    source: 'import',
    type: 'x509-certificate',
    arn: certificateArn(certificate),
    name: certificateName(certificate),
    account: IMPORT_ACCOUNT,
    region: IMPORT_REGION,
    tags: line.owner === undefined ? {} : { owner: line.owner },
    facts: { ...certificateFacts(certificate, 'IMPORTED'), locations: [...(line.locations ?? [])].sort() },
  };
}

/** Any other line: keyed by its type and name. */
function otherObservation(line: Exclude<ImportLine, { type: 'x509-certificate' }>): Observation {
  return {
    source: 'import',
    type: line.type,
    arn: `import:${line.type}:${line.name}`,
    name: line.name,
    account: IMPORT_ACCOUNT,
    region: IMPORT_REGION,
    tags: line.owner === undefined ? {} : { owner: line.owner },
    facts: {
      createdAt: line.createdAt ?? null,
      expiresAt: line.expiresAt ?? null,
      lastUsedAt: line.lastUsedAt ?? null,
      location: line.location ?? null,
    },
  };
}

/** Identities written at once. */
const WRITE_BATCH = 100;

/**
 * Imports identities kept elsewhere from NDJSON (see `lib/domain/identity-import.ts`): every line is validated, and
 * every certificate read, before anything is written; any invalid line → 400 `IMPORT_INVALID` with all of them, and
 * nothing written. A certificate is one identity per fingerprint; others one per type and name. Idempotent: a line
 * that changes nothing writes nothing; an identity is written only when new or changed, with its risk assessed, and
 * each write publishes its event (`IdentityDiscovered`, `IdentityChanged`). Imported identities are not seen by a
 * discovery run, so they never become missing; an import of the same identity again refreshes it.
 */
export async function importIdentities(
  deps: ImportIdentitiesDeps,
  text: string,
  by = 'unknown',
): Promise<ImportOutcome> {
  const lines = parseImportLines(text);
  const errors: ImportLineError[] = [];
  const observations = new Map<string, Observation>();
  for (const { line, value } of lines) {
    let observation: Observation;
    if (value.type === 'x509-certificate') {
      try {
        observation = certificateObservation(value, decodePem(value.pem, ['CERTIFICATE']).der);
      } catch {
        errors.push({ line, field: 'pem', reason: 'not a PEM certificate that can be read' });
        continue;
      }
    } else {
      observation = otherObservation(value);
    }
    // The same identity twice: the later line wins.
    observations.set(discoveredIdentityId(observation), observation);
  }
  if (errors.length > 0) throw importInvalid(errors);
  const at = deps.clock.now().toISOString();
  const ids = [...observations.keys()];
  let created = 0;
  let changed = 0;
  for (let start = 0; start < ids.length; start += WRITE_BATCH) {
    const batch = ids.slice(start, start + WRITE_BATCH);
    const existing = await deps.discovered.getMany(batch);
    const writes: DiscoveredIdentity[] = [];
    for (const id of batch) {
      const next = afterSeen(existing.get(id), observations.get(id) as Observation, at);
      if (next === undefined) continue;
      if (next.change === 'new') created++;
      else changed++;
      writes.push(withAssessedRisk(next.identity, at));
    }
    if (writes.length > 0) await deps.discovered.write(writes);
  }
  // Certificates filed under a key another certificate holds: each holder learns how many share it.
  const written = [...observations.values()].filter((o) => o.type === 'x509-certificate');
  await refreshSharedKeys(
    deps,
    written.flatMap((o) => (typeof o.facts.spkiSha256 === 'string' ? [o.facts.spkiSha256] : [])),
    at,
  );
  const outcome = { lines: lines.length, created, changed, unchanged: ids.length - created - changed };
  // One audit entry for the import, once its writes are done, when it changed anything (its outbox record too).
  if (created + changed > 0) {
    await deps.discovered.recordAudit({
      eventId: randomUUID(),
      at,
      action: 'IdentitiesImported',
      actor: by,
      target: 'identities/import',
      details: outcome,
    });
  }
  return outcome;
}
