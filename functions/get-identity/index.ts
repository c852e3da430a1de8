import { authenticator, inventoryFromEnv, logger } from '../shared/lambda-runtime.ts';
import { makeGetIdentityHandler } from './handler.ts';

export const handler = makeGetIdentityHandler({ logger, authenticator, inventory: inventoryFromEnv() });
