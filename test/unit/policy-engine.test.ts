import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AuthorizationError, ControlPlaneError, ValidationError } from '#lib/domain/errors.ts';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import {
  mimConfigSchema,
  nameRulesSchema,
  type PolicyDocumentInput,
  parseMimConfig,
  policyDocumentSchema,
} from '#lib/domain/policy.ts';
import { type IssuanceAsk, nameKey, PolicySet } from '#lib/domain/policy-engine.ts';
import { normalizeIamArn, type Principal, principalVariables } from '#lib/domain/principal.ts';

const ACCOUNT = '123456789012';
const dns = (value: string): SubjectAltName => ({ type: 'dns', value });
const uri = (value: string): SubjectAltName => ({ type: 'uri', value });
const ip = (value: string): SubjectAltName => ({ type: 'ip', value });

function iam(id: string): Principal {
  return { kind: 'iam', id, arn: normalizeIamArn(id), accountId: ACCOUNT, userId: 'AIDAEXAMPLE' };
}
const role = (name: string) => iam(`arn:aws:iam::${ACCOUNT}:role/${name}`);
const user = (name: string) => iam(`arn:aws:iam::${ACCOUNT}:user/${name}`);
const local = (name: string): Principal => ({ kind: 'local-token', id: `local:${name}` });
const enrollment: Principal = {
  kind: 'enrollment-token',
  id: 'enrollment:0123456789abcdef',
  tokenHash: 'ab'.repeat(32),
};

const policySet = (docs: PolicyDocumentInput[], deny?: unknown) =>
  new PolicySet(
    docs.map((d) => policyDocumentSchema.parse(d)),
    deny === undefined ? undefined : nameRulesSchema.parse(deny),
  );

function ask(names: SubjectAltName[], extra: Partial<IssuanceAsk> = {}): IssuanceAsk {
  return { subjectAltNames: names, commonNames: [], key: { algorithm: 'EC_P256', keySize: 256 }, ...extra };
}

function refusal(fn: () => unknown): ControlPlaneError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError);
    return error as ControlPlaneError;
  }
  throw new Error('expected a refusal');
}

function forbidden(fn: () => unknown, code: string): ControlPlaneError {
  const error = refusal(fn);
  expect(error).toBeInstanceOf(AuthorizationError);
  expect({ code: error.code, status: error.status }).toEqual({ code, status: 403 });
  return error;
}

function invalid(fn: () => unknown, code: string): ControlPlaneError {
  const error = refusal(fn);
  expect(error).toBeInstanceOf(ValidationError);
  expect({ code: error.code, status: error.status }).toEqual({ code, status: 400 });
  return error;
}

const ANYONE = ['local:*', `arn:aws:iam::${ACCOUNT}:role/*`, `arn:aws:iam::${ACCOUNT}:user/*`];

describe('DNS names', () => {
  const set = policySet([
    {
      name: 'p',
      principals: ANYONE,
      allow: { dnsNames: ['api.example.internal', 'localhost'], dnsSuffixes: ['svc.example.internal'] },
    },
  ]);
  const decide = (...names: string[]) => set.decide(local('a'), ask(names.map(dns)));

  it('allows exact names and names below a suffix at any depth, normalized and deduplicated', () => {
    expect(
      decide(
        'API.Example.Internal',
        'localhost',
        'a.svc.example.internal',
        'a.b.c.svc.example.internal',
        'api.example.internal',
      ).names,
    ).toEqual([
      dns('api.example.internal'),
      dns('localhost'),
      dns('a.svc.example.internal'),
      dns('a.b.c.svc.example.internal'),
    ]);
  });

  it.each([
    'svc.example.internal',
    'xsvc.example.internal',
    'svc.example.internal.evil.com',
    'example.internal',
    'x.api.example.internal',
    'localhost.localdomain',
    'other.example',
  ])('refuses %j with NAME_NOT_ALLOWED naming the name and the policy', (name) => {
    const error = forbidden(() => decide('ok.svc.example.internal', name), 'NAME_NOT_ALLOWED');
    expect(error.details).toEqual({ name, policy: 'p' });
    expect(error.message).toContain('api.example.internal');
  });

  it('refuses a malformed name with 400 NAME_INVALID before any policy is consulted', () => {
    invalid(() => decide('ok.svc.example.internal', 'a..svc.example.internal'), 'NAME_INVALID');
    invalid(() => set.decide(local('a'), ask([dns('bad name')])), 'NAME_INVALID');
    invalid(
      () => policySet([{ name: 'p', principals: ['local:other'], allow: {} }]).decide(local('a'), ask([dns('')])),
      'NAME_INVALID',
    );
  });

  it('refuses a request without names (400 CSR_NO_NAMES) and one with 101 (400 TOO_MANY_NAMES)', () => {
    invalid(() => set.decide(local('a'), ask([])), 'CSR_NO_NAMES');
    const many = Array.from({ length: 101 }, (_, i) => dns(`n${i}.svc.example.internal`));
    invalid(() => set.decide(local('a'), ask(many)), 'TOO_MANY_NAMES');
    expect(set.decide(local('a'), ask(many.slice(0, 100))).names).toHaveLength(100);
  });
});

describe('wildcard certificates', () => {
  it('are refused (WILDCARD_NOT_ALLOWED) unless the policy allows them, even when a rule covers them', () => {
    const set = policySet([
      { name: 'p', principals: ['local:*'], allow: { dnsNames: ['*.x.example'], dnsSuffixes: ['svc.example'] } },
    ]);
    for (const name of ['*.svc.example', '*.a.svc.example', '*.x.example']) {
      const error = forbidden(() => set.decide(local('a'), ask([dns(name)])), 'WILDCARD_NOT_ALLOWED');
      expect(error.details).toEqual({ name, policy: 'p' });
    }
  });

  it('are allowed when covered by a suffix (the zone itself or below) or listed exactly', () => {
    const set = policySet([
      {
        name: 'p',
        principals: ['local:*'],
        allow: { dnsNames: ['*.x.example', 'api.y.example'], dnsSuffixes: ['svc.example'] },
        allowWildcardCertificates: true,
      },
    ]);
    const decide = (name: string) => set.decide(local('a'), ask([dns(name)]));
    expect(decide('*.svc.example').names).toEqual([dns('*.svc.example')]);
    expect(decide('*.A.svc.example').names).toEqual([dns('*.a.svc.example')]);
    expect(decide('*.x.example').names).toEqual([dns('*.x.example')]);
    // An exact "*.x.example" entry allows that wildcard certificate, not the names below it.
    forbidden(() => decide('a.x.example'), 'NAME_NOT_ALLOWED');
    forbidden(() => decide('*.y.example'), 'NAME_NOT_ALLOWED');
    forbidden(() => decide('*.other.example'), 'NAME_NOT_ALLOWED');
    invalid(() => decide('*.example'), 'NAME_INVALID');
    forbidden(() => decide('*.a.x.example'), 'NAME_NOT_ALLOWED');
    invalid(() => decide('*.*.svc.example'), 'NAME_INVALID');
    invalid(() => decide('a.*.svc.example'), 'NAME_INVALID');
  });
});

