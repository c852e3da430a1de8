import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import {
  AccessControl,
  PERMISSIONS,
  type Permission,
  ROLE_PERMISSIONS,
  ROUTE_PERMISSIONS,
} from '#lib/domain/access.ts';
import { AuthorizationError } from '#lib/domain/errors.ts';
import { parseMimConfig, ROLES, type Role } from '#lib/domain/policy.ts';
import { normalizeIamArn, type Principal } from '#lib/domain/principal.ts';

const ACCOUNT = '123456789012';

function iam(id: string): Principal {
  return { kind: 'iam', id, arn: normalizeIamArn(id), accountId: ACCOUNT, userId: 'AROAEXAMPLE:session' };
}
const local = (name: string): Principal => ({ kind: 'local-token', id: `local:${name}` });
const enrollment: Principal = {
  kind: 'enrollment-token',
  id: 'enrollment:0123456789abcdef',
  tokenHash: 'cd'.repeat(32),
};

const access = new AccessControl(
  parseMimConfig({
    version: 1,
    roles: {
      admin: ['local:admin', `arn:aws:iam::${ACCOUNT}:role/PlatformAdmin`],
      operator: ['local:operator', `arn:aws:iam::${ACCOUNT}:role/PlatformOperator`],
      auditor: ['local:auditor', `arn:aws:iam::${ACCOUNT}:user/auditor-?`, 'local:auditing-workload'],
      workload: ['local:workload', `arn:aws:iam::${ACCOUNT}:role/app-*`, 'local:auditing-workload'],
    },
  }).roles,
);

/** The refusal authorize throws, or undefined when it allows. */
function refusal(principal: Principal, permission: Permission, control = access): AuthorizationError | undefined {
  try {
    control.authorize(principal, permission);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(AuthorizationError);
    return error as AuthorizationError;
  }
}

function expectAllowed(principal: Principal, permissions: readonly Permission[], control = access): void {
  for (const permission of PERMISSIONS) {
    const error = refusal(principal, permission, control);
    if (permissions.includes(permission)) {
      expect(error, `${principal.id} should be allowed ${permission}`).toBeUndefined();
    } else {
      expect(error, `${principal.id} should be refused ${permission}`).toBeDefined();
      expect({ code: error?.code, status: error?.status }).toEqual({ code: 'FORBIDDEN', status: 403 });
    }
  }
}

describe('ROUTE_PERMISSIONS', () => {
  const routeFunctions = new Set<string>(ROUTES.map((r) => r.function));

  it('has an entry for every route of ROUTES, and for route-not-found, and nothing else', () => {
    for (const fn of routeFunctions) expect(Object.hasOwn(ROUTE_PERMISSIONS, fn), fn).toBe(true);
    expect(new Set(Object.keys(ROUTE_PERMISSIONS))).toEqual(new Set([...routeFunctions, 'route-not-found']));
  });

  it('makes public exactly the routes without authorization (auth "none"), plus route-not-found', () => {
    const publicFunctions = new Set<string>(ROUTES.filter((r) => r.auth === 'none').map((r) => r.function));
    const protectedFunctions = new Set<string>(ROUTES.filter((r) => r.auth !== 'none').map((r) => r.function));
    // A function is public or not, whichever route reaches it.
    for (const fn of publicFunctions) expect(protectedFunctions.has(fn), fn).toBe(false);
    const nulls = Object.entries(ROUTE_PERMISSIONS)
      .filter(([, permission]) => permission === null)
      .map(([fn]) => fn);
    expect(new Set(nulls)).toEqual(new Set([...publicFunctions, 'route-not-found']));
    for (const fn of protectedFunctions) expect(PERMISSIONS).toContain(ROUTE_PERMISSIONS[fn]);
  });

  it('lets the enrollment-token route issue certificates and nothing else', () => {
    const enroll = ROUTES.filter((r) => r.auth === 'enrollment-token');
    expect(enroll.length).toBeGreaterThan(0);
    for (const route of enroll) expect(ROUTE_PERMISSIONS[route.function]).toBe('certificate:issue');
  });

  it('uses every permission on some route', () => {
    const used = new Set(Object.values(ROUTE_PERMISSIONS));
    for (const permission of PERMISSIONS) expect(used.has(permission), permission).toBe(true);
  });
});

