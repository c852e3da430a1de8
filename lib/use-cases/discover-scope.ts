import {
  afterMissed,
  afterSeen,
  type DiscoveredIdentity,
  type DiscoveryChange,
  type DiscoveryScopeKey,
  discoveredIdentityId,
} from '#lib/domain/discovery.ts';
import { sameRisk, withAssessedRisk } from '#lib/domain/risk/subject.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import type { DiscoverySource } from '#lib/ports/discovery-source.ts';

/** What one unit of discovery work found and changed. */
export interface ScopeCounts {
  readonly seen: number;
  readonly new: number;
  readonly changed: number;
  readonly missing: number;
  readonly reappeared: number;
  /**
   * Writes made: new, changed, reappeared and missing identities, growing missed-run streaks, and identities whose
   * risk moved with the clock alone (a key turning 91 days old).
   */
  readonly writes: number;
}

export interface DiscoverScopeDeps {
  readonly source: DiscoverySource;
  readonly inventory: DiscoveredInventory;
  readonly clock: Clock;
}

/**
 * One unit of discovery work: reads a source in one account and region page by page, writes only the identities whose
 * observation changed (or that are new, or back), and, once the source has been read to its end, counts a missed run
 * for every identity of the scope it did not see, making those `missing` after `missingAfterRuns` such runs.
 *
 * Memory holds one page and the ids seen (a few dozen bytes each). If the source throws, nothing is marked missed and
 * the error goes up with its reason: the part fails, and identities that could not be read are not missing.
 */
export async function discoverScope(
  deps: DiscoverScopeDeps,
  scope: DiscoveryScopeKey,
  options: {
    readonly missingAfterRuns: number;
    /** Called after each page with the counts so far and where to resume after that page. */
    readonly onProgress?: (counts: ScopeCounts, marker: string | undefined) => void;
    /**
     * Continue after this page marker (a unit delivered again). Having not seen the pages before it, the unit then
     * counts no missed run: the next run that reads the scope from its start does.
     */
    readonly resumeFrom?: string | undefined;
    /** When this scope was last read to its end before this run: an identity missed now was last seen then. */
    readonly scopeLastReadAt?: string | undefined;
  },
): Promise<ScopeCounts> {
  const counts: Record<keyof ScopeCounts, number> = {
    seen: 0,
    new: 0,
    changed: 0,
    missing: 0,
    reappeared: 0,
    writes: 0,
  };
  const tally = (change: DiscoveryChange | undefined) => {
    counts.writes++;
    if (change !== undefined && change !== 'missed') counts[change]++;
  };
  const seen = new Set<string>();
  const at = () => deps.clock.now().toISOString();

  const pages = deps.source.pages(
    { account: scope.account, region: scope.region },
    options.resumeFrom === undefined ? {} : { resumeFrom: options.resumeFrom },
  );
  for await (const page of pages) {
    const ids = page.observations.map((o) => discoveredIdentityId(o));
    const existing = await deps.inventory.getMany(ids);
    const writes: DiscoveredIdentity[] = [];
    const now = at();
    for (const [i, observation] of page.observations.entries()) {
      const id = ids[i] ?? discoveredIdentityId(observation);
      if (seen.has(id)) continue;
      seen.add(id);
      counts.seen++;
      const stored = existing.get(id);
      const next = afterSeen(stored, observation, now);
      if (next !== undefined) {
        writes.push(withAssessedRisk(next.identity, now));
        tally(next.change);
        continue;
      }
      // Unchanged (afterSeen writes every new identity), but time may have moved its risk: written only then.
      if (stored === undefined) continue;
      const rescored = withAssessedRisk(stored, now);
      if (sameRisk(stored.risk, rescored.risk)) continue;
      writes.push({ ...rescored, version: stored.version + 1 });
      tally(undefined);
    }
    if (writes.length > 0) await deps.inventory.write(writes);
    options.onProgress?.({ ...counts }, page.marker);
  }
  if (options.resumeFrom !== undefined) return { ...counts };

  // The source was read to its end: what it no longer shows has missed this run.
  const now = at();
  for await (const page of deps.inventory.listScope(scope)) {
    const writes: DiscoveredIdentity[] = [];
    for (const identity of page) {
      if (seen.has(identity.identityId)) continue;
      const next = afterMissed(identity, options.missingAfterRuns, now, options.scopeLastReadAt);
      if (next === undefined) continue;
      writes.push(withAssessedRisk(next.identity, now));
      tally(next.change);
    }
    if (writes.length > 0) await deps.inventory.write(writes);
  }
  return { ...counts };
}
