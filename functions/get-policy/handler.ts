import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { policyETag, policyView } from '#lib/http/policy-view.ts';
import { getPolicy, type ManagePoliciesDeps } from '#lib/use-cases/manage-policies.ts';

/** `GET /v1/policies/{name}`: one policy; the ETag is the version a later PUT or DELETE names in If-Match. */
export function makeGetPolicyHandler(deps: ApiHandlerDeps & ManagePoliciesDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'get-policy', auth: 'required', ...ROUTE_INPUTS['get-policy'] },
    deps,
    async ({ params }) => {
      const stored = await getPolicy(deps, params.name);
      return { status: 200, body: policyView(stored), headers: { etag: policyETag(stored) } };
    },
  );
}