describe('IP address names', () => {
  const set = policySet([
    { name: 'p', principals: ['local:*'], allow: { ipRanges: ['10.0.0.0/8', '192.168.1.7/32', 'fd00::/8'] } },
  ]);
  const decide = (...names: string[]) => set.decide(local('a'), ask(names.map(ip)));

  it('allows addresses inside a range, in canonical form', () => {
    expect(decide('10.1.2.3', '192.168.1.7', 'FD00:0::1').names).toEqual([
      ip('10.1.2.3'),
      ip('192.168.1.7'),
      ip('fd00::1'),
    ]);
  });

  it('reads an IPv4-mapped IPv6 address as the IPv4 address it is, matched and issued as such', () => {
    expect(decide('::ffff:10.0.0.1', '::FFFF:A00:2', '0:0:0:0:0:ffff:192.168.1.7').names).toEqual([
      ip('10.0.0.1'),
      ip('10.0.0.2'),
      ip('192.168.1.7'),
    ]);
    expect(decide('10.0.0.1', '::ffff:10.0.0.1').names).toEqual([ip('10.0.0.1')]);
  });

  it.each(['11.0.0.1', '192.168.1.8', 'fe80::1', '::ffff:11.0.0.1', '::a00:1', '64:ff9b::a00:1'])(
    'refuses %j',
    (address) => {
      forbidden(() => decide(address), 'NAME_NOT_ALLOWED');
    },
  );

  it('refuses IP names when the policy lists no range, and DNS spellings of an address', () => {
    const dnsOnly = policySet([{ name: 'p', principals: ['local:*'], allow: { dnsSuffixes: ['example'] } }]);
    forbidden(() => dnsOnly.decide(local('a'), ask([ip('10.0.0.1')])), 'NAME_NOT_ALLOWED');
    invalid(() => set.decide(local('a'), ask([dns('10.0.0.1')])), 'NAME_INVALID');
  });
});

describe('IPv4-mapped IPv6 addresses against IPv4 rules', () => {
  const spellings = (v4: string) => {
    const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
    const hi = ((a << 8) | b).toString(16);
    const lo = ((c << 8) | d).toString(16);
    return [
      `::ffff:${v4}`,
      `::FFFF:${v4}`,
      `::ffff:${hi}:${lo}`,
      `0:0:0:0:0:ffff:${v4}`,
      `0000:0000:0000:0000:0000:FFFF:${hi.padStart(4, '0')}:${lo.padStart(4, '0')}`,
    ];
  };

  it('an IPv4 deny range refuses every IPv6 spelling of an address in it, even when an IPv6 range allows them', () => {
    const set = policySet([
      {
        name: 'p',
        principals: ['local:*'],
        allow: { ipRanges: ['::/0', '0.0.0.0/0'] },
        deny: { ipRanges: ['10.0.0.0/8'] },
      },
    ]);
    for (const spelling of spellings('10.0.0.1')) {
      const error = forbidden(() => set.decide(local('a'), ask([ip(spelling)])), 'NAME_DENIED');
      expect(error.details).toEqual({ name: '10.0.0.1', policy: 'p' });
    }
    const global = policySet([{ name: 'p', principals: ['local:*'], allow: { ipRanges: ['::/0'] } }], {
      ipRanges: ['10.0.0.0/8'],
    });
    forbidden(() => global.decide(local('a'), ask([ip('::ffff:10.0.0.1')])), 'NAME_DENIED');
    forbidden(() => global.checkBinding('p', [ip('::ffff:a00:1')]), 'NAME_DENIED');
    expect(set.decide(local('a'), ask([ip('::ffff:11.0.0.1')])).names).toEqual([ip('11.0.0.1')]);
  });

  it('an IPv4 address needs an IPv4 allow range: an IPv6 range covering ::ffff:0:0/96 does not allow it', () => {
    const set = policySet([{ name: 'p', principals: ['local:*'], allow: { ipRanges: ['::/0'] } }]);
    for (const spelling of [...spellings('10.0.0.1'), '10.0.0.1']) {
      forbidden(() => set.decide(local('a'), ask([ip(spelling)])), 'NAME_NOT_ALLOWED');
    }
    expect(set.decide(local('a'), ask([ip('2001:db8::1')])).names).toEqual([ip('2001:db8::1')]);
  });

  it('a range written inside ::ffff:0:0/96 is the IPv4 range it maps, to allow and to deny', () => {
    const set = policySet([
      {
        name: 'p',
        principals: ['local:*'],
        allow: { ipRanges: ['::ffff:10.0.0.0/104'] },
        deny: { ipRanges: ['::ffff:a09:0/112'] },
      },
    ]);
    expect(set.decide(local('a'), ask([ip('10.1.2.3'), ip('::ffff:10.1.2.4')])).names).toEqual([
      ip('10.1.2.3'),
      ip('10.1.2.4'),
    ]);
    forbidden(() => set.decide(local('a'), ask([ip('10.9.0.1')])), 'NAME_DENIED');
    forbidden(() => set.decide(local('a'), ask([ip('11.0.0.1')])), 'NAME_NOT_ALLOWED');
  });

  it('an IPv6 deny range containing ::ffff:0:0/96 denies every IPv4 address (failing closed)', () => {
    for (const deny of ['::/0', '::ffff:0:0/96', '::/64', '::fffe:0:0/95']) {
      const set = policySet([
        {
          name: 'p',
          principals: ['local:*'],
          allow: { ipRanges: ['10.0.0.0/8', 'fd00::/8'] },
          deny: { ipRanges: [deny] },
        },
      ]);
      forbidden(() => set.decide(local('a'), ask([ip('10.0.0.1')])), 'NAME_DENIED');
      forbidden(() => set.checkBinding('p', [ip('10.0.0.1')]), 'NAME_DENIED');
    }
    // Other IPv6 ranges, including the IPv4-compatible and NAT64 ranges, are IPv6 only: no verifier maps them.
    for (const deny of ['fd00::/8', '::/96', '64:ff9b::/96', '2002::/16', '::ffff:0:0:0/96']) {
      const set = policySet([
        { name: 'p', principals: ['local:*'], allow: { ipRanges: ['10.0.0.0/8'] }, deny: { ipRanges: [deny] } },
      ]);
      expect(set.decide(local('a'), ask([ip('10.0.0.1')])).names, deny).toEqual([ip('10.0.0.1')]);
    }
  });

  it('binds an enrollment token to the IPv4 form, which every spelling then matches', () => {
    const set = policySet([{ name: 'p', principals: ['local:*'], allow: { ipRanges: ['10.0.0.0/8'] } }]);
    const names = set.checkBinding('p', [ip('::ffff:10.0.0.1')]);
    expect(names.map(nameKey)).toEqual(['ip:10.0.0.1']);
    const binding = { policy: 'p', names: names.map(nameKey) };
    expect(set.decide(enrollment, ask([ip('::ffff:a00:1')], { binding })).names).toEqual([ip('10.0.0.1')]);
  });
});

