import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { authenticator, logger } from '../shared/lambda-runtime.ts';
import { makeListIdentitiesHandler } from './handler.ts';

export const handler = makeListIdentitiesHandler({ logger, authenticator, inventory: inventoryFromEnv() });
