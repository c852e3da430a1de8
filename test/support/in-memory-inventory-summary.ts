import { type StoredSummary, type SummaryContribution, summaryDelta } from '#lib/domain/inventory-summary.ts';
import type {
  InventorySummaryReader,
  InventorySummaryStore,
  SummaryApplyOutcome,
  SummaryApplyResult,
  SummaryChange,
} from '#lib/ports/inventory-summary.ts';

/**
 * The inventory summary in memory, with the DynamoDB adapter's rules: a change is applied against what is counted for
 * its identity, a version at or below that one is stale, an equal contribution writes nothing. `failOn` makes the
 * apply of chosen changes throw (nothing counted), as a throttled or contended write would.
 */
export class InMemoryInventorySummary implements InventorySummaryStore, InventorySummaryReader {
  readonly counted = new Map<string, { counters: SummaryContribution; version: number }>();
  readonly counters = new Map<string, number>();
  /** Every apply, in the order it was asked for. */
  readonly applied: SummaryChange[] = [];
  failOn: (change: SummaryChange) => boolean = () => false;

  async apply(change: SummaryChange): Promise<SummaryApplyOutcome> {
    this.applied.push(change);
    // A turn of the event loop, so that concurrent applies interleave as they would against a store.
    await Promise.resolve();
    if (this.failOn(change)) throw new Error(`injected failure of ${change.identityId} v${change.version}`);
    const stored = this.counted.get(change.identityId);
    if (stored !== undefined && stored.version >= change.version) return 'stale';
    const delta = summaryDelta(stored?.counters, change.contribution);
    if (Object.keys(delta).length === 0) return 'unchanged';
    for (const [name, by] of Object.entries(delta)) this.counters.set(name, (this.counters.get(name) ?? 0) + by);
    this.counted.set(change.identityId, { counters: change.contribution, version: change.version });
    return 'applied';
  }

  async applyMany(changes: readonly SummaryChange[]): Promise<SummaryApplyResult[]> {
    const results: SummaryApplyResult[] = [];
    for (const change of changes) {
      try {
        results.push({ outcome: await this.apply(change) });
      } catch (error) {
        results.push({ error });
      }
    }
    return results;
  }

  async read(): Promise<StoredSummary> {
    return { counters: Object.fromEntries([...this.counters].filter(([, count]) => count !== 0)) };
  }
}