describe('URI names', () => {
  const set = policySet([
    {
      name: 'p',
      principals: ['local:*'],
      allow: { uris: ['spiffe://a/exact', 'spiffe://a/b/*', 'https://h.example/api/*', 'urn:example:one'] },
    },
  ]);
  const decide = (...names: string[]) => set.decide(local('a'), ask(names.map(uri)));

  it('allows exact URIs and SPIFFE paths below a "/*" prefix, at any depth, as written', () => {
    expect(
      decide(
        'spiffe://a/exact',
        'spiffe://a/b/x',
        'spiffe://a/b/X/y.z_1-2',
        'https://h.example/api/v1',
        'urn:example:one',
      ).names,
    ).toEqual([
      uri('spiffe://a/exact'),
      uri('spiffe://a/b/x'),
      uri('spiffe://a/b/X/y.z_1-2'),
      uri('https://h.example/api/v1'),
      uri('urn:example:one'),
    ]);
  });

  it.each([
    'spiffe://a/exact/x',
    'spiffe://a/Exact',
    'spiffe://a/b',
    'spiffe://a/bc/x',
    'spiffe://a/bx',
    'spiffe://ab/b/x',
    'spiffe://a/c/b/x',
    'spiffe://other/b/x',
    'https://h.example/api/v1?admin=1',
    'https://h.example/api/v1#x',
    'https://h.example/api/../admin',
    'https://h.example/api/./x',
    'https://h.example/api//x',
    'https://h.example/apix',
    'https://h.example/api/a%2Fb',
    'urn:example:one:two',
  ])('refuses %j with NAME_NOT_ALLOWED', (name) => {
    forbidden(() => decide(name), 'NAME_NOT_ALLOWED');
  });

  it.each([
    'spiffe://a/b/',
    'spiffe://a/b//x',
    'spiffe://a/b/../x',
    'spiffe://a/b/x?y',
    'SPIFFE://a/b/x',
    'spiffe://A/b/x',
  ])('refuses the malformed SPIFFE ID %j with 400 NAME_INVALID', (name) => {
    invalid(() => decide(name), 'NAME_INVALID');
  });
});

describe('templates', () => {
  const set = policySet([
    {
      name: 'svc',
      principals: ANYONE,
      allow: {
        dnsNames: ['{principalName}.svc.x', '{userName}.users.x', '{account}.acct.x'],
        dnsSuffixes: ['{roleName}.roles.x'],
        uris: [
          'spiffe://x/ns/{account}/sa/{roleName}',
          'spiffe://x/user/{userName}',
          'spiffe://x/any/{principalName}/*',
          'https://x.example/svc/{roleName}',
        ],
      },
    },
  ]);
  const allowed = (principal: Principal, name: SubjectAltName) => {
    try {
      set.decide(principal, ask([name]));
      return true;
    } catch (error) {
      if (error instanceof AuthorizationError && ['NAME_NOT_ALLOWED', 'NO_MATCHING_POLICY'].includes(error.code)) {
        return false;
      }
      throw error;
    }
  };

  it('offers roleName, account and principalName for an IAM role', () => {
    expect(principalVariables(role('payments-api'))).toEqual({
      account: ACCOUNT,
      roleName: 'payments-api',
      principalName: 'payments-api',
    });
    const p = role('payments-api');
    expect(allowed(p, dns('payments-api.svc.x'))).toBe(true);
    expect(allowed(p, dns('Payments-API.svc.x'))).toBe(true);
    expect(allowed(p, dns('a.b.payments-api.roles.x'))).toBe(true);
    expect(allowed(p, dns(`${ACCOUNT}.acct.x`))).toBe(true);
    expect(allowed(p, uri(`spiffe://x/ns/${ACCOUNT}/sa/payments-api`))).toBe(true);
    expect(allowed(p, uri('spiffe://x/any/payments-api/a/b'))).toBe(true);
    expect(allowed(p, uri('https://x.example/svc/payments-api'))).toBe(true);
    // Not another principal's names, and not the user-only entries.
    expect(allowed(p, dns('orders-api.svc.x'))).toBe(false);
    expect(allowed(p, dns('payments-api.roles.x'))).toBe(false);
    expect(allowed(p, dns('a.orders-api.roles.x'))).toBe(false);
    expect(allowed(p, dns('210987654321.acct.x'))).toBe(false);
    expect(allowed(p, uri(`spiffe://x/ns/${ACCOUNT}/sa/orders-api`))).toBe(false);
    expect(allowed(p, uri('spiffe://x/ns/210987654321/sa/payments-api'))).toBe(false);
    expect(allowed(p, uri('spiffe://x/user/payments-api'))).toBe(false);
    expect(allowed(p, dns('payments-api.users.x'))).toBe(false);
    expect(allowed(p, uri('spiffe://x/any/payments-apix/a'))).toBe(false);
  });

  it('matches an assumed-role session by its role, never by the session name the caller chose', () => {
    const session = iam(`arn:aws:sts::${ACCOUNT}:assumed-role/payments-api/orders-api`);
    expect(session.kind === 'iam' && session.arn).toBe(`arn:aws:iam::${ACCOUNT}:role/payments-api`);
    expect(principalVariables(session)).toEqual({
      account: ACCOUNT,
      roleName: 'payments-api',
      principalName: 'payments-api',
    });
    expect(allowed(session, dns('payments-api.svc.x'))).toBe(true);
    expect(allowed(session, uri(`spiffe://x/ns/${ACCOUNT}/sa/payments-api`))).toBe(true);
    expect(allowed(session, dns('orders-api.svc.x'))).toBe(false);
    expect(allowed(session, uri(`spiffe://x/ns/${ACCOUNT}/sa/orders-api`))).toBe(false);
  });

  it('uses the last component of a role with a path', () => {
    const p = role('team/payments-api');
    expect(principalVariables(p)).toMatchObject({ roleName: 'payments-api', principalName: 'payments-api' });
    expect(allowed(p, dns('payments-api.svc.x'))).toBe(true);
    expect(allowed(p, dns('team.svc.x'))).toBe(false);
  });

  it('offers userName, account and principalName for an IAM user; role entries do not apply', () => {
    const p = user('alice');
    expect(principalVariables(p)).toEqual({ account: ACCOUNT, userName: 'alice', principalName: 'alice' });
    expect(allowed(p, dns('alice.svc.x'))).toBe(true);
    expect(allowed(p, dns('alice.users.x'))).toBe(true);
    expect(allowed(p, uri('spiffe://x/user/alice'))).toBe(true);
    expect(allowed(p, dns(`${ACCOUNT}.acct.x`))).toBe(true);
    expect(allowed(p, dns('x.alice.roles.x'))).toBe(false);
    expect(allowed(p, uri(`spiffe://x/ns/${ACCOUNT}/sa/alice`))).toBe(false);
    expect(allowed(p, uri('https://x.example/svc/alice'))).toBe(false);
    expect(allowed(p, uri('https://x.example/svc/'))).toBe(false);
  });

  it('offers only principalName for a local principal; entries with other variables do not apply', () => {
    const p = local('payments-api');
    expect(principalVariables(p)).toEqual({ principalName: 'payments-api' });
    expect(allowed(p, dns('payments-api.svc.x'))).toBe(true);
    expect(allowed(p, uri('spiffe://x/any/payments-api/z'))).toBe(true);
    expect(allowed(p, dns(`${ACCOUNT}.acct.x`))).toBe(false);
    expect(allowed(p, dns('acct.x'))).toBe(false);
    expect(allowed(p, dns('a.payments-api.roles.x'))).toBe(false);
    expect(allowed(p, dns('a.roles.x'))).toBe(false);
  });

  it('lower-cases a role name in DNS names but keeps it as written in URIs', () => {
    const p = role('PaymentsApi');
    expect(allowed(p, dns('paymentsapi.svc.x'))).toBe(true);
    expect(allowed(p, dns('PAYMENTSAPI.svc.x'))).toBe(true);
    expect(allowed(p, uri(`spiffe://x/ns/${ACCOUNT}/sa/PaymentsApi`))).toBe(true);
    expect(allowed(p, uri(`spiffe://x/ns/${ACCOUNT}/sa/paymentsapi`))).toBe(false);
    expect(set.decide(p, ask([dns('PaymentsApi.svc.x')])).names).toEqual([dns('paymentsapi.svc.x')]);
  });

  /** What the policy lists as allowed to this principal, from the NAME_NOT_ALLOWED message. */
  const offered = (principal: Principal) =>
    forbidden(() => set.decide(principal, ask([dns('unrelated.example')])), 'NAME_NOT_ALLOWED').message;

  it.each([
    ['Payments+API', 'payments+api'],
    ['svc@corp', 'svc@corp'],
    ['under_score', 'under_score'],
    ['-lead', '-lead'],
    ['x'.repeat(64), 'x'.repeat(64)],
  ])('makes DNS entries inapplicable when the role name %j is not a DNS label', (name, lower) => {
    const message = offered(role(name));
    expect(message).not.toContain(lower);
    // The entries that do not use the name still apply.
    expect(message).toContain(`${ACCOUNT}.acct.x`);
    expect(allowed(role(name), dns(`${ACCOUNT}.acct.x`))).toBe(true);
  });

  it('makes DNS entries inapplicable for a role name with a dot, which would otherwise reach into another zone', () => {
    const p = role('a.b');
    expect(offered(p)).not.toContain('a.b.');
    expect(allowed(p, dns('a.b.svc.x'))).toBe(false);
    expect(allowed(p, dns('x.a.b.roles.x'))).toBe(false);
    expect(allowed(role('b'), dns('x.a.b.roles.x'))).toBe(true);
  });

  it.each(['Payments+API', 'svc@corp', 'a,b', 'a=b'])(
    'makes URI entries inapplicable when the role name %j is not a SPIFFE path segment',
    (name) => {
      const p = role(name);
      expect(allowed(p, uri(`https://x.example/svc/${name}`))).toBe(false);
    },
  );

  it.each(['.', '..'])('makes URI entries inapplicable for the role name %j (never a path segment)', (name) => {
    // `..` is a valid IAM role name; rendered into https://x.example/svc/{roleName} it would name the parent path.
    expect(allowed(role(name), uri(`https://x.example/svc/${name}`))).toBe(false);
  });
});

