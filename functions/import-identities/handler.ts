import { MAX_IMPORT_BYTES } from '#lib/domain/identity-import.ts';
import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { type ImportIdentitiesDeps, importIdentities } from '#lib/use-cases/import-identities.ts';

/**
 * `POST /v1/identities/import` (admin): `application/x-ndjson`, one identity a line, up to 10,000 lines and 5 MiB →
 * `{"lines","created","changed","unchanged"}`; any invalid line → 400 `IMPORT_INVALID` listing every one, nothing
 * written.
 */
export function makeImportIdentitiesHandler(deps: ApiHandlerDeps & ImportIdentitiesDeps): HttpApiHandler {
  return makeApiHandler(
    {
      name: 'import-identities',
      auth: 'required',
      rawBody: { contentType: 'application/x-ndjson', maxBytes: MAX_IMPORT_BYTES },
      ...ROUTE_INPUTS['import-identities'],
    },
    deps,
    async ({ rawBody, principal }) => ({
      status: 200,
      body: await importIdentities(deps, rawBody ?? '', principal.id),
    }),
  );
}
