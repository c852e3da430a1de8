import { createKmsSigner } from '#lib/adapters/kms-signer.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { lazy } from '#lib/config/lazy.ts';
import { InternalError } from '#lib/domain/errors.ts';
import { loadIssuerContext } from '#lib/pki/issuer.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { policies } from '../shared/policies-from-env.ts';
import { enrollmentTokensFromEnv, idempotencyFromEnv, inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeIssueCertificateHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['issuingKeyId', 'caId']);
const inventory = inventoryFromEnv();

/** The KMS public key and the chain are read on the first request of a container, then reused. */
const issuer = lazy(async () => {
  const chain = await inventory.getChain(env.caId);
  if (!chain) throw new InternalError('CA_NOT_BOOTSTRAPPED', 'The certificate authority has not been bootstrapped.');
  return loadIssuerContext(await createKmsSigner({ keyId: env.issuingKeyId }), chain);
});

export const handler = makeIssueCertificateHandler({
  ...http,
  idempotency: idempotencyFromEnv(),
  issuer,
  inventory,
  tokens: enrollmentTokensFromEnv(),
  policies,
  clock: systemClock,
});
