import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import type { MimConfig } from '#lib/domain/policy.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { PolicyStore } from '#lib/ports/policy-store.ts';
import type { Signer } from '#lib/ports/signer.ts';
import { bootstrapCa } from '#lib/use-cases/bootstrap-ca.ts';
import { seedPolicies } from '#lib/use-cases/manage-policies.ts';

/** The custom resource event as the CDK Provider framework hands it to `onEvent`. */
const customResourceEvent = z.object({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  PhysicalResourceId: z.string().optional(),
  ResourceProperties: z.object({
    CaId: z.string().regex(/^[a-z0-9-]{1,64}$/),
    RootCommonName: z.string().min(1).max(64),
    IssuingCommonName: z.string().min(1).max(64),
    // CloudFormation passes every property as a string.
    RootValidityDays: z.coerce.number().int().min(1).max(36_500),
    IssuingValidityDays: z.coerce.number().int().min(1).max(36_500),
    // Changes whenever the configuration does, so that CloudFormation sends an Update that seeds the policies again.
    ConfigHash: z.string().optional(),
  }),
});

export interface BootstrapCaHandlerDeps {
  readonly rootSigner: () => Promise<Signer>;
  readonly issuingSigner: () => Promise<Signer>;
  readonly chainStore: CaChainStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policyStore: PolicyStore;
  /** The configuration bundled with the function: its policies are seeded into the store. */
  readonly config: Pick<MimConfig, 'policies'>;
}

export interface CustomResourceResult {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

/**
 * `onEvent` of the CA bootstrap custom resource. Create and Update make sure the chain exists (an existing chain for
 * the same issuing key is kept) and make the stored policies agree with the deployed configuration (see
 * `seedPolicies`); Delete does nothing, because the keys and the table are retained and issued
 * certificates must stay verifiable.
 */
export function makeBootstrapCaHandler(
  deps: BootstrapCaHandlerDeps,
): (event: unknown) => Promise<CustomResourceResult> {
  return async (raw) => {
    const event = customResourceEvent.parse(raw);
    const props = event.ResourceProperties;
    const physicalId = `ca-${props.CaId}`;
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
    const result = await bootstrapCa(
      {
        rootSigner: await deps.rootSigner(),
        issuingSigner: await deps.issuingSigner(),
        chainStore: deps.chainStore,
        clock: deps.clock,
      },
      {
        caId: props.CaId,
        rootCommonName: props.RootCommonName,
        issuingCommonName: props.IssuingCommonName,
        rootValidityDays: props.RootValidityDays,
        issuingValidityDays: props.IssuingValidityDays,
      },
    );
    deps.logger.info('CA bootstrap', {
      caId: props.CaId,
      created: result.created,
      certificates: result.chainPem.length,
    });
    const seeded = await seedPolicies({ policyStore: deps.policyStore, clock: deps.clock }, deps.config);
    deps.logger.info('policies seeded from the configuration', {
      created: seeded.created,
      updated: seeded.updated,
      deleted: seeded.deleted,
      unchanged: seeded.unchanged.length,
    });
    return { PhysicalResourceId: physicalId, Data: { CaId: props.CaId, Created: String(result.created) } };
  };
}
