import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { identityDetailView, identityETag } from '#lib/http/identity-view.ts';
import { type GetIdentityDeps, getIdentity } from '#lib/use-cases/read-inventory.ts';

/**
 * `GET /v1/identities/{id}`: an issued identity, or a discovered one (`d-…`) with its facts and when it was last
 * seen, each with its linked certificates; the ETag is the version a `PATCH` names in If-Match.
 */
export function makeGetIdentityHandler(deps: ApiHandlerDeps & GetIdentityDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'get-identity', auth: 'required', ...ROUTE_INPUTS['get-identity'] },
    deps,
    async ({ params }) => {
      const detail = await getIdentity(deps, params.id);
      return { status: 200, body: identityDetailView(detail), headers: { etag: identityETag(detail.identity) } };
    },
  );
}
