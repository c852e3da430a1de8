import { systemClock } from '#lib/ports/clock.ts';
import { config, http } from '../shared/lambda-runtime.ts';
import { policies } from '../shared/policies-from-env.ts';
import { enrollmentTokensFromEnv, idempotencyFromEnv } from '../shared/stores-from-env.ts';
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
