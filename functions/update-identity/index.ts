import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { discoveredInventoryFromEnv, inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeUpdateIdentityHandler } from './handler.ts';

export const handler = makeUpdateIdentityHandler({
  ...http,
  inventory: inventoryFromEnv(),
  discovered: discoveredInventoryFromEnv(),
  clock: systemClock,
});
