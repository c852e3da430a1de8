import type { CatalogEvent } from '#events/catalog.ts';
import type { DiscoveredIdentity } from '#lib/domain/discovery.ts';
import type { DiscoveryRunSummary } from '#lib/domain/discovery-run.ts';
import type { AuditRecord, IdentityRecord } from '#lib/domain/inventory.ts';

/** What became of a batch of events: the `detail.eventId`s of those the bus still refused after retries. */
export interface PublishResult {
  readonly failedEventIds: readonly string[];
}

/**
 * Puts catalog events on the control plane's event bus (EventBridge in AWS, the in-process bus locally), in order.
 * Retries what can be retried; an event it reports as failed may be sent again later: consumers deduplicate.
 */
export interface EventPublisher {
  /**
   * @returns the events that could not be put, by `detail.eventId` (none when all were).
   * @throws only when the bus could not be asked at all (e.g. the network); then no event is known to be put.
   */
  publish(events: readonly CatalogEvent[]): Promise<PublishResult>;
}

/**
 * One record of the table's stream, as far as events are concerned: its position in the stream, and what it committed
 * that is worth an event. Every audited change writes its audit entry in the same transaction as the change itself,
 * so an audit entry appearing in the stream is the outbox record of that change; a discovered identity's item is its
 * own outbox record (its writes are not audited one by one: a run may write thousands), with the image before it; so
 * is a discovery run's record (its tally moves, in the same transaction, as each part ends), with the run as it was
 * before.
 */
export interface StreamedChange {
  /** The stream's sequence number: where a retry resumes. */
  readonly position: string;
  readonly audit?: AuditRecord | undefined;
  readonly discovered?:
    | { readonly before: DiscoveredIdentity | undefined; readonly after: DiscoveredIdentity }
    | undefined;
  /** An issued identity's item: its own outbox record for risk changes (its other changes are audited). */
  readonly issued?: { readonly before: IdentityRecord | undefined; readonly after: IdentityRecord } | undefined;
  readonly discoveryRun?:
    | { readonly before: DiscoveryRunSummary | undefined; readonly after: DiscoveryRunSummary }
    | undefined;
}
