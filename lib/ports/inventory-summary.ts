import type { StoredSummary, SummaryContribution } from '#lib/domain/inventory-summary.ts';

/** One committed version of an identity, as far as the summary is concerned. */
export interface SummaryChange {
  readonly identityId: string;
  /** The identity's version: versions of one identity only grow, so an older or equal one is already counted. */
  readonly version: number;
  /** The counters that version contributes (`summaryContributionOf`). */
  readonly contribution: SummaryContribution;
}

/**
 * What became of a change: `applied` (the counters moved), `unchanged` (same contribution as the one counted: nothing
 * written), `stale` (a version at or below the one counted: a redelivery or an out-of-date record, ignored).
 */
export type SummaryApplyOutcome = 'applied' | 'unchanged' | 'stale';

/** Keeps the inventory summary's counters, moved by each identity's committed versions. */
export interface InventorySummaryStore {
  /**
   * Counts `change.contribution` for its identity in place of what was counted for it before (nothing, for an identity
   * not counted yet), exactly once: idempotent, so a redelivered or out-of-date version changes nothing.
   * @throws when the counters could not be moved (throttled, or kept losing races): nothing of this change is counted,
   * and it may be applied again.
   */
  apply(change: SummaryChange): Promise<SummaryApplyOutcome>;
  /**
   * Applies changes of distinct identities as {@link apply} does, together where it can (fewer, larger writes: what
   * keeps a burst of changes cheap); each change's outcome, in order, or the error that kept it from being counted.
   */
  applyMany(changes: readonly SummaryChange[]): Promise<SummaryApplyResult[]>;
}

/** What became of one change of {@link InventorySummaryStore.applyMany}. */
export type SummaryApplyResult = { readonly outcome: SummaryApplyOutcome } | { readonly error: unknown };

/** Reads the summary's counters. */
export interface InventorySummaryReader {
  /** Every counter, summed, and when they last changed. */
  read(): Promise<StoredSummary>;
}
