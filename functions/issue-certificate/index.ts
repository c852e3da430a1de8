import { createKmsSigner } from '#lib/adapters/kms-signer.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { lazy } from '#lib/config/lazy.ts';
import { DEFAULT_PROFILES } from '#lib/domain/certificate-profile.ts';
import { InternalError } from '#lib/domain/errors.ts';
import { DEFAULT_LOCAL_NAME_POLICY } from '#lib/domain/name-policy.ts';
import { loadIssuerContext } from '#lib/pki/issuer.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { inventoryFromEnv } from '../shared/inventory-from-env.ts';
import { authenticator, logger } from '../shared/lambda-runtime.ts';
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
  logger,
  authenticator,
  issuer,
  inventory,
  clock: systemClock,
  profiles: DEFAULT_PROFILES,
  namePolicy: DEFAULT_LOCAL_NAME_POLICY,
});
