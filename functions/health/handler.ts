import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';

/** `GET /v1/health`: liveness, no authentication, no I/O. */
export function makeHealthHandler(deps: ApiHandlerDeps): HttpApiHandler {
  return makeApiHandler({ name: 'health', auth: 'none' }, deps, async () => ({
    status: 200,
    body: { status: 'ok' },
  }));
}
