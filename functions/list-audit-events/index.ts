import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makeListAuditEventsHandler } from './handler.ts';

export const handler = makeListAuditEventsHandler({ ...http, inventory: inventoryFromEnv() });
