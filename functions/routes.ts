/**
 * The HTTP API's route table: the CDK stack creates one API Gateway route per entry, backed by the function of the
 * same name (`functions/<function>/index.ts`), and the local server dispatches with the very same table. Anything
 * else goes to `route-not-found`, which answers 404 or 405 in our error format.
 */
export const ROUTES = [
  { method: 'GET', path: '/v1/health', function: 'health', auth: 'none' },
  { method: 'GET', path: '/v1/ca', function: 'get-ca-chain', auth: 'none' },
  { method: 'GET', path: '/v1/openapi.json', function: 'get-openapi', auth: 'none' },
  { method: 'POST', path: '/v1/certificates', function: 'issue-certificate', auth: 'iam' },
  { method: 'GET', path: '/v1/certificates/{serial}', function: 'get-certificate', auth: 'iam' },
  { method: 'POST', path: '/v1/certificates/{serial}/revoke', function: 'revoke-certificate', auth: 'iam' },
  { method: 'GET', path: '/v1/identities', function: 'list-identities', auth: 'iam' },
  { method: 'GET', path: '/v1/identities/{id}', function: 'get-identity', auth: 'iam' },
] as const;

export type Route = (typeof ROUTES)[number];
export type ApiFunctionName = Route['function'] | 'route-not-found';

/** Functions that are not behind a route. */
export const NON_API_FUNCTIONS = ['bootstrap-ca'] as const;

/** Matches a concrete path against a route template; returns the path parameters or undefined. */
export function matchPath(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined;
      try {
        params[w.slice(1, -1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}
