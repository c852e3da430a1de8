import { randomUUID } from 'node:crypto';
import { type BusEvent, type CatalogEvent, parseCatalogEvent } from '#events/catalog.ts';
import { matchesPattern } from '#events/pattern.ts';
import type { EventRule } from '#events/rules.ts';
import type { EventPublisher, PublishResult } from '#lib/ports/event-publisher.ts';

/** A consumer handler as a rule's target function exports it: one bus event in. */
export type EventConsumer = (event: BusEvent) => Promise<unknown>;

export interface LocalBusOptions {
  /** The rules, each with the handler of its target function. */
  readonly routes: ReadonlyArray<{ readonly rule: EventRule; readonly consumer: EventConsumer }>;
  /** Called for every event put, in order (the local plane prints one line each unless MIM_QUIET is set). */
  readonly onEvent?: ((event: BusEvent) => void) | undefined;
  /** A consumer that failed on an event (EventBridge would retry it, then dead-letter it). */
  readonly onConsumerError?: (rule: EventRule, event: BusEvent, error: unknown) => void;
}

/**
 * The local stand-in for the control plane's EventBridge bus: validates each event against the catalog (what
 * EventBridge consumers parse), wraps it in the envelope EventBridge delivers, and hands it to the consumer of every
 * rule whose pattern matches, in order. A consumer's failure never fails the publisher, as on EventBridge.
 */
export class LocalEventBus implements EventPublisher {
  constructor(private readonly options: LocalBusOptions) {}

  async publish(events: readonly CatalogEvent[]): Promise<PublishResult> {
    for (const event of events) {
      const checked = parseCatalogEvent(event);
      const envelope: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': checked.detailType,
        source: checked.source,
        account: '000000000000',
        time: checked.detail.occurredAt,
        region: 'local',
        resources: [],
        detail: checked.detail,
      };
      this.options.onEvent?.(envelope);
      for (const { rule, consumer } of this.options.routes) {
        if (!matchesPattern(rule.pattern, envelope)) continue;
        await consumer(envelope).catch((error: unknown) => this.options.onConsumerError?.(rule, envelope, error));
      }
    }
    return { failedEventIds: [] };
  }
}
