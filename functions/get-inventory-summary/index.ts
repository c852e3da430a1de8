import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { inventorySummaryFromEnv } from '../shared/stores-from-env.ts';
import { makeGetInventorySummaryHandler } from './handler.ts';

export const handler = makeGetInventorySummaryHandler({
  ...http,
  summary: inventorySummaryFromEnv(),
  clock: systemClock,
});
