import { ValidationError } from '#lib/domain/errors.ts';
import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { identityETag } from '#lib/http/identity-view.ts';
import { ifMatchVersion } from '#lib/http/preconditions.ts';
import { type UpdateIdentityDeps, updateIdentity } from '#lib/use-cases/update-identity.ts';

/**
 * `PATCH /v1/identities/{id}` (admin, operator): `{"owner"?, "purpose"?, "tags"?}` with `If-Match: "<version>"`;
 * answers the identity's new version (the record and its ETag). A stale version gets 409, a missing If-Match 428.
 */
export function makeUpdateIdentityHandler(deps: ApiHandlerDeps & UpdateIdentityDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'update-identity', auth: 'required', ...ROUTE_INPUTS['update-identity'] },
    deps,
    async ({ params, body, principal, headers }) => {
      if (headers['if-none-match'] !== undefined) {
        throw new ValidationError('PRECONDITION_CONFLICT', 'An identity is changed with If-Match, not If-None-Match.');
      }
      const expected = ifMatchVersion(headers, `GET /v1/identities/${params.id}`);
      const updated = await updateIdentity(deps, principal, {
        identityId: params.id,
        expectedVersion: expected,
        patch: body,
      });
      return { status: 200, body: updated, headers: { etag: identityETag(updated) } };
    },
  );
}
