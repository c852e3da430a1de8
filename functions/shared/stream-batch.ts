import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { StreamedChange } from '#lib/ports/event-publisher.ts';

/**
 * Reads a batch of the table's stream records for a consumer, in order, up to the first record it cannot read (logged
 * without its content): that record's position is where the batch must resume, so that it is retried and, failing
 * again, dead-lettered by the event source mapping, while the records before it are processed.
 */
export function readStreamBatch(
  records: readonly DynamoDBRecord[],
  readRecord: (record: DynamoDBRecord) => StreamedChange,
  logger: Logger,
): { readonly changes: StreamedChange[]; readonly unreadable: string | undefined } {
  const changes: StreamedChange[] = [];
  for (const record of records) {
    try {
      changes.push(readRecord(record));
    } catch (error) {
      const unreadable = record.dynamodb?.SequenceNumber ?? record.eventID ?? '';
      logger.error('stream record unreadable', { eventId: record.eventID, position: unreadable, error });
      return { changes, unreadable };
    }
  }
  return { changes, unreadable: undefined };
}

/** The partial-batch response of stream sources: retry from this position, or nothing to retry. */
export function batchResponse(retryFrom: string | undefined): DynamoDBBatchResponse {
  return { batchItemFailures: retryFrom === undefined ? [] : [{ itemIdentifier: retryFrom }] };
}
