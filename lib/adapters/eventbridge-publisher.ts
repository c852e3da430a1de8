import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import type { CatalogEvent, DetailType } from '#events/catalog.ts';
import { InternalError } from '#lib/domain/errors.ts';
import type { EventPublisher, PublishResult } from '#lib/ports/event-publisher.ts';

/** PutEvents takes at most 10 entries per request. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * PutEvents' size limit: "the total entry size must be less than 256KB" (262,144 bytes), entry sizes counted as
 * {@link putEventsEntrySize} does. The limit is on the sum over a request's entries, so it also bounds one entry.
 */
export const PUT_EVENTS_SIZE_LIMIT = 256 * 1024;

/**
 * Entry error codes worth sending again. EventBridge documents `InternalFailure` and `ThrottlingException` as the
 * retryable entry errors; the others are the names its service errors take elsewhere for the same two conditions.
 * Every other code (`AccessDeniedException`, `NotAuthorizedForSourceException`, `InvalidArgument`, `MalformedDetail`…,
 * or one we do not know) will not change by asking again: the event is reported failed at once.
 */
export const RETRYABLE_ENTRY_ERROR_CODES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'InternalFailure',
  'InternalException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/** The code reported for an event whose entry alone reaches {@link PUT_EVENTS_SIZE_LIMIT}: no request can carry it. */
export const ENTRY_TOO_LARGE = 'EntryTooLarge';
/** The code reported for the entries of a request whose response did not account for each of them. */
export const INVALID_RESPONSE = 'InvalidResponse';

/** Why one event was not put. Carries ids and codes only, never the detail's content. */
export interface EventPublishFailure {
  readonly eventId: string;
  readonly detailType: DetailType;
  /** {@link ENTRY_TOO_LARGE}, {@link INVALID_RESPONSE}, or the entry's `ErrorCode` as EventBridge gave it. */
  readonly code: string;
  /** A sentence for the operator: what happened and whether another attempt could help. */
  readonly reason: string;
  /** EventBridge's `ErrorMessage` for the entry, when it gave one. */
  readonly serviceMessage?: string;
  /** PutEvents requests that carried this event (0 when it was never sent). */
  readonly attempts: number;
}

export interface EventBridgePublisherOptions {
  /** Requests that may carry one event, the first included (default 4). Applies to entry errors only. */
  readonly maxAttempts?: number;
  /** Backoff before the n-th retry is a random share (full jitter) of min(maxDelayMs, baseDelayMs · 2^(n−1)). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Waits between attempts; tests pass one that does not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter (default `Math.random`). */
  readonly random?: () => number;
  /**
   * Limit on a request's total entry size (default {@link PUT_EVENTS_SIZE_LIMIT}): a request stays below it, and an
   * event whose entry alone reaches it is reported failed without being sent.
   */
  readonly sizeLimit?: number;
  /** Told about every event given up on, once, when it is given up on (e.g. to log it). */
  readonly onFailure?: (failure: EventPublishFailure) => void;
}

/**
 * The size EventBridge counts for a PutEvents entry ("Calculating PutEvents event entry size", EventBridge User
 * Guide): 14 bytes for `Time` when present, plus the UTF-8 bytes of `Source`, `DetailType`, `Detail` and of each
 * `Resources` element. `EventBusName` and `TraceHeader` do not count.
 */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  const utf8 = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  let size = entry.Time === undefined ? 0 : 14;
  size += utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail);
  for (const resource of entry.Resources ?? []) size += utf8(resource);
  return size;
}

