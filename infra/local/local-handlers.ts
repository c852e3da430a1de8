import type { Logger } from '@aws-lambda-powertools/logger';
import { makeCreateEnrollmentTokenHandler } from '#functions/create-enrollment-token/handler.ts';
import { makeDeletePolicyHandler } from '#functions/delete-policy/handler.ts';
import type { FunctionName } from '#functions/function-access.ts';
import { makeGetCaChainHandler } from '#functions/get-ca-chain/handler.ts';
import { makeGetCertificateHandler } from '#functions/get-certificate/handler.ts';
import { makeGetConsolidationHandler } from '#functions/get-consolidation/handler.ts';
import { makeGetDiscoveryRunHandler } from '#functions/get-discovery-run/handler.ts';
import { makeGetIdentityHandler } from '#functions/get-identity/handler.ts';
import { makeGetInventorySummaryHandler } from '#functions/get-inventory-summary/handler.ts';
import { makeGetOpenApiHandler } from '#functions/get-openapi/handler.ts';
import { makeGetPolicyHandler } from '#functions/get-policy/handler.ts';
import { makeHealthHandler } from '#functions/health/handler.ts';
import { makeImportIdentitiesHandler } from '#functions/import-identities/handler.ts';
import { makeIssueCertificateHandler } from '#functions/issue-certificate/handler.ts';
import { makeListAuditEventsHandler } from '#functions/list-audit-events/handler.ts';
import { makeListDiscoveryRunsHandler } from '#functions/list-discovery-runs/handler.ts';
import { makeListIdentitiesHandler } from '#functions/list-identities/handler.ts';
import { makeListPoliciesHandler } from '#functions/list-policies/handler.ts';
import { makePutPolicyHandler } from '#functions/put-policy/handler.ts';
import { makeRevokeCertificateHandler } from '#functions/revoke-certificate/handler.ts';
import { makeRouteNotFoundHandler } from '#functions/route-not-found/handler.ts';
import { makeStartDiscoveryRunHandler } from '#functions/start-discovery-run/handler.ts';
import { makeUpdateIdentityHandler } from '#functions/update-identity/handler.ts';
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
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import type { DiscoveryRunStore } from '#lib/ports/discovery-runs.ts';
import type { EnrollmentTokenStore } from '#lib/ports/enrollment-token-store.ts';
import type { InventorySummaryReader, InventorySummaryStore } from '#lib/ports/inventory-summary.ts';
import type { PolicyStore } from '#lib/ports/policy-store.ts';
import { invalidatingPolicyStore, policySetLoader } from '#lib/use-cases/manage-policies.ts';
import type { StartDiscoveryRunDeps } from '#lib/use-cases/run-discovery.ts';
import type { LocalHandlers } from './local-server.ts';

/** Only this process writes the local table's policies, and it invalidates on each write; this bounds the rest. */
const LOCAL_POLICY_CACHE_MS = 60_000;

/** The table-backed stores of one function, all on that function's own (guarded) DynamoDB client. */
export interface FunctionStores {
  readonly inventory: CertificateInventory & CaChainStore;
  readonly runs: DiscoveryRunStore;
  readonly discovered: DiscoveredInventory;
  readonly policyStore: PolicyStore;
  readonly tokenStore: EnrollmentTokenStore;
  readonly idempotency: IdempotencyGuard;
  /** The inventory summary's counters (the summarizer moves them, the summary route reads them). */
  readonly summary: InventorySummaryStore & InventorySummaryReader;
}

