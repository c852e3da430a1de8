/**
 * How the stream's records reach the publisher (Lambda's event source mapping), as plain data: the local pump of
 * `npm start` takes the same settings without loading the CDK.
 */
export const STREAM_PUBLISHER_SETTINGS = {
  batchSize: 100,
  /** Then the failing record goes to the dead-letter queue and the shard moves on. */
  retryAttempts: 10,
  /** Kept below the stream's 24 h retention, so a record is dead-lettered rather than silently trimmed. */
  maxRecordAgeHours: 12,
} as const;

/**
 * The summary's consumer gathers changes for this long before a batch (Lambda's MaximumBatchingWindowInSeconds; the
 * local pump rests as long after a batch that caught up): people read the summary, nobody waits on it, and a batch
 * of changes costs a batch read and a few transactions where one change at a time costs a read and a transaction each.
 */
export const SUMMARY_BATCHING_WINDOW_SECONDS = 2;
