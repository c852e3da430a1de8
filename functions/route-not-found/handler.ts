import { MethodNotAllowedError, NotFoundError } from '#lib/domain/errors.ts';
import { errorResult } from '#lib/http/api-handler.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { matchPath, ROUTES } from '../routes.ts';

/**
 * The `$default` route: 405 with an `Allow` header when the path exists under another method, 404 otherwise. It reads
 * nothing but the method and path, so it needs neither authentication nor any permission.
 */
export function makeRouteNotFoundHandler(): HttpApiHandler {
  return async (event) => {
    const { method } = event.requestContext.http;
    const path = event.requestContext.http.path.slice(0, 200);
    const requestId = event.requestContext.requestId;
    const allowed = ROUTES.filter((r) => matchPath(r.path, path)).map((r) => r.method);
    if (allowed.length > 0) {
      const allow = [...new Set(allowed)].join(', ');
      return errorResult(
        new MethodNotAllowedError(`${method} is not allowed on ${path}; use ${allow}.`, { details: { allow } }),
        requestId,
        { allow },
      );
    }
    return errorResult(
      new NotFoundError('ROUTE_NOT_FOUND', `There is no route ${method} ${path}. The API lives under /v1/.`),
      requestId,
    );
  };
}