describe('deny rules', () => {
  const allowAll = {
    name: 'allow-all',
    principals: ['local:*'],
    allow: { dnsSuffixes: ['example'], ipRanges: ['10.0.0.0/8'], uris: ['spiffe://example/*'] },
    allowWildcardCertificates: true,
  } satisfies PolicyDocumentInput;

  it("refuses names the policy's own deny rules list, whatever it allows (NAME_DENIED)", () => {
    const set = policySet([
      {
        ...allowAll,
        deny: {
          dnsNames: ['admin.example'],
          dnsSuffixes: ['secret.example'],
          ipRanges: ['10.9.0.0/16'],
          uris: ['spiffe://example/admin', 'spiffe://example/ops/*'],
        },
      },
    ]);
    const decide = (name: SubjectAltName) => set.decide(local('a'), ask([dns('ok.example'), name]));
    for (const name of [
      dns('Admin.example'),
      dns('x.secret.example'),
      dns('a.b.secret.example'),
      ip('10.9.1.1'),
      uri('spiffe://example/admin'),
      uri('spiffe://example/ops/x'),
    ]) {
      const error = forbidden(() => decide(name), 'NAME_DENIED');
      expect(error.details).toMatchObject({ policy: 'allow-all' });
    }
    expect(decide(dns('x.admin.example')).names).toContainEqual(dns('x.admin.example'));
    expect(decide(ip('10.8.1.1')).names).toContainEqual(ip('10.8.1.1'));
    expect(decide(uri('spiffe://example/admins')).names).toContainEqual(uri('spiffe://example/admins'));
  });

  it("refuses names another candidate policy's deny rules list, even when the first policy allows them", () => {
    const set = policySet([
      allowAll,
      { name: 'strict', principals: ['local:a'], allow: {}, deny: { dnsNames: ['admin.example'] } },
      { name: 'unrelated', principals: ['local:b'], allow: {}, deny: { dnsNames: ['other.example'] } },
    ]);
    const error = forbidden(() => set.decide(local('a'), ask([dns('admin.example')])), 'NAME_DENIED');
    expect(error.details).toEqual({ name: 'admin.example', policy: 'strict' });
    // Even when the request names the allowing policy.
    forbidden(() => set.decide(local('a'), ask([dns('admin.example')], { policy: 'allow-all' })), 'NAME_DENIED');
    // A policy that does not apply to the requester denies nothing for them.
    expect(set.decide(local('a'), ask([dns('other.example')])).policy).toBe('allow-all');
    expect(set.decide(local('c'), ask([dns('admin.example')])).policy).toBe('allow-all');
  });

  it("refuses names the configuration's global deny rules list", () => {
    const set = policySet([allowAll], { dnsSuffixes: ['corp.example'], dnsNames: ['root.example'] });
    const error = forbidden(() => set.decide(local('a'), ask([dns('x.corp.example')])), 'NAME_DENIED');
    expect(error.details).toEqual({ name: 'x.corp.example' });
    forbidden(() => set.decide(local('a'), ask([dns('ROOT.example')])), 'NAME_DENIED');
    forbidden(() => set.decide(local('a'), ask([dns('*.corp.example')])), 'NAME_DENIED');
  });

  it('refuses a wildcard that would cover a denied name', () => {
    const set = policySet([
      { ...allowAll, deny: { dnsNames: ['admin.svc.example'], dnsSuffixes: ['secret.example'] } },
    ]);
    const decide = (name: string) => set.decide(local('a'), ask([dns(name)]));
    forbidden(() => decide('*.svc.example'), 'NAME_DENIED');
    forbidden(() => decide('*.secret.example'), 'NAME_DENIED');
    forbidden(() => decide('*.x.secret.example'), 'NAME_DENIED');
    expect(decide('*.other.example').names).toEqual([dns('*.other.example')]);
    expect(decide('*.x.svc.example').names).toEqual([dns('*.x.svc.example')]);
    const global = policySet([allowAll], { dnsNames: ['admin.svc.example'] });
    forbidden(() => global.decide(local('a'), ask([dns('*.svc.example')])), 'NAME_DENIED');
  });

  describe('a wildcard is refused when any deny rule refuses a name it covers', () => {
    const wide = {
      name: 'wide',
      principals: ['local:*'],
      allow: { dnsSuffixes: ['example.internal'] },
      allowWildcardCertificates: true,
    } satisfies PolicyDocumentInput;
    /** The same answer from issuance and from enrollment-token creation, which share the deny rules. */
    function bothRefuse(set: PolicySet, name: string): void {
      const issued = forbidden(() => set.decide(local('a'), ask([dns(name)])), 'NAME_DENIED');
      expect(issued.details).toMatchObject({ name });
      forbidden(() => set.checkBinding('wide', [dns(name)]), 'NAME_DENIED');
    }
    function bothAllow(set: PolicySet, name: string): void {
      expect(set.decide(local('a'), ask([dns(name)])).names).toEqual([dns(name)]);
      expect(set.checkBinding('wide', [dns(name)]).map(nameKey)).toEqual([`dns:${name}`]);
    }

    it('a denied zone whose apex is one label below the wildcard (the shipped global deny)', () => {
      // *.example.internal covers corp.example.internal, which `openssl verify -verify_hostname` accepts for it.
      const global = policySet([wide], { dnsSuffixes: ['corp.example.internal'] });
      bothRefuse(global, '*.example.internal');
      bothRefuse(global, '*.corp.example.internal');
      bothRefuse(global, '*.a.corp.example.internal');
      bothAllow(global, '*.web.example.internal');
      const own = policySet([{ ...wide, deny: { dnsSuffixes: ['corp.example.internal'] } }]);
      bothRefuse(own, '*.example.internal');
      bothAllow(own, '*.web.example.internal');
      // A zone two labels below covers no name *.example.internal covers (a wildcard spans one label only).
      bothAllow(policySet([wide], { dnsSuffixes: ['a.corp.example.internal'] }), '*.example.internal');
    });

    it('a denied wildcard *.W denies that wildcard and, failing closed, every name one label below W', () => {
      for (const set of [
        policySet([wide], { dnsNames: ['*.blocked.example.internal'] }),
        policySet([{ ...wide, deny: { dnsNames: ['*.blocked.example.internal'] } }]),
      ]) {
        bothRefuse(set, '*.blocked.example.internal');
        bothRefuse(set, 'a.blocked.example.internal');
        forbidden(() => set.decide(local('a'), ask([dns('A.Blocked.example.internal')])), 'NAME_DENIED');
        // Not what *.W does not cover: W itself, names two labels below, wildcards below.
        bothAllow(set, 'blocked.example.internal');
        bothAllow(set, 'x.a.blocked.example.internal');
        bothAllow(set, '*.a.blocked.example.internal');
        bothAllow(set, 'a.blocked2.example.internal');
      }
    });

    it('a denied exact name refuses the wildcard of its parent only', () => {
      const set = policySet([wide], { dnsNames: ['admin.svc.example.internal', 'localhost'] });
      bothRefuse(set, '*.svc.example.internal');
      bothAllow(set, '*.example.internal');
      bothAllow(set, '*.admin.svc.example.internal');
    });
  });

  it('a denied URI prefix denies its apex, and any URI that starts with it, SPIFFE-shaped or not', () => {
    const set = policySet([
      {
        name: 'uris',
        principals: ['local:*'],
        allow: {
          uris: [
            'spiffe://example.internal/*',
            'https://x.example/*',
            'https://x.example/ns/prod',
            'https://x.example/ns/prod/',
            'https://x.example/ns/prod/a%20b',
            'https://x.example/ns/prod/a?admin=1',
          ],
        },
        deny: { uris: ['spiffe://example.internal/ns/prod/*', 'https://x.example/ns/prod/*'] },
      },
    ]);
    const decide = (value: string) => set.decide(local('a'), ask([uri(value)]));
    for (const value of [
      'spiffe://example.internal/ns/prod',
      'spiffe://example.internal/ns/prod/sa/api',
      'https://x.example/ns/prod',
      'https://x.example/ns/prod/',
      'https://x.example/ns/prod/a%20b',
      'https://x.example/ns/prod/a?admin=1',
    ]) {
      const error = forbidden(() => decide(value), 'NAME_DENIED');
      expect(error.details).toEqual({ name: value, policy: 'uris' });
    }
    forbidden(() => set.checkBinding('uris', [uri('spiffe://example.internal/ns/prod')]), 'NAME_DENIED');
    forbidden(() => set.checkBinding('uris', [uri('https://x.example/ns/prod/a%20b')]), 'NAME_DENIED');
    for (const value of [
      'spiffe://example.internal/ns/production',
      'spiffe://example.internal/ns/pro',
      'spiffe://example.internal/ns/dev/sa/api',
      'https://x.example/ns/prodx',
    ]) {
      expect(decide(value).names).toEqual([uri(value)]);
    }
  });

  it('renders templated deny rules per requester', () => {
    const set = policySet([{ ...allowAll, deny: { dnsNames: ['{principalName}-admin.example'] } }]);
    forbidden(() => set.decide(local('bob'), ask([dns('bob-admin.example')])), 'NAME_DENIED');
    expect(set.decide(local('bob'), ask([dns('alice-admin.example')])).policy).toBe('allow-all');
  });

  it('never ignores a templated global deny rule: it is refused by the schema, or denies the rendered name', () => {
    const parsed = mimConfigSchema.safeParse({
      version: 1,
      roles: {},
      deny: { dnsNames: ['{principalName}.blocked.example'] },
      policies: [allowAll],
    });
    if (!parsed.success) return;
    const set = new PolicySet(parsed.data.policies, parsed.data.deny);
    forbidden(() => set.decide(local('bob'), ask([dns('bob.blocked.example')])), 'NAME_DENIED');
  });

  it('checks deny rules before the binding and before any allow rule', () => {
    const set = policySet([{ ...allowAll, deny: { dnsNames: ['admin.example'] } }]);
    forbidden(
      () =>
        set.decide(
          enrollment,
          ask([dns('admin.example')], { binding: { policy: 'allow-all', names: ['dns:admin.example'] } }),
        ),
      'NAME_DENIED',
    );
  });
});

