import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { expectedVersion } from '#lib/http/preconditions.ts';
import { deletePolicy, type ManagePoliciesDeps } from '#lib/use-cases/manage-policies.ts';

/** `DELETE /v1/policies/{name}` with `If-Match: "<version>"`; the policy's history is kept. */
export function makeDeletePolicyHandler(deps: ApiHandlerDeps & ManagePoliciesDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'delete-policy', auth: 'required', ...ROUTE_INPUTS['delete-policy'] },
    deps,
    async ({ params, principal, headers }) => {
      const version = expectedVersion(headers, false);
      await deletePolicy(deps, principal, { name: params.name, expectedVersion: version });
      return { status: 200, body: { deleted: params.name, version } };
    },
  );
}
