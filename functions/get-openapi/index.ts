import { authenticator, logger } from '../shared/lambda-runtime.ts';
import { makeGetOpenApiHandler } from './handler.ts';

export const handler = makeGetOpenApiHandler({ logger, authenticator });