describe('choosing the policy', () => {
  const set = policySet([
    { name: 'first', principals: ['local:a', 'local:b'], allow: { dnsSuffixes: ['one.example'] }, tags: { n: '1' } },
    { name: 'second', principals: ['local:a'], allow: { dnsSuffixes: ['example'] }, tags: { n: '2' } },
    { name: 'third', principals: ['local:c'], allow: { dnsSuffixes: ['example'] } },
  ]);

  it('uses the first policy, in order, that allows the whole request', () => {
    expect(set.names).toEqual(['first', 'second', 'third']);
    expect(set.decide(local('a'), ask([dns('x.one.example')])).policy).toBe('first');
    expect(set.decide(local('a'), ask([dns('x.two.example')])).policy).toBe('second');
    expect(set.decide(local('a'), ask([dns('x.one.example'), dns('x.two.example')])).policy).toBe('second');
    expect(set.decide(local('a'), ask([dns('x.one.example')])).tags).toEqual({ n: '1' });
  });

  it('uses the named policy when the requester is among its principals', () => {
    const decision = set.decide(local('a'), ask([dns('x.one.example')], { policy: 'second' }));
    expect(decision.policy).toBe('second');
    expect(decision.tags).toEqual({ n: '2' });
    // The named policy's own refusal is the answer.
    const error = forbidden(
      () => set.decide(local('a'), ask([dns('x.two.example')], { policy: 'first' })),
      'NAME_NOT_ALLOWED',
    );
    expect(error.details).toEqual({ name: 'x.two.example', policy: 'first' });
  });

  it('refuses a requester no policy applies to with 403 NO_MATCHING_POLICY', () => {
    const error = forbidden(() => set.decide(local('nobody'), ask([dns('x.example')])), 'NO_MATCHING_POLICY');
    expect(error.message).toContain('local:nobody');
    forbidden(() => set.decide(role('payments'), ask([dns('x.example')])), 'NO_MATCHING_POLICY');
    forbidden(() => set.decide(enrollment, ask([dns('x.example')])), 'NO_MATCHING_POLICY');
    forbidden(() => new PolicySet([]).decide(local('a'), ask([dns('x.example')])), 'NO_MATCHING_POLICY');
  });

  it('refuses a named policy the requester is not among the principals of with 403 POLICY_NOT_PERMITTED', () => {
    const error = forbidden(
      () => set.decide(local('a'), ask([dns('x.example')], { policy: 'third' })),
      'POLICY_NOT_PERMITTED',
    );
    expect(error.details).toEqual({ policy: 'third' });
    forbidden(() => set.decide(local('nobody'), ask([dns('x.example')], { policy: 'third' })), 'POLICY_NOT_PERMITTED');
  });

  it('answers an unknown named policy exactly as one the requester may not use, so no workload learns which exist', () => {
    for (const who of [local('a'), local('nobody')]) {
      const unknown = forbidden(
        () => set.decide(who, ask([dns('x.example')], { policy: 'nope' })),
        'POLICY_NOT_PERMITTED',
      );
      const existing = forbidden(
        () => set.decide(who, ask([dns('x.example')], { policy: 'third' })),
        'POLICY_NOT_PERMITTED',
      );
      expect(unknown.details).toEqual({ policy: 'nope' });
      expect(existing.details).toEqual({ policy: 'third' });
      expect(unknown.constructor).toBe(existing.constructor);
      expect(unknown.message.replace('"nope"', '"<policy>"')).toBe(existing.message.replace('"third"', '"<policy>"'));
      expect(unknown.message).toBe(
        `Policy "nope" is not one you may use: it does not exist or does not list ${who.id} among its principals.`,
      );
    }
  });

  it('answers NO_POLICY_ALLOWS with each candidate’s reason when the candidates refuse for different reasons', () => {
    const mixed = policySet([
      { name: 'ec-only', principals: ['local:a'], allow: { dnsSuffixes: ['example'] }, keyTypes: ['EC_P256'] },
      { name: 'elsewhere', principals: ['local:a'], allow: { dnsSuffixes: ['other'] } },
    ]);
    const error = forbidden(
      () => mixed.decide(local('a'), ask([dns('x.example')], { key: { algorithm: 'RSA', keySize: 2048 } })),
      'NO_POLICY_ALLOWS',
    );
    expect(error.details).toEqual({
      reasons: [
        { policy: 'ec-only', code: 'KEY_NOT_ALLOWED', message: expect.stringContaining('EC_P256') },
        { policy: 'elsewhere', code: 'NAME_NOT_ALLOWED', message: expect.stringContaining('x.example') },
      ],
    });
  });

  it('answers with the common code, and each reason, when every candidate refuses for the same reason', () => {
    const error = forbidden(() => set.decide(local('a'), ask([dns('x.other')])), 'NAME_NOT_ALLOWED');
    expect(error.details).toEqual({
      reasons: [
        { policy: 'first', code: 'NAME_NOT_ALLOWED', message: expect.any(String) },
        { policy: 'second', code: 'NAME_NOT_ALLOWED', message: expect.any(String) },
      ],
    });
  });

  it("answers a single candidate's refusal as it is", () => {
    const error = forbidden(() => set.decide(local('b'), ask([dns('x.two.example')])), 'NAME_NOT_ALLOWED');
    expect(error.details).toEqual({ name: 'x.two.example', policy: 'first' });
  });
});

