import { AuthorizationError } from './errors.ts';
import { type MimConfig, ROLES, type Role } from './policy.ts';
import {
  compilePrincipalPattern,
  type Principal,
  type PrincipalPattern,
  principalKey,
  principalMatches,
} from './principal.ts';

/** What a route lets its caller do; each route needs exactly one permission (or none, for public routes). */
export const PERMISSIONS = [
  'certificate:issue',
  'certificate:read',
  'certificate:revoke',
  'inventory:read',
  'inventory:write',
  'inventory:import',
  'policy:read',
  'policy:write',
  'enrollment-token:create',
  'audit:read',
  'discovery:run',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * The roles of the people and tools that operate the plane. Workloads only ask for certificates, and policies decide
 * which; operators revoke, read, run discovery and annotate identities; auditors only read; admins do everything.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  operator: [
    'certificate:read',
    'certificate:revoke',
    'inventory:read',
    'inventory:write',
    'policy:read',
    'discovery:run',
  ],
  auditor: ['certificate:read', 'inventory:read', 'policy:read', 'audit:read'],
  workload: ['certificate:issue'],
};

/**
 * The permission each route of the HTTP API needs, by the function serving it: the one place routes are
 * authorized. `null` marks a public route. A test checks that every route has an entry.
 */
export const ROUTE_PERMISSIONS: Readonly<Record<string, Permission | null>> = {
  health: null,
  'get-ca-chain': null,
  'get-openapi': null,
  'route-not-found': null,
  'issue-certificate': 'certificate:issue',
  'get-certificate': 'certificate:read',
  'revoke-certificate': 'certificate:revoke',
  'list-identities': 'inventory:read',
  'get-identity': 'inventory:read',
  'update-identity': 'inventory:write',
  'import-identities': 'inventory:import',
  'get-consolidation': 'inventory:read',
  'get-inventory-summary': 'inventory:read',
  'list-policies': 'policy:read',
  'get-policy': 'policy:read',
  'put-policy': 'policy:write',
  'delete-policy': 'policy:write',
  'create-enrollment-token': 'enrollment-token:create',
  'list-audit-events': 'audit:read',
  'start-discovery-run': 'discovery:run',
  'get-discovery-run': 'inventory:read',
  'list-discovery-runs': 'inventory:read',
};

/** Role assignments from the configuration, compiled once per process. */
export class AccessControl {
  private readonly roles: ReadonlyArray<readonly [Role, readonly PrincipalPattern[]]>;

  constructor(roles: MimConfig['roles']) {
    this.roles = ROLES.map((role) => [role, roles[role].map(compilePrincipalPattern)] as const);
  }

  /** The roles a principal holds. An enrollment token holds none: it can only pay for the issuance it was made for. */
  rolesOf(principal: Principal): Role[] {
    return this.roles.filter(([, patterns]) => principalMatches(patterns, principal)).map(([role]) => role);
  }

  /**
   * Refuses (403 `FORBIDDEN`) a principal whose roles do not grant the permission.
   */
  authorize(principal: Principal, permission: Permission): void {
    if (principal.kind === 'enrollment-token') {
      if (permission === 'certificate:issue') return;
      throw new AuthorizationError('FORBIDDEN', 'An enrollment token can only be used to request its certificate.');
    }
    const held = this.rolesOf(principal);
    if (held.some((role) => ROLE_PERMISSIONS[role].includes(permission))) return;
    const needed = ROLES.filter((role) => ROLE_PERMISSIONS[role].includes(permission));
    throw new AuthorizationError(
      'FORBIDDEN',
      `${principalKey(principal) ?? principal.id} ${held.length ? `(roles: ${held.join(', ')})` : '(no role)'} may not ` +
        `${permission.replace(':', ' ')}; that needs the role ${needed.join(' or ')} in the configuration's roles.`,
      { details: { permission, roles: held } },
    );
  }
}
