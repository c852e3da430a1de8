import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { idempotencyFromEnv, inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeRevokeCertificateHandler } from './handler.ts';

export const handler = makeRevokeCertificateHandler({
  ...http,
  idempotency: idempotencyFromEnv(),
  inventory: inventoryFromEnv(),
  clock: systemClock,
});