describe('keys, validity and extended key usages', () => {
  const set = policySet([
    {
      name: 'p',
      principals: ['local:*'],
      allow: { dnsSuffixes: ['example'] },
      keyTypes: ['EC_P256', 'RSA'],
      minRsaBits: 3072,
      validity: { default: '12h', max: '7d' },
      extendedKeyUsages: ['serverAuth', 'clientAuth'],
    },
  ]);
  const decide = (extra: Partial<IssuanceAsk>) => set.decide(local('a'), ask([dns('x.example')], extra));

  it('accepts the listed key types, and RSA keys of at least minRsaBits', () => {
    expect(decide({ key: { algorithm: 'EC_P256', keySize: 256 } }).policy).toBe('p');
    expect(decide({ key: { algorithm: 'RSA', keySize: 3072 } }).policy).toBe('p');
    expect(decide({ key: { algorithm: 'RSA', keySize: 4096 } }).policy).toBe('p');
    forbidden(() => decide({ key: { algorithm: 'RSA', keySize: 2048 } }), 'KEY_NOT_ALLOWED');
    forbidden(() => decide({ key: { algorithm: 'EC_P384', keySize: 384 } }), 'KEY_NOT_ALLOWED');
    forbidden(() => decide({ key: { algorithm: 'ED25519', keySize: 256 } }), 'KEY_NOT_ALLOWED');
  });

  it('accepts any key type by default, RSA from 2048 bits', () => {
    const open = policySet([{ name: 'p', principals: ['local:*'], allow: { dnsSuffixes: ['example'] } }]);
    for (const key of [
      { algorithm: 'EC_P256', keySize: 256 },
      { algorithm: 'EC_P384', keySize: 384 },
      { algorithm: 'ED25519', keySize: 256 },
      { algorithm: 'RSA', keySize: 2048 },
    ] as const) {
      expect(open.decide(local('a'), ask([dns('x.example')], { key })).policy).toBe('p');
    }
    forbidden(
      () => open.decide(local('a'), ask([dns('x.example')], { key: { algorithm: 'RSA', keySize: 1024 } })),
      'KEY_NOT_ALLOWED',
    );
  });

  it("uses the policy's default validity, or the requested one up to the maximum", () => {
    expect(decide({}).validitySeconds).toBe(12 * 3600);
    expect(decide({ validity: '90m' }).validitySeconds).toBe(5400);
    expect(decide({ validity: '7d' }).validitySeconds).toBe(7 * 86_400);
    expect(decide({ validity: '168h' }).validitySeconds).toBe(7 * 86_400);
  });

  it('refuses a validity above the maximum with 403 VALIDITY_TOO_LONG', () => {
    const error = forbidden(() => decide({ validity: '8d' }), 'VALIDITY_TOO_LONG');
    expect(error.details).toEqual({ policy: 'p', maxValiditySeconds: 7 * 86_400 });
    expect(error.message).toContain('7d');
    forbidden(() => decide({ validity: `${7 * 86_400 + 1}s` }), 'VALIDITY_TOO_LONG');
  });

  it.each(['', '0h', '-1h', '24', '1w', '1.5h', '24 h', ' 24h', '1234567890123s'])(
    'refuses the malformed validity %j with 400 VALIDITY_INVALID',
    (validity) => {
      invalid(() => decide({ validity }), 'VALIDITY_INVALID');
    },
  );

  it("grants the policy's extended key usages by default, or the requested subset", () => {
    expect(decide({}).extendedKeyUsages).toEqual(['serverAuth', 'clientAuth']);
    expect(decide({ extendedKeyUsages: ['clientAuth'] }).extendedKeyUsages).toEqual(['clientAuth']);
    expect(decide({ extendedKeyUsages: ['clientAuth', 'clientAuth'] }).extendedKeyUsages).toEqual(['clientAuth']);
    const serverOnly = policySet([{ name: 'p', principals: ['local:*'], allow: { dnsSuffixes: ['example'] } }]);
    expect(serverOnly.decide(local('a'), ask([dns('x.example')])).extendedKeyUsages).toEqual(['serverAuth']);
    forbidden(
      () => serverOnly.decide(local('a'), ask([dns('x.example')], { extendedKeyUsages: ['serverAuth', 'clientAuth'] })),
      'EKU_NOT_ALLOWED',
    );
  });
});

