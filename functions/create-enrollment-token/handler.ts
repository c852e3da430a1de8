import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { type CreateEnrollmentTokenDeps, createEnrollmentToken } from '#lib/use-cases/create-enrollment-token.ts';

/**
 * `POST /v1/enrollment-tokens` (201): a one-time token a machine outside AWS presents on `POST /v1/enroll`. With an
 * Idempotency-Key a retry gets the same token; the stored answer holds it only sealed under that key and the
 * server's sealing secret (`deps.idempotency` must have one, or a keyed request is refused).
 */
export function makeCreateEnrollmentTokenHandler(deps: ApiHandlerDeps & CreateEnrollmentTokenDeps): HttpApiHandler {
  return makeApiHandler(
    {
      name: 'create-enrollment-token',
      auth: 'required',
      idempotent: { sealFields: ['token'] },
      ...ROUTE_INPUTS['create-enrollment-token'],
    },
    deps,
    async ({ body, principal }) => ({ status: 201, body: await createEnrollmentToken(deps, principal, body) }),
  );
}
