import { authenticator, inventoryFromEnv, logger } from '../shared/lambda-runtime.ts';
import { makeGetCertificateHandler } from './handler.ts';

export const handler = makeGetCertificateHandler({ logger, authenticator, inventory: inventoryFromEnv() });
