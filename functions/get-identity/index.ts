import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { authenticator, logger } from '../shared/lambda-runtime.ts';
import { makeGetIdentityHandler } from './handler.ts';

export const handler = makeGetIdentityHandler({ logger, authenticator, inventory: inventoryFromEnv() });
