import { systemClock } from '#lib/ports/clock.ts';
import { enrollmentTokensFromEnv, idempotencyFromEnv } from '../shared/inventory-from-env.ts';
import { config, http } from '../shared/lambda-runtime.ts';
import { policies } from '../shared/policies-from-env.ts';
import { makeCreateEnrollmentTokenHandler } from './handler.ts';

export const handler = makeCreateEnrollmentTokenHandler({
  ...http,
  idempotency: idempotencyFromEnv(),
  tokens: enrollmentTokensFromEnv(),
  policies,
  clock: systemClock,
  defaultTtl: config.enrollmentTokens.defaultTtl,
  maxTtl: config.enrollmentTokens.maxTtl,
});
