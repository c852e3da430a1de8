import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { policyView } from '#lib/http/policy-view.ts';
import { listPolicies, type ManagePoliciesDeps } from '#lib/use-cases/manage-policies.ts';

/** `GET /v1/policies`: every current policy with its version. */
export function makeListPoliciesHandler(deps: ApiHandlerDeps & ManagePoliciesDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'list-policies', auth: 'required', ...ROUTE_INPUTS['list-policies'] },
    deps,
    async () => ({
      status: 200,
      body: { policies: (await listPolicies(deps)).map(policyView) },
    }),
  );
}
