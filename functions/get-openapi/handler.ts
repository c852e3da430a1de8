import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { buildOpenApiDocument } from '#lib/http/openapi.ts';
import { ROUTES } from '../routes.ts';

/** `GET /v1/openapi.json`: the API description, built once per container. */
export function makeGetOpenApiHandler(deps: ApiHandlerDeps): HttpApiHandler {
  const document = buildOpenApiDocument(ROUTES, 'v1');
  return makeApiHandler({ name: 'get-openapi', auth: 'none' }, deps, async () => ({
    status: 200,
    body: document,
    headers: { 'cache-control': 'public, max-age=300' },
  }));
}