/** EventBusName of a PutEvents entry: a bus name or a bus ARN, as the API's pattern states. */
const EVENT_BUS_NAME = /^(?:arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/;

/** A PutEvents response, checked against the request it answers (see {@link parseResponse}). */
const putEventsResponseSchema = z.object({
  FailedEntryCount: z.number().int().nonnegative(),
  Entries: z.array(
    z
      .object({
        EventId: z.string().min(1).optional(),
        ErrorCode: z.string().min(1).optional(),
        ErrorMessage: z.string().optional(),
      })
      .refine((entry) => (entry.EventId === undefined) !== (entry.ErrorCode === undefined), {
        message: 'an entry has either an EventId or an ErrorCode',
      }),
  ),
});
type ResultEntry = z.infer<typeof putEventsResponseSchema>['Entries'][number];

interface Pending {
  readonly event: CatalogEvent;
  readonly entry: PutEventsRequestEntry;
}

/**
 * An {@link EventPublisher} putting catalog events on an EventBridge bus with `PutEvents`: in order, in requests of
 * at most {@link PUT_EVENTS_MAX_ENTRIES} entries that stay below the size limit. PutEvents answers 200 even when some
 * entries fail: the failed entries of a request are sent again, alone and in their order, with exponential backoff and
 * jitter, while their error code is a retryable one ({@link RETRYABLE_ENTRY_ERROR_CODES}) and attempts remain; the
 * others come back as failed. A request that fails as a whole (network, throttling of the call, missing permission)
 * is left to the SDK client's own retry; if that gives up, `publish` throws.
 */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #eventBusName: string;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #sizeLimit: number;
  readonly #onFailure: (failure: EventPublishFailure) => void;

  /**
   * Makes no call: a missing bus or permission shows on the first {@link publish}.
   * @param eventBusName the bus's name or ARN (an ARN is needed for a bus of another account).
   * @throws RangeError when `eventBusName` is not a bus name or ARN, or an option is out of range (a wiring bug).
   */
  constructor(client: EventBridgeClient, eventBusName: string, options: EventBridgePublisherOptions = {}) {
    if (!EVENT_BUS_NAME.test(eventBusName) || eventBusName.length > 1600) {
      throw new RangeError(`Not an EventBridge bus name or ARN: ${JSON.stringify(eventBusName)}`);
    }
    const maxAttempts = options.maxAttempts ?? 4;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError('maxAttempts must be an integer ≥ 1');
    const sizeLimit = options.sizeLimit ?? PUT_EVENTS_SIZE_LIMIT;
    if (!Number.isInteger(sizeLimit) || sizeLimit < 1) throw new RangeError('sizeLimit must be an integer ≥ 1');
    this.#client = client;
    this.#eventBusName = eventBusName;
    this.#maxAttempts = maxAttempts;
    this.#baseDelayMs = options.baseDelayMs ?? 100;
    this.#maxDelayMs = options.maxDelayMs ?? 5_000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#sizeLimit = sizeLimit;
    this.#onFailure = options.onFailure ?? (() => {});
  }

  /**
   * Puts `events` on the bus as described by {@link EventPublisher.publish}; an empty list sends nothing.
   * @throws InternalError `EVENT_BUS_UNAVAILABLE` when a PutEvents request fails as a whole after the client's
   *   retries (its cause is the SDK's error); requests before it may have been put.
   */
  async publish(events: readonly CatalogEvent[]): Promise<PublishResult> {
    const failedEventIds: string[] = [];
    const fail = (failure: EventPublishFailure) => {
      failedEventIds.push(failure.eventId);
      this.#onFailure(failure);
    };
    let batch: Pending[] = [];
    let batchSize = 0;
    for (const event of events) {
      const entry = this.#entryOf(event);
      const size = putEventsEntrySize(entry);
      if (size >= this.#sizeLimit) {
        fail({
          eventId: event.detail.eventId,
          detailType: event.detailType,
          code: ENTRY_TOO_LARGE,
          reason:
            `Its PutEvents entry is ${size} bytes; EventBridge takes requests below ${this.#sizeLimit} bytes, so ` +
            'it can never be put as it is: not sent, and sending it again will not help.',
          attempts: 0,
        });
        continue;
      }
      if (batch.length === PUT_EVENTS_MAX_ENTRIES || batchSize + size >= this.#sizeLimit) {
        await this.#putWithRetries(batch, fail);
        batch = [];
        batchSize = 0;
      }
      batch.push({ event, entry });
      batchSize += size;
    }
    if (batch.length > 0) await this.#putWithRetries(batch, fail);
    return { failedEventIds };
  }

  #entryOf(event: CatalogEvent): PutEventsRequestEntry {
    return {
      Source: event.source,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
      // The envelope's `time` is then when the change was committed, not when this publisher got round to it.
      Time: new Date(event.detail.occurredAt),
      EventBusName: this.#eventBusName,
      Resources: [],
    };
  }

  /** Sends one request's worth of entries, then its retryable failures again, until none is left or attempts are. */
  async #putWithRetries(batch: readonly Pending[], fail: (failure: EventPublishFailure) => void): Promise<void> {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await this.#sleep(this.#backoff(attempt - 1));
      const results = await this.#put(pending);
      const retry: Pending[] = [];
      for (const [index, item] of pending.entries()) {
        const result = results?.[index];
        const base = { eventId: item.event.detail.eventId, detailType: item.event.detailType, attempts: attempt };
        if (result === undefined) {
          fail({
            ...base,
            code: INVALID_RESPONSE,
            reason:
              'EventBridge answered PutEvents with a response that does not account for each entry: the event may ' +
              'or may not have been put, and is reported failed so that it is sent again later.',
          });
          continue;
        }
        if (result.ErrorCode === undefined) continue;
        const serviceMessage = result.ErrorMessage === undefined ? {} : { serviceMessage: result.ErrorMessage };
        if (!RETRYABLE_ENTRY_ERROR_CODES.has(result.ErrorCode)) {
          fail({
            ...base,
            ...serviceMessage,
            code: result.ErrorCode,
            reason: `EventBridge refused the entry with ${result.ErrorCode}, which another attempt will not change.`,
          });
        } else if (attempt >= this.#maxAttempts) {
          fail({
            ...base,
            ...serviceMessage,
            code: result.ErrorCode,
            reason: `EventBridge still refused the entry with ${result.ErrorCode} after ${attempt} attempts.`,
          });
        } else {
          retry.push(item);
        }
      }
      pending = retry;
    }
  }

  /** One PutEvents call; `undefined` when its response does not describe each entry of the request. */
  async #put(pending: readonly Pending[]): Promise<readonly ResultEntry[] | undefined> {
    let output: unknown;
    try {
      output = await this.#client.send(new PutEventsCommand({ Entries: pending.map((item) => item.entry) }));
    } catch (cause) {
      throw new InternalError(
        'EVENT_BUS_UNAVAILABLE',
        'The event bus did not take a PutEvents request, even after the client retried it: check that the bus ' +
          'exists and that this function may call events:PutEvents on it, then retry.',
        { cause, details: { eventBusName: this.#eventBusName, entries: pending.length } },
      );
    }
    return parseResponse(output, pending.length);
  }

  #backoff(retry: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.#random() * ceiling);
  }
}

