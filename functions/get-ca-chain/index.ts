import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeGetCaChainHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['caId']);

export const handler = makeGetCaChainHandler({
  ...http,
  chainStore: inventoryFromEnv(),
  caId: env.caId,
  clock: systemClock,
});
