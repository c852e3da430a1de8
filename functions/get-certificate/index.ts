import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { authenticator, logger } from '../shared/lambda-runtime.ts';
import { makeGetCertificateHandler } from './handler.ts';

export const handler = makeGetCertificateHandler({ logger, authenticator, inventory: inventoryFromEnv() });
