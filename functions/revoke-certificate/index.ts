import { systemClock } from '#lib/ports/clock.ts';
import { authenticator, inventoryFromEnv, logger } from '../shared/lambda-runtime.ts';
import { makeRevokeCertificateHandler } from './handler.ts';

export const handler = makeRevokeCertificateHandler({
  logger,
  authenticator,
  inventory: inventoryFromEnv(),
  clock: systemClock,
});
