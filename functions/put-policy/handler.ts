import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { policyETag, policyView } from '#lib/http/policy-view.ts';
import { expectedVersion } from '#lib/http/preconditions.ts';
import { type ManagePoliciesDeps, putPolicy } from '#lib/use-cases/manage-policies.ts';

/** `PUT /v1/policies/{name}`: create (`If-None-Match: *`, 201) or replace (`If-Match: "<version>"`, 200). */
export function makePutPolicyHandler(deps: ApiHandlerDeps & ManagePoliciesDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'put-policy', auth: 'required', ...ROUTE_INPUTS['put-policy'] },
    deps,
    async ({ params, body, principal, headers }) => {
      const expected = expectedVersion(headers, true);
      const stored = await putPolicy(deps, principal, { name: params.name, document: body, expectedVersion: expected });
      return {
        status: expected === 0 ? 201 : 200,
        body: policyView(stored),
        headers: { etag: policyETag(stored), location: `/v1/policies/${stored.document.name}` },
      };
    },
  );
}
