import { systemClock } from '#lib/ports/clock.ts';
import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { authenticator, logger } from '../shared/lambda-runtime.ts';
import { makeRevokeCertificateHandler } from './handler.ts';

export const handler = makeRevokeCertificateHandler({
  logger,
  authenticator,
  inventory: inventoryFromEnv(),
  clock: systemClock,
});
