import { streamedChangeOf } from '#lib/adapters/dynamodb-stream-changes.ts';
import { logger } from '../shared/lambda-runtime.ts';
import { inventorySummaryFromEnv } from '../shared/stores-from-env.ts';
import { makeSummarizeInventoryHandler } from './handler.ts';

export const handler = makeSummarizeInventoryHandler({
  summary: inventorySummaryFromEnv(),
  readRecord: streamedChangeOf,
  logger,
});
