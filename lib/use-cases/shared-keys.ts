import type { DiscoveredIdentity } from '#lib/domain/discovery.ts';
import { ConflictError } from '#lib/domain/errors.ts';
import { withAssessedRisk } from '#lib/domain/risk/subject.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';

/**
 * Keeps `sharedKeyCount` (what `CERT_SHARED_KEY` and the consolidation's shared-key group read) true for every
 * certificate identity holding one of these public keys: after a write that may have filed a certificate under a key,
 * each holder of the key learns how many others hold it, and is rewritten (with its risk reassessed) only when that
 * number moved. Costs one Query per key, and writes only on a change. A holder changed meanwhile by another writer is
 * left to the next refresh of its key (that writer's run refreshes it too).
 * @returns how many identities were rewritten.
 */
export async function refreshSharedKeys(
  deps: { readonly discovered: Pick<DiscoveredInventory, 'keyHolders' | 'getMany' | 'write'> },
  spkis: Iterable<string>,
  at: string,
): Promise<number> {
  let rewritten = 0;
  for (const spki of new Set(spkis)) {
    const holders = await deps.discovered.keyHolders(spki);
    const others = holders.length - 1;
    const found = await deps.discovered.getMany(holders);
    for (const identity of found.values()) {
      if ((identity.sharedKeyCount ?? 0) === Math.max(others, 0)) continue;
      const { sharedKeyCount: _before, ...rest } = identity;
      const next: DiscoveredIdentity = withAssessedRisk(
        { ...rest, ...(others > 0 ? { sharedKeyCount: others } : {}), version: identity.version + 1 },
        at,
      );
      try {
        await deps.discovered.write([next]);
        rewritten++;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
  }
  return rewritten;
}
