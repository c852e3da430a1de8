import { http } from '../shared/lambda-runtime.ts';
import { inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeListAuditEventsHandler } from './handler.ts';

export const handler = makeListAuditEventsHandler({ ...http, inventory: inventoryFromEnv() });