describe('subject CN and subjectAltNames', () => {
  const set = policySet([{ name: 'p', principals: ['local:*'], allow: { dnsSuffixes: ['example'] } }]);

  it('refuses a CN that is not one of the DNS subjectAltNames with 400 CSR_CN_NOT_IN_SAN', () => {
    invalid(() => set.decide(local('a'), ask([dns('a.example')], { commonNames: ['b.example'] })), 'CSR_CN_NOT_IN_SAN');
    invalid(
      () => set.decide(local('a'), ask([uri('spiffe://example/a')], { commonNames: ['a.example'] })),
      'CSR_CN_NOT_IN_SAN',
    );
  });

  it('accepts a CN that is a DNS subjectAltName in any case', () => {
    const decision = set.decide(local('a'), ask([dns('a.example'), dns('B.example')], { commonNames: ['b.EXAMPLE'] }));
    expect(decision.names).toEqual([dns('a.example'), dns('b.example')]);
  });

  it('promotes the CN of a CSR without subjectAltNames to a DNS name, checked like any other', () => {
    expect(set.decide(local('a'), ask([], { commonNames: ['API.example'] })).names).toEqual([dns('api.example')]);
    forbidden(() => set.decide(local('a'), ask([], { commonNames: ['api.other'] })), 'NAME_NOT_ALLOWED');
    invalid(() => set.decide(local('a'), ask([], { commonNames: ['My Service'] })), 'NAME_INVALID');
    invalid(() => set.decide(local('a'), ask([], { commonNames: [] })), 'CSR_NO_NAMES');
  });
});

describe('enrollment-token bindings', () => {
  const set = policySet(
    [
      {
        name: 'devices',
        principals: ['local:admin'],
        allow: { dnsSuffixes: ['devices.example'], dnsNames: ['{principalName}.svc.example'] },
        keyTypes: ['EC_P256'],
        extendedKeyUsages: ['clientAuth'],
        subject: { organizationalUnit: '{principalName}', organization: 'Example' },
        tags: { owner: 'facilities', who: '{principalName}' },
      },
      { name: 'other', principals: ['local:admin'], allow: { dnsSuffixes: ['example'] } },
    ],
    { dnsNames: ['blocked.devices.example'] },
  );
  const binding = { policy: 'devices', names: ['dns:door-1.devices.example', 'dns:door-2.devices.example'] };
  const decide = (names: SubjectAltName[], extra: Partial<IssuanceAsk> = {}) =>
    set.decide(enrollment, ask(names, { binding, ...extra }));

  it('issues the bound names (or some of them) under the bound policy, without principal patterns', () => {
    const decision = decide([dns('Door-1.devices.example'), dns('door-2.devices.example')]);
    expect(decision.policy).toBe('devices');
    expect(decision.names).toEqual([dns('door-1.devices.example'), dns('door-2.devices.example')]);
    expect(decision.extendedKeyUsages).toEqual(['clientAuth']);
    expect(decision.organization).toBe('Example');
    expect(decision.organizationalUnit).toBeUndefined();
    expect(decision.tags).toEqual({ owner: 'facilities' });
    expect(decide([dns('door-2.devices.example')]).names).toEqual([dns('door-2.devices.example')]);
    expect(decide([dns('door-1.devices.example')], { policy: 'devices' }).policy).toBe('devices');
  });

  it('refuses names outside the binding even when the policy would allow them', () => {
    const error = forbidden(
      () => decide([dns('door-1.devices.example'), dns('door-3.devices.example')]),
      'NAME_NOT_ALLOWED',
    );
    expect(error.details).toEqual({ name: 'door-3.devices.example' });
  });

  it('refuses another policy than the bound one', () => {
    forbidden(() => decide([dns('door-1.devices.example')], { policy: 'other' }), 'POLICY_NOT_PERMITTED');
  });

  it('still applies the policy: allow rules (no requester variables), key types and deny rules', () => {
    const loose = {
      policy: 'devices',
      names: ['dns:door-1.other.example', 'dns:blocked.devices.example', 'dns:x.svc.example'],
    };
    forbidden(() => set.decide(enrollment, ask([dns('door-1.other.example')], { binding: loose })), 'NAME_NOT_ALLOWED');
    forbidden(() => set.decide(enrollment, ask([dns('blocked.devices.example')], { binding: loose })), 'NAME_DENIED');
    forbidden(() => set.decide(enrollment, ask([dns('x.svc.example')], { binding: loose })), 'NAME_NOT_ALLOWED');
    forbidden(
      () => decide([dns('door-1.devices.example')], { key: { algorithm: 'RSA', keySize: 4096 } }),
      'KEY_NOT_ALLOWED',
    );
  });

  it('refuses a binding to a policy that no longer exists with POLICY_UNKNOWN', () => {
    const error = refusal(() =>
      set.decide(enrollment, ask([dns('a.example')], { binding: { policy: 'gone', names: ['dns:a.example'] } })),
    );
    expect({ code: error.code, status: error.status }).toEqual({ code: 'POLICY_UNKNOWN', status: 400 });
  });
});

describe('checkBinding', () => {
  const set = policySet(
    [
      {
        name: 'devices',
        principals: ['local:admin'],
        allow: {
          dnsSuffixes: ['devices.example'],
          dnsNames: ['{principalName}.svc.example'],
          ipRanges: ['10.0.0.0/8'],
        },
        deny: { dnsNames: ['denied.devices.example'] },
      },
    ],
    { dnsSuffixes: ['corp.devices.example'] },
  );

  it('returns the normalized names, whose keys make the binding', () => {
    const names = set.checkBinding('devices', [
      dns('Door-1.Devices.Example'),
      ip('10.0.0.1'),
      dns('door-1.devices.example'),
    ]);
    expect(names.map(nameKey)).toEqual(['dns:door-1.devices.example', 'ip:10.0.0.1']);
    expect(nameKey({ type: 'uri', value: 'spiffe://x/y' })).toBe('uri:spiffe://x/y');
  });

  it("refuses names the policy does not allow, its deny rules or the configuration's deny rules", () => {
    forbidden(() => set.checkBinding('devices', [dns('door.other.example')]), 'NAME_NOT_ALLOWED');
    forbidden(() => set.checkBinding('devices', [dns('admin.svc.example')]), 'NAME_NOT_ALLOWED');
    forbidden(() => set.checkBinding('devices', [dns('*.sub.devices.example')]), 'WILDCARD_NOT_ALLOWED');
    // A wildcard that would cover a denied name is denied.
    forbidden(() => set.checkBinding('devices', [dns('*.devices.example')]), 'NAME_DENIED');
    forbidden(() => set.checkBinding('devices', [dns('denied.devices.example')]), 'NAME_DENIED');
    forbidden(() => set.checkBinding('devices', [dns('x.corp.devices.example')]), 'NAME_DENIED');
  });

  it('refuses unknown policies (400 POLICY_UNKNOWN) and invalid names (400 NAME_INVALID)', () => {
    invalid(() => set.checkBinding('nope', [dns('a.devices.example')]), 'POLICY_UNKNOWN');
    invalid(() => set.checkBinding('devices', [dns('a..devices.example')]), 'NAME_INVALID');
    invalid(() => set.checkBinding('devices', []), 'CSR_NO_NAMES');
  });
});

