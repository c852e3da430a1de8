import { http } from '../shared/lambda-runtime.ts';
import { inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeListIdentitiesHandler } from './handler.ts';

export const handler = makeListIdentitiesHandler({ ...http, inventory: inventoryFromEnv() });
