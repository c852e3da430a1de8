import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { discoveredInventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeImportIdentitiesHandler } from './handler.ts';

export const handler = makeImportIdentitiesHandler({
  ...http,
  discovered: discoveredInventoryFromEnv(),
  clock: systemClock,
});
