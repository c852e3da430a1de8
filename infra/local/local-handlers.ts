import type { Logger } from '@aws-lambda-powertools/logger';
import { makeCreateEnrollmentTokenHandler } from '#functions/create-enrollment-token/handler.ts';
import { makeDeletePolicyHandler } from '#functions/delete-policy/handler.ts';
import { makeGetCaChainHandler } from '#functions/get-ca-chain/handler.ts';
import { makeGetCertificateHandler } from '#functions/get-certificate/handler.ts';
import { makeGetIdentityHandler } from '#functions/get-identity/handler.ts';
import { makeGetOpenApiHandler } from '#functions/get-openapi/handler.ts';
import { makeGetPolicyHandler } from '#functions/get-policy/handler.ts';
import { makeHealthHandler } from '#functions/health/handler.ts';
import { makeIssueCertificateHandler } from '#functions/issue-certificate/handler.ts';
import { makeListAuditEventsHandler } from '#functions/list-audit-events/handler.ts';
import { makeListIdentitiesHandler } from '#functions/list-identities/handler.ts';
import { makeListPoliciesHandler } from '#functions/list-policies/handler.ts';
import { makePutPolicyHandler } from '#functions/put-policy/handler.ts';
import { makeRevokeCertificateHandler } from '#functions/revoke-certificate/handler.ts';
import { makeRouteNotFoundHandler } from '#functions/route-not-found/handler.ts';
import { AccessControl } from '#lib/domain/access.ts';
import type { MimConfig } from '#lib/domain/policy.ts';
import {
  bearerTokenAuthenticator,
  enrollmentTokenAuthenticator,
  firstOf,
  iamAuthenticator,
} from '#lib/http/authenticator.ts';
import type { IdempotencyGuard } from '#lib/http/idempotency.ts';
import type { IssuerContext } from '#lib/pki/issuer.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { EnrollmentTokenStore } from '#lib/ports/enrollment-token-store.ts';
import type { PolicyStore } from '#lib/ports/policy-store.ts';
import { invalidatingPolicyStore, policySetLoader } from '#lib/use-cases/manage-policies.ts';
import type { LocalHandlers } from './local-server.ts';

/** Only this process writes the local table's policies, and it invalidates on each write; this bounds the rest. */
const LOCAL_POLICY_CACHE_MS = 60_000;

export interface LocalHandlerDeps {
  readonly inventory: CertificateInventory;
  readonly chainStore: CaChainStore;
  readonly policyStore: PolicyStore;
  readonly tokenStore: EnrollmentTokenStore;
  readonly idempotency: IdempotencyGuard;
  readonly config: MimConfig;
  readonly issuer: IssuerContext;
  readonly caId: string;
  /** Local principals' bearer tokens: each acts as `local:<name>`. */
  readonly tokens: ReadonlyArray<{ readonly name: string; readonly token: string }>;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * The local composition root: the same handler factories the Lambda entry points call, given local adapters
 * (software CA key, DynamoDB Local) and bearer-token authentication beside the IAM authorizer's context. The compiled
 * policies are kept until this server changes them through the API, so a change applies at once.
 */
export function buildLocalHandlers(deps: LocalHandlerDeps): LocalHandlers {
  const http = {
    logger: deps.logger,
    authenticator: firstOf(iamAuthenticator, enrollmentTokenAuthenticator, bearerTokenAuthenticator(deps.tokens)),
    access: new AccessControl(deps.config.roles),
  };
  const issuer = async () => deps.issuer;
  const policies = policySetLoader({
    policyStore: deps.policyStore,
    clock: deps.clock,
    deny: deps.config.deny,
    maxAgeMs: LOCAL_POLICY_CACHE_MS,
  });
  const managePolicies = {
    ...http,
    policyStore: invalidatingPolicyStore(deps.policyStore, policies),
    clock: deps.clock,
  };
  return {
    health: makeHealthHandler(http),
    'get-openapi': makeGetOpenApiHandler(http),
    'get-ca-chain': makeGetCaChainHandler({ ...http, chainStore: deps.chainStore, caId: deps.caId, clock: deps.clock }),
    'issue-certificate': makeIssueCertificateHandler({
      ...http,
      idempotency: deps.idempotency,
      issuer,
      inventory: deps.inventory,
      tokens: deps.tokenStore,
      policies,
      clock: deps.clock,
    }),
    'get-certificate': makeGetCertificateHandler({ ...http, inventory: deps.inventory }),
    'revoke-certificate': makeRevokeCertificateHandler({
      ...http,
      idempotency: deps.idempotency,
      inventory: deps.inventory,
      clock: deps.clock,
    }),
    'list-identities': makeListIdentitiesHandler({ ...http, inventory: deps.inventory }),
    'get-identity': makeGetIdentityHandler({ ...http, inventory: deps.inventory }),
    'list-audit-events': makeListAuditEventsHandler({ ...http, inventory: deps.inventory }),
    'list-policies': makeListPoliciesHandler(managePolicies),
    'get-policy': makeGetPolicyHandler(managePolicies),
    'put-policy': makePutPolicyHandler(managePolicies),
    'delete-policy': makeDeletePolicyHandler(managePolicies),
    'create-enrollment-token': makeCreateEnrollmentTokenHandler({
      ...http,
      idempotency: deps.idempotency,
      tokens: deps.tokenStore,
      policies,
      clock: deps.clock,
      defaultTtl: deps.config.enrollmentTokens.defaultTtl,
      maxTtl: deps.config.enrollmentTokens.maxTtl,
    }),
    'route-not-found': makeRouteNotFoundHandler(),
  };
}
