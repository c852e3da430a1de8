import type { Logger } from '@aws-lambda-powertools/logger';
import { makeGetCaChainHandler } from '#functions/get-ca-chain/handler.ts';
import { makeGetCertificateHandler } from '#functions/get-certificate/handler.ts';
import { makeGetIdentityHandler } from '#functions/get-identity/handler.ts';
import { makeGetOpenApiHandler } from '#functions/get-openapi/handler.ts';
import { makeHealthHandler } from '#functions/health/handler.ts';
import { makeIssueCertificateHandler } from '#functions/issue-certificate/handler.ts';
import { makeListIdentitiesHandler } from '#functions/list-identities/handler.ts';
import { makeRevokeCertificateHandler } from '#functions/revoke-certificate/handler.ts';
import { makeRouteNotFoundHandler } from '#functions/route-not-found/handler.ts';
import { DEFAULT_PROFILES } from '#lib/domain/certificate-profile.ts';
import { DEFAULT_LOCAL_NAME_POLICY } from '#lib/domain/name-policy.ts';
import { bearerTokenAuthenticator, firstOf, iamAuthenticator } from '#lib/http/authenticator.ts';
import type { IssuerContext } from '#lib/pki/issuer.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { LocalHandlers } from './local-server.ts';

export interface LocalHandlerDeps {
  readonly inventory: CertificateInventory;
  readonly chainStore: CaChainStore;
  readonly issuer: IssuerContext;
  readonly caId: string;
  readonly adminToken: string;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * The local composition root: the same handler factories the Lambda entry points call, given local adapters
 * (software CA key, DynamoDB Local) and bearer-token authentication beside the IAM authorizer's context.
 */
export function buildLocalHandlers(deps: LocalHandlerDeps): LocalHandlers {
  const http = {
    logger: deps.logger,
    authenticator: firstOf(
      iamAuthenticator,
      bearerTokenAuthenticator([{ token: deps.adminToken, principalId: 'local-admin' }]),
    ),
  };
  const issuer = async () => deps.issuer;
  return {
    health: makeHealthHandler(http),
    'get-openapi': makeGetOpenApiHandler(http),
    'get-ca-chain': makeGetCaChainHandler({ ...http, chainStore: deps.chainStore, caId: deps.caId, clock: deps.clock }),
    'issue-certificate': makeIssueCertificateHandler({
      ...http,
      issuer,
      inventory: deps.inventory,
      clock: deps.clock,
      profiles: DEFAULT_PROFILES,
      namePolicy: DEFAULT_LOCAL_NAME_POLICY,
    }),
    'get-certificate': makeGetCertificateHandler({ ...http, inventory: deps.inventory }),
    'revoke-certificate': makeRevokeCertificateHandler({ ...http, inventory: deps.inventory, clock: deps.clock }),
    'list-identities': makeListIdentitiesHandler({ ...http, inventory: deps.inventory }),
    'get-identity': makeGetIdentityHandler({ ...http, inventory: deps.inventory }),
    'route-not-found': makeRouteNotFoundHandler(),
  };
}
