import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { authenticator, logger } from '../shared/lambda-runtime.ts';
import { makeGetCaChainHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['caId']);

export const handler = makeGetCaChainHandler({
  logger,
  authenticator,
  chainStore: inventoryFromEnv(),
  caId: env.caId,
  clock: systemClock,
});
