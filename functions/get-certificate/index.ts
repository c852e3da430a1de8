import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makeGetCertificateHandler } from './handler.ts';

export const handler = makeGetCertificateHandler({ ...http, inventory: inventoryFromEnv() });
