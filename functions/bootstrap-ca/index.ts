import { createKmsSigner } from '#lib/adapters/kms-signer.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { config, logger } from '../shared/lambda-runtime.ts';
import { inventoryFromEnv, policyStoreFromEnv } from '../shared/stores-from-env.ts';
import { makeBootstrapCaHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['rootKeyId', 'issuingKeyId']);

export const handler = makeBootstrapCaHandler({
  rootSigner: () => createKmsSigner({ keyId: env.rootKeyId }),
  issuingSigner: () => createKmsSigner({ keyId: env.issuingKeyId }),
  chainStore: inventoryFromEnv(),
  policyStore: policyStoreFromEnv(),
  config,
  clock: systemClock,
  logger,
});
