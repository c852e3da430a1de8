import { type InventorySummaryView, summaryView } from '#lib/domain/inventory-summary.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { InventorySummaryReader } from '#lib/ports/inventory-summary.ts';

/**
 * The inventory summary: counts by type, source, status, risk level and account, the largest owners, and certificate
 * expiry buckets as of now. Read from counters kept current as identities change (never by reading the inventory), so
 * its cost does not grow with the inventory; the expiry buckets are computed from a per-day histogram at read time.
 */
export async function getInventorySummary(deps: {
  readonly summary: InventorySummaryReader;
  readonly clock: Clock;
}): Promise<InventorySummaryView> {
  return summaryView(await deps.summary.read(), deps.clock.now());
}
