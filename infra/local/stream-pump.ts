import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import type { StreamReader } from '#lib/adapters/dynamodb-stream-reader.ts';

/** Where the pump keeps, per shard, the sequence number of the last record it handed on (delivered or dead-lettered). */
export interface StreamCheckpoints {
  /** The saved positions; an empty map when none were saved yet. */
  load(): Promise<Record<string, string>>;
  save(positions: Readonly<Record<string, string>>): Promise<void>;
}

/** Why records went to the dead-letter callback: retries were exhausted, as in Lambda's on-failure destination. */
export interface DeadLetterReason {
  readonly condition: 'RetryAttemptsExhausted';
  /** `batchItemFailure`: `deliver` kept reporting the record; `error`: it kept throwing or answered nonsense. */
  readonly failure: 'batchItemFailure' | 'error';
  /** How many times the records were delivered, the first time included. */
  readonly attempts: number;
  readonly streamArn: string;
  readonly shardId: string;
  /** What `deliver` threw last (failure `error`). */
  readonly error?: unknown;
}

/** What failed, when the pump reports an error it carries on from. */
export type StreamPumpErrorSource = 'read' | 'checkpoint' | 'dead-letter';

/** What the pump reads, whom it delivers to, and Lambda's event source mapping settings it mimics. */
export interface StreamPumpOptions {
  readonly reader: StreamReader;
  /** The stream handler, as Lambda would invoke it; never called twice at once. */
  // biome-ignore lint/suspicious/noConfusingVoidType: the result type of aws-lambda's DynamoDBStreamHandler.
  deliver(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse | void>;
  /** The records given up on after the retries (the local stand-in for the SQS on-failure destination). */
  onDeadLetter(records: readonly DynamoDBRecord[], reason: DeadLetterReason): Promise<void> | void;
  /** An error the pump carries on from: reading is retried at the next poll, a checkpoint saved after the next batch. */
  onError(error: unknown, source: StreamPumpErrorSource): void;
  readonly checkpoints: StreamCheckpoints;
  /** Records per event, at most (Lambda's BatchSize); default 100. */
  readonly batchSize?: number | undefined;
  /** Pause between polls that found nothing new, in ms; default 200. */
  readonly intervalMs?: number | undefined;
  /**
   * Pause after a poll that delivered records and caught up, in ms; default 0 (read again at once). A consumer whose
   * work is cheaper in batches (the summary) waits for more records to gather, as Lambda's batching window does.
   */
  readonly batchWindowMs?: number | undefined;
  /** Retries of a failing batch before its failing records are dead-lettered (MaximumRetryAttempts); default 3. */
  readonly maxRetries?: number | undefined;
  /** Pause before the first retry, in ms, doubled for each further one (up to 5 s); default 100. */
  readonly retryDelayMs?: number | undefined;
  /** How long `drain()` waits by default, in ms; default 10,000. */
  readonly drainTimeoutMs?: number | undefined;
}

/** A running pump. */
export interface StreamPump {
  /**
   * Resolves once every record committed before the call has been delivered (or dead-lettered), by waiting for a poll
   * that begins after the call and finds the stream read to its end. Starts that poll at once.
   * @throws Error when that takes longer than `timeoutMs` (default: the `drainTimeoutMs` option), naming the last
   * error met, or when the pump is stopped first.
   */
  drain(timeoutMs?: number): Promise<void>;
  /**
   * Ends polling: waits for a delivery in flight (a batch it cuts short is not checkpointed, so it comes again after a
   * restart), cancels pending waits and timers. Idempotent.
   */
  stop(): Promise<void>;
}

const MAX_RETRY_DELAY_MS = 5_000;
/** Lambda allows up to 10,000 records per batch of a stream source. */
const MAX_BATCH_SIZE = 10_000;

/**
 * What a stream handler may answer. Anything else counts as a failure of the whole batch, as Lambda treats an answer
 * it cannot read; so does an `itemIdentifier` that names no record of the batch.
 */
const batchResponse = z.union([
  z.undefined(),
  z.null(),
  z.object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string().min(1) })).nullish() }),
]);

