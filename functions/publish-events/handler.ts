import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { EventPublisher, StreamedChange } from '#lib/ports/event-publisher.ts';
import { publishCommittedChanges } from '#lib/use-cases/publish-committed-changes.ts';
import { batchResponse, readStreamBatch } from '../shared/stream-batch.ts';

export interface PublishEventsDeps {
  readonly publisher: EventPublisher;
  /** Reads a stream record (an adapter: attribute values, item schemas); throws on a record it cannot read. */
  readonly readRecord: (record: DynamoDBRecord) => StreamedChange;
  readonly logger: Logger;
}

/**
 * The transactional outbox's publisher: a batch of the inventory table's stream records in, their events on the bus.
 * Answers with the partial-batch response of stream sources: the sequence number of the first record not done, from
 * which Lambda (or the local pump) delivers again; after the event source mapping's retries, that record goes to the
 * dead-letter queue and the stream moves on. Records it cannot read stop the batch there, for the same treatment.
 */
export function makePublishEventsHandler(deps: PublishEventsDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const { changes, unreadable } = readStreamBatch(event.Records, deps.readRecord, deps.logger);
    const { resumeAt, published } = await publishCommittedChanges(deps, changes);
    const retryFrom = resumeAt ?? unreadable;
    deps.logger.info('stream batch published', { records: event.Records.length, published, retryFrom });
    return batchResponse(retryFrom);
  };
}
