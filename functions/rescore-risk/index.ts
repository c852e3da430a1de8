import { systemClock } from '#lib/ports/clock.ts';
import { logger } from '../shared/lambda-runtime.ts';
import { inventoryFromEnv, policyStoreFromEnv } from '../shared/stores-from-env.ts';
import { makeRescoreRiskHandler } from './handler.ts';

export const handler = makeRescoreRiskHandler({
  inventory: inventoryFromEnv(),
  policyStore: policyStoreFromEnv(),
  clock: systemClock,
  logger,
});