function integerOption(name: string, value: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, not ${value}.`);
  }
  return value;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a DynamoDB stream handler over the local table's stream as Lambda's event source mapping runs it in AWS: it
 * polls the reader, hands new records to `deliver` in events of at most `batchSize` records of one shard, in stream
 * order, one event at a time, and keeps a checkpoint per shard after every batch so that a restart goes on where the
 * last run stopped (at least once: a crash between a delivery and its checkpoint delivers that batch again).
 *
 * Failures follow ReportBatchItemFailures: when `deliver` reports items, the batch comes again from the lowest one (the
 * records before it are done); when it throws, the whole batch comes again. A record (or, after throws, the rest of
 * the batch) that still fails after `maxRetries` retries goes to `onDeadLetter`, and the records after it go on, so a
 * poison record never stalls the stream. Errors of the reader (DynamoDB Local gone) go to `onError`; the next poll
 * tries again. Nothing is logged here: the composition root decides what to print.
 *
 * @throws when the checkpoints cannot be loaded (e.g. a corrupt file): the pump does not start.
 */
export async function startStreamPump(options: StreamPumpOptions): Promise<StreamPump> {
  const batchSize = integerOption('batchSize', options.batchSize ?? 100, MAX_BATCH_SIZE);
  const intervalMs = integerOption('intervalMs', options.intervalMs ?? 200);
  const batchWindowMs = integerOption('batchWindowMs', options.batchWindowMs ?? 0, Number.MAX_SAFE_INTEGER, 0);
  // Lambda's MaximumRetryAttempts of a stream source goes up to 10,000.
  const maxRetries = integerOption('maxRetries', options.maxRetries ?? 3, 10_000, 0);
  const retryDelayMs = integerOption('retryDelayMs', options.retryDelayMs ?? 100, MAX_RETRY_DELAY_MS, 0);
  const defaultDrainTimeoutMs = integerOption('drainTimeoutMs', options.drainTimeoutMs ?? 10_000);
  // A read holds this many records in memory at most; the rest comes with the next poll, without a pause.
  const maxRecordsPerRead = Math.max(batchSize, 1_000);

  const positions: Record<string, string> = { ...(await options.checkpoints.load()) };
  let listedShards: ReadonlySet<string> | undefined;

  let stopped = false;
  const stopController = new AbortController();
  /** Cancels the pause in progress (between polls, or before a retry). */
  let cancelPause: (() => void) | undefined;
  let wakeRequested = false;
  let pollsStarted = 0;
  let lastError: unknown;
  interface DrainWaiter {
    readonly afterPoll: number;
    resolve(): void;
    reject(error: Error): void;
  }
  const drainWaiters = new Set<DrainWaiter>();

  function report(error: unknown, source: StreamPumpErrorSource): void {
    try {
      options.onError(error, source);
    } catch {
      // A failing error callback must not stop the stream; there is nowhere left to report it.
    }
  }

  /** Waits `ms`, or less when stopped or (with `wakeable`) when a drain asks for a poll now. */
  function pause(ms: number, wakeable: boolean): Promise<void> {
    if (stopped || (wakeable && wakeRequested)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        cancelPause = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      cancelPause = wakeable ? done : () => (stopped ? done() : undefined);
    });
  }

  function wake(): void {
    wakeRequested = true;
    cancelPause?.();
  }

  async function saveCheckpoints(): Promise<void> {
    // Shards the stream no longer lists (past its retention) have nothing left to read: forget their positions.
    if (listedShards !== undefined) {
      for (const shardId of Object.keys(positions)) if (!listedShards.has(shardId)) delete positions[shardId];
    }
    try {
      await options.checkpoints.save({ ...positions });
    } catch (error) {
      report(error, 'checkpoint');
    }
  }

  async function deadLetter(records: readonly DynamoDBRecord[], reason: DeadLetterReason): Promise<void> {
    try {
      await options.onDeadLetter(records, reason);
    } catch (error) {
      // Like a failing on-failure destination in AWS: reported, and the stream still moves on.
      report(error, 'dead-letter');
    }
  }

  /**
   * Delivers one batch until every record is done or dead-lettered. Returns false when stopped first: the batch is
   * then not done, and is not checkpointed.
   */
  async function deliverBatch(streamArn: string, shardId: string, batch: readonly DynamoDBRecord[]): Promise<boolean> {
    let start = 0;
    /** Index (in `batch`) where the last attempt failed, and how many attempts in a row failed there. */
    let failedAt = -1;
    let attempts = 0;
    while (start < batch.length) {
      if (stopped) return false;
      const records = batch.slice(start);
      let failure: { index: number; kind: 'batchItemFailure' | 'error'; error?: unknown } | undefined;
      try {
        const answer = batchResponse.safeParse(await options.deliver({ Records: [...records] }));
        if (!answer.success) {
          failure = {
            index: start,
            kind: 'error',
            error: new Error('deliver answered something else than a batch response'),
          };
        } else {
          const reported = answer.data?.batchItemFailures ?? [];
          if (reported.length === 0) return true;
          const indexes = reported.map(({ itemIdentifier }) =>
            records.findIndex((record) => record.dynamodb?.SequenceNumber === itemIdentifier),
          );
          failure = indexes.includes(-1)
            ? {
                index: start,
                kind: 'error',
                error: new Error('deliver reported an itemIdentifier that is no sequence number of the batch'),
              }
            : { index: start + Math.min(...indexes), kind: 'batchItemFailure' };
        }
      } catch (error) {
        failure = { index: start, kind: 'error', error };
      }
      // Records before the failure are done (ReportBatchItemFailures); the retry count restarts when that moved on.
      attempts = failure.index === failedAt ? attempts + 1 : 1;
      failedAt = failure.index;
      start = failure.index;
      if (attempts > maxRetries) {
        // A reported record goes alone, the records after it go on; after throws, the batch's rest goes.
        const end = failure.kind === 'batchItemFailure' ? start + 1 : batch.length;
        await deadLetter(batch.slice(start, end), {
          condition: 'RetryAttemptsExhausted',
          failure: failure.kind,
          attempts,
          streamArn,
          shardId,
          ...(failure.kind === 'error' && { error: failure.error }),
        });
        start = end;
        failedAt = -1;
        attempts = 0;
        continue;
      }
      await pause(Math.min(retryDelayMs * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS), false);
    }
    return true;
  }

  /** One poll: read, deliver batch by batch. Returns whether it found the stream read to its end, and any records. */
  async function poll(): Promise<{ caughtUp: boolean; found: boolean }> {
    let read: Awaited<ReturnType<StreamReader['read']>>;
    try {
      read = await options.reader.read(positions, {
        maxRecords: maxRecordsPerRead,
        abortSignal: stopController.signal,
      });
      lastError = undefined;
    } catch (error) {
      if (!stopped) {
        lastError = error;
        report(error, 'read');
      }
      return { caughtUp: false, found: false };
    }
    listedShards = new Set(read.shardIds);
    for (const { shardId, records } of read.shards) {
      for (let offset = 0; offset < records.length; offset += batchSize) {
        const batch = records.slice(offset, offset + batchSize);
        if (!(await deliverBatch(read.streamArn, shardId, batch))) return { caughtUp: false, found: true };
        const last = batch.at(-1)?.dynamodb?.SequenceNumber;
        if (last !== undefined) positions[shardId] = last;
        await saveCheckpoints();
      }
    }
    return { caughtUp: read.caughtUp, found: read.shards.length > 0 };
  }

  const running = (async () => {
    while (!stopped) {
      wakeRequested = false;
      const pollNumber = ++pollsStarted;
      const { caughtUp, found } = await poll();
      if (caughtUp && !stopped) {
        for (const waiter of drainWaiters) if (waiter.afterPoll < pollNumber) waiter.resolve();
      }
      // More may be waiting right behind a full read; otherwise rest, so that an idle stream costs little.
      if (!found) await pause(intervalMs, true);
      else if (caughtUp && batchWindowMs > 0) await pause(batchWindowMs, true);
    }
  })();

  return {
    drain(timeoutMs = defaultDrainTimeoutMs) {
      if (stopped) return Promise.reject(new Error('The stream pump is stopped: there is nothing to drain.'));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          drainWaiters.delete(waiter);
          const cause = lastError === undefined ? '' : ` The last error reading the stream: ${message(lastError)}`;
          reject(new Error(`The stream pump did not catch up with the stream within ${timeoutMs} ms.${cause}`));
        }, timeoutMs);
        const waiter: DrainWaiter = {
          afterPoll: pollsStarted,
          resolve: () => {
            clearTimeout(timer);
            drainWaiters.delete(waiter);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            drainWaiters.delete(waiter);
            reject(error);
          },
        };
        drainWaiters.add(waiter);
        wake();
      });
    },
    async stop() {
      if (!stopped) {
        stopped = true;
        stopController.abort();
        cancelPause?.();
        for (const waiter of drainWaiters) waiter.reject(new Error('The stream pump was stopped before it caught up.'));
      }
      await running;
    },
  };
}
