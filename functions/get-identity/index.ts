import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { discoveredInventoryFromEnv, discoveryRunsFromEnv, inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeGetIdentityHandler } from './handler.ts';

export const handler = makeGetIdentityHandler({
  ...http,
  inventory: inventoryFromEnv(),
  discovered: discoveredInventoryFromEnv(),
  runs: discoveryRunsFromEnv(),
  clock: systemClock,
});
