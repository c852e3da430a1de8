import { systemClock } from '#lib/ports/clock.ts';
import { idempotencyFromEnv, inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makeRevokeCertificateHandler } from './handler.ts';

export const handler = makeRevokeCertificateHandler({
  ...http,
  idempotency: idempotencyFromEnv(),
  inventory: inventoryFromEnv(),
  clock: systemClock,
});
