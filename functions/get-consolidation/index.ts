import { http } from '../shared/lambda-runtime.ts';
import { discoveredInventoryFromEnv, inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeGetConsolidationHandler } from './handler.ts';

export const handler = makeGetConsolidationHandler({
  ...http,
  inventory: inventoryFromEnv(),
  discovered: discoveredInventoryFromEnv(),
});
