import { http } from '../shared/lambda-runtime.ts';
import { inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeGetCertificateHandler } from './handler.ts';

export const handler = makeGetCertificateHandler({ ...http, inventory: inventoryFromEnv() });
