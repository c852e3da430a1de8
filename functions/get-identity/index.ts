import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makeGetIdentityHandler } from './handler.ts';

export const handler = makeGetIdentityHandler({ ...http, inventory: inventoryFromEnv() });
