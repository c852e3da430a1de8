import { authenticator, logger } from '../shared/lambda-runtime.ts';
import { makeHealthHandler } from './handler.ts';

export const handler = makeHealthHandler({ logger, authenticator });
