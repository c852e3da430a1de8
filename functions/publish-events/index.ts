import { streamedChangeOf } from '#lib/adapters/dynamodb-stream-changes.ts';
import { createEventBridgePublisher } from '#lib/adapters/eventbridge-publisher.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { logger } from '../shared/lambda-runtime.ts';
import { makePublishEventsHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['eventBusName']);

export const handler = makePublishEventsHandler({
  publisher: createEventBridgePublisher({
    busName: env.eventBusName,
    onFailure: (failure) =>
      logger.error('event not put', {
        eventId: failure.eventId,
        detailType: failure.detailType,
        code: failure.code,
        reason: failure.reason,
        attempts: failure.attempts,
      }),
  }),
  readRecord: streamedChangeOf,
  logger,
});