describe('what the decision stamps on the certificate', () => {
  const set = policySet([
    {
      name: 'svc',
      principals: ANYONE,
      allow: { dnsNames: ['{principalName}.svc.x'], dnsSuffixes: ['shared.x'] },
      subject: { organization: 'Example Corp', organizationalUnit: 'team {account}/{principalName}' },
      tags: { owner: '{principalName}', account: '{account}', purpose: 'service mTLS' },
      renewBefore: '8h',
    },
    {
      name: 'plain',
      principals: ANYONE,
      allow: { dnsSuffixes: ['plain.x'] },
      subject: { commonName: 'none' },
    },
  ]);

  it('renders subject O/OU and tags with the requester variables, keeping their case', () => {
    const decision = set.decide(role('PaymentsApi'), ask([dns('paymentsapi.svc.x')]));
    expect(decision).toEqual({
      policy: 'svc',
      names: [dns('paymentsapi.svc.x')],
      validitySeconds: 86_400,
      extendedKeyUsages: ['serverAuth'],
      withCommonName: true,
      organization: 'Example Corp',
      organizationalUnit: `team ${ACCOUNT}/PaymentsApi`,
      renewBeforeSeconds: 8 * 3600,
      tags: { owner: 'PaymentsApi', account: ACCOUNT, purpose: 'service mTLS' },
    });
  });

  it('leaves out a subject field or tag whose variable the requester lacks', () => {
    const decision = set.decide(local('web'), ask([dns('a.shared.x')]));
    expect(decision.organizationalUnit).toBeUndefined();
    expect(decision.organization).toBe('Example Corp');
    expect(decision.tags).toEqual({ owner: 'web', purpose: 'service mTLS' });
  });

  it('has no CN with commonName "none", no O/OU by default, and the default renewal window', () => {
    const decision = set.decide(local('web'), ask([dns('a.plain.x')]));
    expect(decision.withCommonName).toBe(false);
    expect(decision.organization).toBeUndefined();
    expect(decision.organizationalUnit).toBeUndefined();
    expect(decision.renewBeforeSeconds).toBeUndefined();
    expect(decision.tags).toEqual({});
  });
});

describe('the shipped mim.config.json', () => {
  const config = parseMimConfig(JSON.parse(readFileSync(new URL('../../mim.config.json', import.meta.url), 'utf8')));
  const set = new PolicySet(config.policies, config.deny);

  it('gives each workload its own service name and SPIFFE ID', () => {
    const decision = set.decide(
      local('payments-api'),
      ask([dns('payments-api.svc.example.internal'), uri('spiffe://example.internal/local/payments-api')]),
    );
    expect(decision.policy).toBe('service-by-role');
    expect(decision.tags).toEqual({ owner: 'payments-api', purpose: 'service mTLS' });
    expect(decision.organizationalUnit).toBe('payments-api');
    expect(decision.renewBeforeSeconds).toBe(8 * 3600);
    forbidden(
      () => set.decide(local('payments-api'), ask([dns('orders-api.svc.example.internal')])),
      'NAME_NOT_ALLOWED',
    );
    const session = iam(`arn:aws:sts::${ACCOUNT}:assumed-role/orders-api/i-0123`);
    expect(set.decide(session, ask([uri(`spiffe://example.internal/ns/${ACCOUNT}/sa/orders-api`)])).policy).toBe(
      'service-by-role',
    );
  });

  it('lets the local admin use local-dev, but never admin.svc.example.internal or corp.example.internal names', () => {
    expect(set.decide(local('admin'), ask([dns('api.local.test'), ip('127.0.0.1')])).policy).toBe('local-dev');
    forbidden(() => set.decide(local('admin'), ask([dns('admin.svc.example.internal')])), 'NAME_DENIED');
    forbidden(() => set.decide(local('admin'), ask([dns('x.corp.example.internal')])), 'NAME_DENIED');
    forbidden(
      () =>
        set.decide(
          local('admin'),
          ask([dns('door.devices.example.internal')], { key: { algorithm: 'RSA', keySize: 2048 } }),
        ),
      'NO_POLICY_ALLOWS',
    );
  });
});

describe('failing closed', () => {
  const set = policySet(
    [
      {
        name: 'p',
        principals: ['local:*'],
        allow: { dnsSuffixes: ['x.test'] },
        deny: { dnsSuffixes: ['corp.x.test'] },
      },
    ],
    { dnsSuffixes: ['prod.x.test'] },
  );

  it('a denied zone is denied with its apex, in a policy and in the configuration', () => {
    for (const name of ['corp.x.test', 'a.corp.x.test', 'prod.x.test', 'a.prod.x.test']) {
      expect(() => set.decide(local('bob'), ask([dns(name)])), name).toThrow(
        expect.objectContaining({ code: 'NAME_DENIED', status: 403 }),
      );
    }
    expect(set.decide(local('bob'), ask([dns('corpx.x.test')])).policy).toBe('p');
  });

  it('refuses labels reserved for IDNA ("??--") unless they are A-labels', () => {
    expect(() => set.decide(local('bob'), ask([dns('ab--cd.x.test')]))).toThrow(
      expect.objectContaining({ code: 'NAME_INVALID', status: 400 }),
    );
  });

  it('shares no mutable tags between decisions', () => {
    const tagged = policySet([
      { name: 't', principals: ['local:*'], allow: { dnsSuffixes: ['x.test'] }, tags: { owner: '{principalName}' } },
    ]);
    const first = tagged.decide(local('bob'), ask([dns('a.x.test')]));
    expect(Object.isFrozen(first.tags)).toBe(true);
    expect(tagged.decide(local('bob'), ask([dns('b.x.test')])).tags).toEqual({ owner: 'bob' });
  });
});

describe('principal patterns an admin may write (issue #8)', () => {
  /** With backtracking regular expressions these took 24–45 s and 0.1–0.5 s per evaluation; results only here. */
  const stars = 'local:*a*a*a*a*a*a*a*a*a*a*b';
  const roleStars = `arn:aws:iam::${ACCOUNT}:role/*?*?*?*?*?*?*?*?*?*?*z`;

  it('decide the same as ever, whatever their shape', () => {
    const set = policySet([
      { name: 'stars', principals: [stars, roleStars], allow: { dnsSuffixes: ['stars.test'] } },
      { name: 'plain', principals: ANYONE, allow: { dnsSuffixes: ['plain.test'] } },
    ]);
    const longLocal = local('a'.repeat(40));
    const realisticRole = role('payments-api-production-eu-west-1');
    for (const principal of [longLocal, realisticRole]) {
      forbidden(() => set.decide(principal, ask([dns('x.stars.test')], { policy: 'stars' })), 'POLICY_NOT_PERMITTED');
      expect(set.decide(principal, ask([dns('x.plain.test')])).policy).toBe('plain');
    }
    expect(set.decide(local(`${'a'.repeat(40)}b`), ask([dns('x.stars.test')])).policy).toBe('stars');
    expect(set.decide(role('payments-api-production-eu-west-1z'), ask([dns('x.stars.test')])).policy).toBe('stars');
  });
});
