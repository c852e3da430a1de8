import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import type { BusEvent } from '#events/catalog.ts';
import { EVENT_RULES } from '#events/rules.ts';
import { makePublishEventsHandler } from '#functions/publish-events/handler.ts';
import { makeSummarizeInventoryHandler } from '#functions/summarize-inventory/handler.ts';
import { createDocumentClient, type DocumentClientOptions } from '#lib/adapters/dynamodb-client.ts';
import { streamedChangeOf } from '#lib/adapters/dynamodb-stream-changes.ts';
import { createDynamoDbStreamReader, createStreamsClient } from '#lib/adapters/dynamodb-stream-reader.ts';
import type { InventorySummaryStore } from '#lib/ports/inventory-summary.ts';
import { STREAM_PUBLISHER_SETTINGS, SUMMARY_BATCHING_WINDOW_SECONDS } from '../constructs/event-backbone-settings.ts';
import { createFileCheckpointStore } from './file-checkpoint-store.ts';
import { type EventConsumer, LocalEventBus } from './local-bus.ts';
import { type DeadLetterReason, type StreamPump, startStreamPump } from './stream-pump.ts';

export interface LocalEventsOptions {
  /** How to reach DynamoDB Local: its endpoint and the local plane's credentials. */
  readonly dynamodb: DocumentClientOptions;
  readonly tableName: string;
  readonly dataDir: string;
  /** The consumer handler of each function a rule targets. */
  readonly consumers: (target: string) => EventConsumer | undefined;
  readonly logger: Logger;
  /** One line per event put on the bus (unless MIM_QUIET). */
  readonly onEvent?: ((event: BusEvent) => void) | undefined;
  readonly warn: (message: string) => void;
}

/**
 * The events backbone of `npm start`, built from the same parts as in AWS: the table's stream (DynamoDB Local's),
 * read by a pump that stands in for Lambda's event source mapping (same batch size and retries, checkpoints in
 * `<dataDir>/stream-checkpoints.json`), the very publisher handler the Lambda runs, and an in-process bus that routes
 * by the rules the stack declares. Records given up on are described in `<dataDir>/dead-letters.jsonl` (the stream
 * positions and the reason, as the SQS on-failure destination of a stream mapping says; no item content).
 */
export async function startLocalEvents(options: LocalEventsOptions): Promise<StreamPump> {
  const bus = new LocalEventBus({
    routes: EVENT_RULES.flatMap((rule) => {
      const consumer = options.consumers(rule.target);
      if (!consumer) throw new Error(`Rule ${rule.name} targets ${rule.target}, which the local plane does not run.`);
      return [{ rule, consumer }];
    }),
    onEvent: options.onEvent,
    onConsumerError: (rule, event, error) =>
      options.warn(`consumer of rule ${rule.name} failed on ${event['detail-type']}: ${(error as Error).message}`),
  });
  const deliver = makePublishEventsHandler({ publisher: bus, readRecord: streamedChangeOf, logger: options.logger });
  return startConsumerPump(options, {
    name: 'event pump',
    doing: 'publishing',
    checkpoints: 'stream-checkpoints.json',
    deadLetters: 'dead-letters.jsonl',
    deliver,
  });
}

/**
 * One consumer of the table's stream, as one event source mapping in AWS: its own checkpoints and dead-letter file
 * under the data directory, the publisher's batch size and retries.
 */
function startConsumerPump(
  options: Pick<LocalEventsOptions, 'dynamodb' | 'tableName' | 'dataDir' | 'warn'>,
  consumer: {
    readonly name: string;
    readonly doing: string;
    readonly checkpoints: string;
    readonly deadLetters: string;
    readonly deliver: Parameters<typeof startStreamPump>[0]['deliver'];
    /** How long an idle pump rests between reads, and after a read that caught up (default the pump's: 200, 0). */
    readonly intervalMs?: number;
    readonly batchWindowMs?: number;
  },
): Promise<StreamPump> {
  const { client } = createDocumentClient(options.dynamodb);
  return startStreamPump({
    reader: createDynamoDbStreamReader({
      dynamodb: client,
      streams: createStreamsClient(options.dynamodb),
      tableName: options.tableName,
    }),
    checkpoints: createFileCheckpointStore(join(options.dataDir, consumer.checkpoints)),
    deliver: consumer.deliver,
    ...(consumer.intervalMs === undefined ? {} : { intervalMs: consumer.intervalMs }),
    ...(consumer.batchWindowMs === undefined ? {} : { batchWindowMs: consumer.batchWindowMs }),
    batchSize: STREAM_PUBLISHER_SETTINGS.batchSize,
    maxRetries: STREAM_PUBLISHER_SETTINGS.retryAttempts,
    onDeadLetter: deadLetterFile(join(options.dataDir, consumer.deadLetters), consumer.doing, options.warn),
    onError: (error, source) => options.warn(`${consumer.name} (${source}): ${(error as Error).message}`),
  });
}

/**
 * Describes records a pump gave up on in a JSON-lines file (the stream positions and the reason, as the SQS on-failure
 * destination of a stream mapping says; no item content), and warns.
 */
function deadLetterFile(path: string, doing: string, warn: (message: string) => void) {
  return async (records: readonly DynamoDBRecord[], reason: DeadLetterReason): Promise<void> => {
    const positions = records.map((r) => r.dynamodb?.SequenceNumber ?? '?');
    warn(
      `gave up ${doing} ${records.length} stream record(s) after ${reason.attempts} attempts ` +
        `(${positions[0]}…${positions.at(-1)}); described in ${path}`,
    );
    const line = {
      at: new Date().toISOString(),
      condition: reason.condition,
      failure: reason.failure,
      attempts: reason.attempts,
      streamArn: reason.streamArn,
      shardId: reason.shardId,
      startSequenceNumber: positions[0],
      endSequenceNumber: positions.at(-1),
      batchSize: records.length,
    };
    await appendFile(path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  };
}

export interface LocalSummaryOptions {
  /** How to reach DynamoDB Local's stream: its endpoint and the local plane's credentials. */
  readonly dynamodb: DocumentClientOptions;
  readonly tableName: string;
  readonly dataDir: string;
  /** The summary's store, on the summarizer's own (guarded) client. */
  readonly summary: InventorySummaryStore;
  readonly logger: Logger;
  readonly warn: (message: string) => void;
}

/**
 * The inventory summary's consumer of the table's stream in `npm start`, as its own event source mapping runs it in
 * AWS: a second pump over the same stream, with the publisher's settings, checkpoints of its own in
 * `<dataDir>/summary-checkpoints.json` (the two consumers go at their own pace, as two mappings do), and the very
 * handler the Lambda runs. Records given up on are described in `<dataDir>/summary-dead-letters.jsonl`.
 */
export async function startLocalSummary(options: LocalSummaryOptions): Promise<StreamPump> {
  return startConsumerPump(options, {
    name: 'summary pump',
    doing: 'summarizing',
    checkpoints: 'summary-checkpoints.json',
    deadLetters: 'summary-dead-letters.jsonl',
    // Its batching window, as in AWS: under load its transactions do not compete with issuance's one for one.
    intervalMs: 1000,
    batchWindowMs: SUMMARY_BATCHING_WINDOW_SECONDS * 1000,
    deliver: makeSummarizeInventoryHandler({
      summary: options.summary,
      readRecord: streamedChangeOf,
      logger: options.logger,
    }),
  });
}
