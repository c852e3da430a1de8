import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makeListIdentitiesHandler } from './handler.ts';

export const handler = makeListIdentitiesHandler({ ...http, inventory: inventoryFromEnv() });