export interface LocalHandlerDeps {
  /**
   * Each function's stores, built on a client that allows exactly that function's table grants (as its Lambda's IAM
   * role does), so that a local request fails where the deployed function would be denied.
   */
  readonly storesFor: (name: FunctionName) => FunctionStores;
  readonly config: MimConfig;
  readonly issuer: IssuerContext;
  readonly caId: string;
  /** Local principals' bearer tokens: each acts as `local:<name>`. */
  readonly tokens: ReadonlyArray<{ readonly name: string; readonly token: string }>;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Starting discovery runs: the plan (accounts, regions), TLS targets and ranges, the queue of units, and run ids. */
  readonly discovery: Pick<StartDiscoveryRunDeps, 'plan' | 'queue' | 'randomId' | 'tls'>;
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
  const stores = (name: FunctionName) => deps.storesFor(name);
  // Each function that evaluates policies loads them through its own client, as its Lambda does.
  const policiesOf = (name: FunctionName) =>
    policySetLoader({
      policyStore: stores(name).policyStore,
      clock: deps.clock,
      deny: deps.config.deny,
      maxAgeMs: LOCAL_POLICY_CACHE_MS,
    });
  const issuePolicies = policiesOf('issue-certificate');
  const tokenPolicies = policiesOf('create-enrollment-token');
  const bothLoaders = {
    invalidate: () => {
      issuePolicies.invalidate();
      tokenPolicies.invalidate();
    },
  };
  const managePolicies = (name: FunctionName) => ({
    ...http,
    policyStore: invalidatingPolicyStore(stores(name).policyStore, bothLoaders),
    clock: deps.clock,
  });
  return {
    health: makeHealthHandler(http),
    'get-openapi': makeGetOpenApiHandler(http),
    'get-ca-chain': makeGetCaChainHandler({
      ...http,
      chainStore: stores('get-ca-chain').inventory,
      caId: deps.caId,
      clock: deps.clock,
    }),
    'issue-certificate': makeIssueCertificateHandler({
      ...http,
      idempotency: stores('issue-certificate').idempotency,
      issuer,
      inventory: stores('issue-certificate').inventory,
      tokens: stores('issue-certificate').tokenStore,
      policies: issuePolicies,
      clock: deps.clock,
    }),
    'get-certificate': makeGetCertificateHandler({ ...http, inventory: stores('get-certificate').inventory }),
    'revoke-certificate': makeRevokeCertificateHandler({
      ...http,
      idempotency: stores('revoke-certificate').idempotency,
      inventory: stores('revoke-certificate').inventory,
      clock: deps.clock,
    }),
    'list-identities': makeListIdentitiesHandler({ ...http, inventory: stores('list-identities').inventory }),
    'get-identity': makeGetIdentityHandler({
      ...http,
      inventory: stores('get-identity').inventory,
      discovered: stores('get-identity').discovered,
      runs: stores('get-identity').runs,
      clock: deps.clock,
    }),
    'import-identities': makeImportIdentitiesHandler({
      ...http,
      discovered: stores('import-identities').discovered,
      clock: deps.clock,
    }),
    'get-consolidation': makeGetConsolidationHandler({
      ...http,
      inventory: stores('get-consolidation').inventory,
      discovered: stores('get-consolidation').discovered,
    }),
    'get-inventory-summary': makeGetInventorySummaryHandler({
      ...http,
      summary: stores('get-inventory-summary').summary,
      clock: deps.clock,
    }),
    'update-identity': makeUpdateIdentityHandler({
      ...http,
      inventory: stores('update-identity').inventory,
      discovered: stores('update-identity').discovered,
      clock: deps.clock,
    }),
    'list-audit-events': makeListAuditEventsHandler({ ...http, inventory: stores('list-audit-events').inventory }),
    'list-policies': makeListPoliciesHandler(managePolicies('list-policies')),
    'get-policy': makeGetPolicyHandler(managePolicies('get-policy')),
    'put-policy': makePutPolicyHandler(managePolicies('put-policy')),
    'delete-policy': makeDeletePolicyHandler(managePolicies('delete-policy')),
    'create-enrollment-token': makeCreateEnrollmentTokenHandler({
      ...http,
      idempotency: stores('create-enrollment-token').idempotency,
      tokens: stores('create-enrollment-token').tokenStore,
      policies: tokenPolicies,
      clock: deps.clock,
      defaultTtl: deps.config.enrollmentTokens.defaultTtl,
      maxTtl: deps.config.enrollmentTokens.maxTtl,
    }),
    'start-discovery-run': makeStartDiscoveryRunHandler({
      ...http,
      ...deps.discovery,
      runs: stores('start-discovery-run').runs,
      clock: deps.clock,
    }),
    'get-discovery-run': makeGetDiscoveryRunHandler({ ...http, runs: stores('get-discovery-run').runs }),
    'list-discovery-runs': makeListDiscoveryRunsHandler({ ...http, runs: stores('list-discovery-runs').runs }),
    'route-not-found': makeRouteNotFoundHandler(),
  };
}
