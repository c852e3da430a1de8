import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import { listIdentities } from '#lib/use-cases/read-inventory.ts';

/** `GET /v1/identities?type=&status=&owner=&limit=&cursor=`: one page and an opaque `nextCursor`. */
export function makeListIdentitiesHandler(deps: ApiHandlerDeps & { inventory: CertificateInventory }): HttpApiHandler {
  return makeApiHandler(
    { name: 'list-identities', auth: 'required', ...ROUTE_INPUTS['list-identities'] },
    deps,
    async ({ query }) => {
      const { limit, cursor, ...filter } = query;
      const page = await listIdentities(deps, filter, cursor === undefined ? { limit } : { limit, cursor });
      return { status: 200, body: page };
    },
  );
}
