import { createKmsMac } from '#lib/adapters/kms-mac.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { config, http } from '../shared/lambda-runtime.ts';
import { policies } from '../shared/policies-from-env.ts';
import { enrollmentTokensFromEnv, idempotencyFromEnv } from '../shared/stores-from-env.ts';
import { makeCreateEnrollmentTokenHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['sealKeyId']);

export const handler = makeCreateEnrollmentTokenHandler({
  ...http,
  // The only function that seals stored answers, so the only one that may use the KMS HMAC key.
  idempotency: idempotencyFromEnv({ sealingSecret: createKmsMac({ keyId: env.sealKeyId }) }),
  tokens: enrollmentTokensFromEnv(),
  policies,
  clock: systemClock,
  defaultTtl: config.enrollmentTokens.defaultTtl,
  maxTtl: config.enrollmentTokens.maxTtl,
});
