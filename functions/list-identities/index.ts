import { authenticator, inventoryFromEnv, logger } from '../shared/lambda-runtime.ts';
import { makeListIdentitiesHandler } from './handler.ts';

export const handler = makeListIdentitiesHandler({ logger, authenticator, inventory: inventoryFromEnv() });
