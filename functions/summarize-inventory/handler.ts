import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamedChange } from '#lib/ports/event-publisher.ts';
import type { InventorySummaryStore } from '#lib/ports/inventory-summary.ts';
import { summarizeCommittedChanges } from '#lib/use-cases/summarize-committed-changes.ts';
import { batchResponse, readStreamBatch } from '../shared/stream-batch.ts';

export interface SummarizeInventoryDeps {
  readonly summary: InventorySummaryStore;
  /** Reads a stream record (an adapter: attribute values, item schemas); throws on a record it cannot read. */
  readonly readRecord: (record: DynamoDBRecord) => StreamedChange;
  readonly logger: Logger;
}

/**
 * The inventory summary's consumer of the table's stream (beside the event publisher, with a mapping of its own): a
 * batch of records in, the summary's counters moved by each identity version committed. Answers with the
 * partial-batch response of stream sources: the sequence number of the first record not done, from which Lambda (or
 * the local pump) delivers again; after the mapping's retries that record goes to the dead-letter queue and the stream
 * moves on. Records it cannot read stop the batch there, for the same treatment. Redeliveries are harmless: the
 * summary counts each identity version once.
 */
export function makeSummarizeInventoryHandler(deps: SummarizeInventoryDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const { changes, unreadable } = readStreamBatch(event.Records, deps.readRecord, deps.logger);
    const { resumeAt, counts, failures } = await summarizeCommittedChanges(deps, changes);
    for (const failure of failures) {
      deps.logger.error('identity not counted', {
        identityId: failure.identityId,
        version: failure.version,
        error: failure.error,
      });
    }
    const retryFrom = resumeAt ?? unreadable;
    deps.logger.info('stream batch summarized', { records: event.Records.length, ...counts, retryFrom });
    return batchResponse(retryFrom);
  };
}
