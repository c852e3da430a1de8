/**
 * The HTTP API's route table: the CDK stack creates one API Gateway route per entry, backed by the function of the
 * same name (`functions/<function>/index.ts`), and the local server dispatches with the very same table. Anything
 * else goes to `route-not-found`, which answers 404 or 405 in our error format. `auth` says what API Gateway checks
 * before the function runs (`iam`: the SigV4 authorizer); what each caller may do is then decided in one place,
 * `ROUTE_PERMISSIONS` (lib/domain/access.ts).
 */
export const ROUTES = [
  { method: 'GET', path: '/v1/health', function: 'health', auth: 'none' },
  { method: 'GET', path: '/v1/ca', function: 'get-ca-chain', auth: 'none' },
  { method: 'GET', path: '/v1/openapi.json', function: 'get-openapi', auth: 'none' },
  { method: 'POST', path: '/v1/certificates', function: 'issue-certificate', auth: 'iam' },
  { method: 'GET', path: '/v1/certificates/{serial}', function: 'get-certificate', auth: 'iam' },
  { method: 'POST', path: '/v1/certificates/{serial}/revoke', function: 'revoke-certificate', auth: 'iam' },
  { method: 'GET', path: '/v1/identities', function: 'list-identities', auth: 'iam' },
  { method: 'POST', path: '/v1/identities/import', function: 'import-identities', auth: 'iam' },
  { method: 'GET', path: '/v1/identities/{id}', function: 'get-identity', auth: 'iam' },
  { method: 'PATCH', path: '/v1/identities/{id}', function: 'update-identity', auth: 'iam' },
  { method: 'GET', path: '/v1/inventory/consolidation', function: 'get-consolidation', auth: 'iam' },
  { method: 'GET', path: '/v1/inventory/summary', function: 'get-inventory-summary', auth: 'iam' },
  { method: 'GET', path: '/v1/policies', function: 'list-policies', auth: 'iam' },
  { method: 'GET', path: '/v1/policies/{name}', function: 'get-policy', auth: 'iam' },
  { method: 'PUT', path: '/v1/policies/{name}', function: 'put-policy', auth: 'iam' },
  { method: 'DELETE', path: '/v1/policies/{name}', function: 'delete-policy', auth: 'iam' },
  { method: 'POST', path: '/v1/enrollment-tokens', function: 'create-enrollment-token', auth: 'iam' },
  { method: 'GET', path: '/v1/audit', function: 'list-audit-events', auth: 'iam' },
  { method: 'POST', path: '/v1/discovery/runs', function: 'start-discovery-run', auth: 'iam' },
  { method: 'GET', path: '/v1/discovery/runs', function: 'list-discovery-runs', auth: 'iam' },
  { method: 'GET', path: '/v1/discovery/runs/{id}', function: 'get-discovery-run', auth: 'iam' },
  // Machines outside AWS present a one-time enrollment token here: the only issuance route without the IAM
  // authorizer, served by the same function as POST /v1/certificates.
  { method: 'POST', path: '/v1/enroll', function: 'issue-certificate', auth: 'enrollment-token' },
] as const;

export type Route = (typeof ROUTES)[number];
export type ApiFunctionName = Route['function'] | 'route-not-found';

/** Functions that are not behind a route. */
export const NON_API_FUNCTIONS = [
  'bootstrap-ca',
  'publish-events',
  'discovery-worker',
  'rescore-risk',
  'summarize-inventory',
] as const;

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
