import { summaryContributionOf } from '#lib/domain/inventory-summary.ts';
import type { StreamedChange } from '#lib/ports/event-publisher.ts';
import type { InventorySummaryStore, SummaryApplyOutcome, SummaryChange } from '#lib/ports/inventory-summary.ts';

/** One identity's versions in a run of stream records, in stream order, with each record's index in the run. */
interface IdentityChanges {
  readonly changes: Array<{ readonly index: number; readonly change: SummaryChange }>;
}

export interface SummarizeOutcome {
  /** The position of the first record not done (it and everything after it come again), or undefined when all are. */
  readonly resumeAt: string | undefined;
  readonly counts: Readonly<Record<SummaryApplyOutcome, number>>;
  /** The changes whose apply failed (at most one per identity), and why: for the logs. */
  readonly failures: ReadonlyArray<{ readonly identityId: string; readonly version: number; readonly error: unknown }>;
}

/**
 * Keeps the inventory summary current from a run of the table's stream records: each committed version of an issued
 * or discovered identity (its image after the write) replaces what the summary counted for that identity. Every other
 * record is ignored. An identity's versions are applied in stream order, one after the other (so that the last one
 * counted is its latest, and a version whose contribution equals the counted one may be skipped without a write);
 * different identities' next versions go together, a round at a time (one batch read and few transactions a round).
 * When an apply fails, that identity stops there and the stream resumes at the first record, in stream order, of any identity that stopped: records after it that were done
 * come again, and the store's version check makes them no-ops.
 */
export async function summarizeCommittedChanges(
  deps: { readonly summary: InventorySummaryStore },
  records: readonly StreamedChange[],
): Promise<SummarizeOutcome> {
  const byIdentity = new Map<string, IdentityChanges>();
  records.forEach((record, index) => {
    const identity = record.discovered?.after ?? record.issued?.after;
    if (identity === undefined) return;
    const change: SummaryChange = {
      identityId: identity.identityId,
      version: identity.version,
      contribution: summaryContributionOf(identity),
    };
    const group = byIdentity.get(change.identityId) ?? { changes: [] };
    group.changes.push({ index, change });
    byIdentity.set(change.identityId, group);
  });

  const counts: Record<SummaryApplyOutcome, number> = { applied: 0, unchanged: 0, stale: 0 };
  const failures: Array<{ identityId: string; version: number; error: unknown }> = [];
  let firstFailed: number | undefined;
  // Rounds: each takes the next version of every identity that has one left (so one identity's versions go in order,
  // one a round) and applies them together; an identity whose change failed stops there.
  const queues = [...byIdentity.values()].map((group) => [...group.changes]);
  for (let round = queues.filter((q) => q.length > 0); round.length > 0; round = queues.filter((q) => q.length > 0)) {
    const heads = round.map((queue) => queue.shift() as { index: number; change: SummaryChange });
    const results = await deps.summary.applyMany(heads.map((head) => head.change));
    heads.forEach((head, i) => {
      const result = results[i];
      if (result !== undefined && 'outcome' in result) {
        counts[result.outcome]++;
        return;
      }
      // This identity's later versions wait for this one: they come again with it.
      failures.push({ identityId: head.change.identityId, version: head.change.version, error: result?.error });
      firstFailed = firstFailed === undefined ? head.index : Math.min(firstFailed, head.index);
      (round[i] as unknown[]).length = 0;
    });
  }
  return { resumeAt: firstFailed === undefined ? undefined : records[firstFailed]?.position, counts, failures };
}