/**
 * The entries of a PutEvents response, when it answers the request: one result per request entry, in the request's
 * order (as EventBridge documents), each with either an `EventId` or an `ErrorCode`, and a `FailedEntryCount` equal to
 * the number of error codes.
 */
function parseResponse(output: unknown, requested: number): readonly ResultEntry[] | undefined {
  const parsed = putEventsResponseSchema.safeParse(output);
  if (!parsed.success) return undefined;
  const { Entries, FailedEntryCount } = parsed.data;
  const failed = Entries.filter((entry) => entry.ErrorCode !== undefined).length;
  return Entries.length === requested && failed === FailedEntryCount ? Entries : undefined;
}

let defaultClient: EventBridgeClient | undefined;

/**
 * An {@link EventBridgePublisher} for composition roots: uses `client` when given, otherwise one EventBridgeClient per
 * process with the default region, credentials and endpoint resolution (so `AWS_ENDPOINT_URL_EVENTBRIDGE` can point
 * it at an emulator), and adaptive retry: PutEvents throttling is an account-wide rate, which adaptive mode also slows
 * this client's later calls for.
 */
export function createEventBridgePublisher(
  options: { busName: string; client?: EventBridgeClient } & EventBridgePublisherOptions,
): EventBridgePublisher {
  const { busName, client, ...publisherOptions } = options;
  if (client) return new EventBridgePublisher(client, busName, publisherOptions);
  defaultClient ??= new EventBridgeClient({ retryMode: 'adaptive', maxAttempts: 4 });
  return new EventBridgePublisher(defaultClient, busName, publisherOptions);
}