describe('ROLE_PERMISSIONS', () => {
  it('is the documented matrix', () => {
    expect(ROLES).toEqual(['admin', 'operator', 'auditor', 'workload']);
    expect(new Set(ROLE_PERMISSIONS.admin)).toEqual(new Set(PERMISSIONS));
    expect(new Set(ROLE_PERMISSIONS.operator)).toEqual(
      new Set([
        'certificate:read',
        'certificate:revoke',
        'inventory:read',
        'inventory:write',
        'policy:read',
        'discovery:run',
      ]),
    );
    expect(new Set(ROLE_PERMISSIONS.auditor)).toEqual(
      new Set(['certificate:read', 'inventory:read', 'policy:read', 'audit:read']),
    );
    expect(new Set(ROLE_PERMISSIONS.workload)).toEqual(new Set(['certificate:issue']));
  });

  it('gives auditors read permissions only', () => {
    for (const permission of ROLE_PERMISSIONS.auditor) expect(permission).toMatch(/:read$/);
  });
});

describe('AccessControl.authorize: role × permission', () => {
  const holders: Record<Role, Principal> = {
    admin: local('admin'),
    operator: local('operator'),
    auditor: local('auditor'),
    workload: local('workload'),
  };

  for (const role of ROLES) {
    for (const permission of PERMISSIONS) {
      const allowed = ROLE_PERMISSIONS[role].includes(permission);
      it(`${role} ${allowed ? 'may' : 'may not'} ${permission}`, () => {
        const principal = holders[role];
        expect(access.rolesOf(principal)).toEqual([role]);
        const error = refusal(principal, permission);
        if (allowed) {
          expect(error).toBeUndefined();
        } else {
          expect({ code: error?.code, status: error?.status }).toEqual({ code: 'FORBIDDEN', status: 403 });
          expect(error?.details).toEqual({ permission, roles: [role] });
          expect(error?.message).toContain(`(roles: ${role})`);
        }
      });
    }
  }

  it('admin may do everything, operator reads, revokes, runs discovery and annotates, auditor reads, workload issues', () => {
    expectAllowed(local('admin'), PERMISSIONS);
    expectAllowed(local('operator'), [
      'certificate:read',
      'certificate:revoke',
      'inventory:read',
      'inventory:write',
      'policy:read',
      'discovery:run',
    ]);
    expectAllowed(local('auditor'), ['certificate:read', 'inventory:read', 'policy:read', 'audit:read']);
    expectAllowed(local('workload'), ['certificate:issue']);
  });

  it('grants the union of the permissions of every role a principal holds', () => {
    expect(access.rolesOf(local('auditing-workload'))).toEqual(['auditor', 'workload']);
    expectAllowed(local('auditing-workload'), [
      'certificate:issue',
      'certificate:read',
      'inventory:read',
      'audit:read',
      'policy:read',
    ]);
  });

  it('refuses a principal with no role everything, saying it has none', () => {
    for (const principal of [
      local('nobody'),
      iam(`arn:aws:iam::${ACCOUNT}:role/Other`),
      iam(`arn:aws:iam::210987654321:role/PlatformAdmin`),
    ]) {
      expect(access.rolesOf(principal)).toEqual([]);
      expectAllowed(principal, []);
      const error = refusal(principal, 'certificate:read');
      expect(error?.details).toEqual({ permission: 'certificate:read', roles: [] });
      expect(error?.message).toContain('(no role)');
      expect(error?.message).toContain('admin or operator or auditor');
    }
    const nobody = new AccessControl(parseMimConfig({ version: 1, roles: {} }).roles);
    expect(() => nobody.authorize(local('admin'), 'policy:read')).toThrow(AuthorizationError);
  });

  it('lets an enrollment token issue certificates and nothing else, whatever the roles say', () => {
    const everyone = new AccessControl(
      parseMimConfig({ version: 1, roles: { admin: ['local:*', 'arn:aws:iam::*:role/*'] } }).roles,
    );
    for (const control of [access, everyone]) {
      expect(control.rolesOf(enrollment)).toEqual([]);
      expectAllowed(enrollment, ['certificate:issue'], control);
    }
  });

  it('matches an assumed-role session by its role ARN, never by the session name', () => {
    const admin = iam(`arn:aws:sts::${ACCOUNT}:assumed-role/PlatformAdmin/alice@example.com`);
    expect(admin.kind === 'iam' && admin.arn).toBe(`arn:aws:iam::${ACCOUNT}:role/PlatformAdmin`);
    expect(access.rolesOf(admin)).toEqual(['admin']);
    expectAllowed(admin, PERMISSIONS);

    const app = iam(`arn:aws:sts::${ACCOUNT}:assumed-role/app-payments/PlatformAdmin`);
    expect(access.rolesOf(app)).toEqual(['workload']);
    expectAllowed(app, ['certificate:issue']);

    // The role itself (not a session) matches the same way.
    expect(access.rolesOf(iam(`arn:aws:iam::${ACCOUNT}:role/PlatformOperator`))).toEqual(['operator']);
    // Patterns are case-sensitive and anchored.
    expect(access.rolesOf(iam(`arn:aws:iam::${ACCOUNT}:role/platformadmin`))).toEqual([]);
    expect(access.rolesOf(iam(`arn:aws:iam::${ACCOUNT}:role/PlatformAdminX`))).toEqual([]);
    expect(access.rolesOf(iam(`arn:aws:sts::${ACCOUNT}:assumed-role/PlatformAdminX/s`))).toEqual([]);
    // `?` matches one character.
    expect(access.rolesOf(iam(`arn:aws:iam::${ACCOUNT}:user/auditor-1`))).toEqual(['auditor']);
    expect(access.rolesOf(iam(`arn:aws:iam::${ACCOUNT}:user/auditor-12`))).toEqual([]);
  });

  it('names the principal by its matched ARN in the refusal', () => {
    const app = iam(`arn:aws:sts::${ACCOUNT}:assumed-role/app-payments/session`);
    const error = refusal(app, 'policy:write');
    expect(error?.message).toContain(`arn:aws:iam::${ACCOUNT}:role/app-payments (roles: workload)`);
    expect(error?.message).toContain('needs the role admin');
  });
});

describe('the shipped mim.config.json roles', () => {
  const shipped = new AccessControl(
    parseMimConfig(JSON.parse(readFileSync(new URL('../../mim.config.json', import.meta.url), 'utf8'))).roles,
  );

  it('makes local:admin an admin (and a workload), and other local principals workloads', () => {
    expect(shipped.rolesOf(local('admin'))).toEqual(['admin', 'workload']);
    expect(shipped.rolesOf(local('auditor'))).toEqual(['auditor', 'workload']);
    expect(shipped.rolesOf(local('payments-api'))).toEqual(['workload']);
    expectAllowed(local('payments-api'), ['certificate:issue'], shipped);
    expectAllowed(
      local('operator'),
      [
        'certificate:issue',
        'certificate:read',
        'certificate:revoke',
        'inventory:read',
        'inventory:write',
        'policy:read',
        'discovery:run',
      ],
      shipped,
    );
    expect(shipped.rolesOf(iam(`arn:aws:sts::${ACCOUNT}:assumed-role/SecurityAudit/bob`))).toEqual([
      'auditor',
      'workload',
    ]);
  });
});
