import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rateMilliseconds, tlsAllowedRanges } from '#lib/domain/discovery-config.ts';
import {
  formatIssues,
  type MimConfigInput,
  mimConfigSchema,
  type PolicyDocumentInput,
  parseMimConfig,
  policyDocumentSchema,
} from '#lib/domain/policy.ts';

const shipped: unknown = JSON.parse(readFileSync(new URL('../../mim.config.json', import.meta.url), 'utf8'));

const minimalPolicy = (extra: Partial<PolicyDocumentInput> = {}): PolicyDocumentInput => ({
  name: 'p',
  principals: ['local:*'],
  allow: { dnsSuffixes: ['example.internal'] },
  ...extra,
});

const config = (policies: unknown[], extra: Record<string, unknown> = {}): unknown => ({
  version: 1,
  roles: {},
  policies,
  ...extra,
});

/** The lines of the error parseMimConfig throws. */
function problems(input: unknown): string[] {
  try {
    parseMimConfig(input, 'test config');
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    const [head, ...lines] = (error as Error).message.split('\n');
    expect(head).toBe('Invalid test config:');
    return lines.map((l) => l.trim());
  }
  throw new Error('expected the configuration to be refused');
}

describe('the shipped mim.config.json', () => {
  it('parses, with defaults applied', () => {
    const parsed = parseMimConfig(shipped, 'mim.config.json');
    expect(parsed.policies.map((p) => p.name)).toEqual(['local-dev', 'service-by-role', 'devices']);
    expect(parsed.roles.admin).toContain('local:admin');
    expect(parsed.enrollmentTokens).toEqual({ defaultTtl: '1h', maxTtl: '24h' });
    expect(parsed.localPrincipals).toEqual(['admin', 'operator', 'auditor', 'payments-api', 'orders-api']);
    expect(parsed.deny).toEqual({ dnsNames: [], dnsSuffixes: ['corp.example.internal'], ipRanges: [], uris: [] });
    const [localDev, byRole, devices] = parsed.policies;
    expect(localDev?.keyTypes).toEqual(['EC_P256', 'EC_P384', 'RSA', 'ED25519']);
    expect(localDev?.minRsaBits).toBe(2048);
    expect(localDev?.allowWildcardCertificates).toBe(false);
    expect(localDev?.subject).toEqual({ commonName: 'first-dns-name' });
    expect(localDev?.renewBefore).toBeUndefined();
    expect(byRole?.allow.ipRanges).toEqual([]);
    expect(byRole?.allow.dnsSuffixes).toEqual([]);
    expect(byRole?.subject).toEqual({
      commonName: 'first-dns-name',
      organization: 'Example Corp',
      organizationalUnit: '{principalName}',
    });
    expect(devices?.minRsaBits).toBe(3072);
    expect(devices?.extendedKeyUsages).toEqual(['clientAuth']);
  });

  it('is also accepted by the schema directly', () => {
    expect(mimConfigSchema.safeParse(shipped).success).toBe(true);
  });
});

describe('defaults', () => {
  it('fills in roles, policies, enrollment token TTLs and local principals', () => {
    const parsed = parseMimConfig({ version: 1, roles: {} });
    expect(parsed.roles).toEqual({ admin: [], operator: [], auditor: [], workload: [] });
    expect(parsed.policies).toEqual([]);
    expect(parsed.deny).toBeUndefined();
    expect(parsed.enrollmentTokens).toEqual({ defaultTtl: '1h', maxTtl: '24h' });
    expect(parsed.localPrincipals).toEqual(['admin']);
  });

  it('fills in every optional policy field', () => {
    expect(policyDocumentSchema.parse(minimalPolicy())).toEqual({
      name: 'p',
      principals: ['local:*'],
      allow: { dnsNames: [], dnsSuffixes: ['example.internal'], ipRanges: [], uris: [] },
      allowWildcardCertificates: false,
      keyTypes: ['EC_P256', 'EC_P384', 'RSA', 'ED25519'],
      minRsaBits: 2048,
      validity: { default: '24h', max: '30d' },
      extendedKeyUsages: ['serverAuth'],
      subject: { commonName: 'first-dns-name' },
      tags: {},
    });
  });

  it('fills in a half-given validity', () => {
    expect(policyDocumentSchema.parse(minimalPolicy({ validity: { max: '90d' } })).validity).toEqual({
      default: '24h',
      max: '90d',
    });
    expect(policyDocumentSchema.parse(minimalPolicy({ validity: { default: '1h' } })).validity).toEqual({
      default: '1h',
      max: '30d',
    });
  });

  it('accepts templates, wildcards, CIDR ranges and URI prefixes', () => {
    const parsed = parseMimConfig(
      config([
        minimalPolicy({
          principals: ['arn:aws:iam::123456789012:role/payments-*', 'arn:aws:iam::*:user/ci-?', 'local:web'],
          allow: {
            dnsNames: ['{roleName}.svc.example.internal', '*.api.example.internal', 'xn--bcher-kva.example'],
            dnsSuffixes: ['{account}.accounts.example.internal'],
            ipRanges: ['10.0.0.0/8', 'fd00::/8', '192.0.2.7/32'],
            uris: ['spiffe://example.internal/ns/{account}/sa/{roleName}', 'spiffe://example.internal/x/*'],
          },
          allowWildcardCertificates: true,
          validity: { default: '1h', max: '398d' },
          renewBefore: '20m',
          tags: { owner: '{principalName}', 'cost.center:id': 'A-1' },
        }),
      ]),
    );
    expect(parsed.policies[0]?.allow.ipRanges).toHaveLength(3);
  });
});

describe('errors name the field they are in', () => {
  it.each<[string, unknown, string]>([
    [
      'an upper-case DNS name',
      config([minimalPolicy(), minimalPolicy({ name: 'q', allow: { dnsNames: ['API.example.internal'] } })]),
      'policies[1].allow.dnsNames[0]: must be a DNS name',
    ],
    [
      'an upper-case DNS zone',
      config([minimalPolicy({ allow: { dnsSuffixes: ['ok.example', 'Example.internal'] } })]),
      'policies[0].allow.dnsSuffixes[1]: must be a DNS zone',
    ],
    [
      'a wildcard zone',
      config([minimalPolicy({ allow: { dnsSuffixes: ['*.example.internal'] } })]),
      'policies[0].allow.dnsSuffixes[0]: must be a DNS zone',
    ],
    [
      'an invalid DNS name',
      config([minimalPolicy({ allow: { dnsNames: ['a..example'] } })]),
      'policies[0].allow.dnsNames[0]: must be a DNS name',
    ],
    [
      'an unknown template variable',
      config([minimalPolicy({ allow: { dnsNames: ['{sessionName}.svc.example'] } })]),
      'policies[0].allow.dnsNames[0]: unknown template variable {sessionName}',
    ],
    [
      'an unknown template variable in a URI',
      config([minimalPolicy({ allow: { uris: ['spiffe://example/{RoleName}'] } })]),
      'policies[0].allow.uris[0]: unknown template variable {RoleName}',
    ],
    [
      'an unbalanced template',
      config([minimalPolicy({ allow: { dnsNames: ['{roleName.svc.example'] } })]),
      'policies[0].allow.dnsNames[0]: unbalanced',
    ],
    [
      'an unknown template variable in a tag',
      config([minimalPolicy({ tags: { owner: '{sessionName}' } })]),
      'policies[0].tags.owner: unknown template variable {sessionName}',
    ],
    [
      'a CIDR range with host bits set',
      config([minimalPolicy({ allow: { ipRanges: ['10.0.0.0/8', '10.1.0.1/16'] } })]),
      'policies[0].allow.ipRanges[1]: must be a CIDR range with no host bits set',
    ],
    [
      'a bare address as a range',
      config([minimalPolicy({ allow: { ipRanges: ['10.0.0.1'] } })]),
      'policies[0].allow.ipRanges[0]: must be a CIDR range',
    ],
    [
      'a malformed SPIFFE pattern',
      config([minimalPolicy({ allow: { uris: ['spiffe://Example/a'] } })]),
      'policies[0].allow.uris[0]: must be a URI',
    ],
    [
      'a bad principal pattern',
      config([minimalPolicy({ principals: ['local:*', 'arn:aws:iam::123:role/x'] })]),
      'policies[0].principals[1]: must be an IAM role or user ARN pattern',
    ],
    [
      'an assumed-role ARN as a principal',
      config([minimalPolicy({ principals: ['arn:aws:sts::123456789012:assumed-role/x/y'] })]),
      'policies[0].principals[0]: must be an IAM role or user ARN pattern',
    ],
    [
      'a bad role assignment',
      { version: 1, roles: { admin: ['admin'] } },
      'roles.admin[0]: must be an IAM role or user ARN pattern',
    ],
    ['an unknown role', { version: 1, roles: { root: [] } }, 'roles: Unrecognized key'],
    [
      'duplicate policy names',
      config([minimalPolicy(), minimalPolicy({ name: 'q' }), minimalPolicy()]),
      'policies[2].name: duplicate policy name "p"',
    ],
    [
      'a default validity above the maximum',
      config([minimalPolicy({ validity: { default: '31d', max: '30d' } })]),
      'policies[0].validity: default must not exceed max',
    ],
    [
      'a maximum validity above 398 days',
      config([minimalPolicy({ validity: { default: '1d', max: '399d' } })]),
      'policies[0].validity: max is at most 398d',
    ],
    [
      'a malformed validity',
      config([minimalPolicy({ validity: { default: '1w' } })]),
      'policies[0].validity.default: validity must be a positive whole number',
    ],
    [
      'a malformed maximum validity',
      config([minimalPolicy({ validity: { default: '1h', max: 'forever' } })]),
      'policies[0].validity.max: validity must be a positive whole number',
    ],
    [
      'a zero validity',
      config([minimalPolicy({ validity: { default: '0s', max: '1d' } })]),
      'policies[0].validity.default: validity must be a positive whole number',
    ],
    [
      'a malformed renewBefore',
      config([minimalPolicy({ renewBefore: '8 hours' })]),
      'policies[0].renewBefore: validity must be a positive whole number',
    ],
    [
      'a malformed enrollment token TTL',
      { version: 1, roles: {}, enrollmentTokens: { defaultTtl: '1 hour' } },
      'enrollmentTokens.defaultTtl: validity must be a positive whole number',
    ],
    [
      'an unknown policy field',
      config([minimalPolicy({ alow: {} } as Partial<PolicyDocumentInput>)]),
      'policies[0]: Unrecognized key: "alow"',
    ],
    [
      'an unknown rule field',
      config([minimalPolicy({ allow: { dnsName: ['a.example'] } as PolicyDocumentInput['allow'] })]),
      'policies[0].allow: Unrecognized key: "dnsName"',
    ],
    ['an unknown top-level field', { version: 1, roles: {}, polices: [] }, '(document): Unrecognized key: "polices"'],
    [
      'minRsaBits without RSA',
      config([minimalPolicy({ keyTypes: ['EC_P256'], minRsaBits: 3072 })]),
      'policies[0].minRsaBits: minRsaBits only applies when keyTypes includes RSA',
    ],
    [
      'an unknown key type',
      config([minimalPolicy({ keyTypes: ['DSA'] } as unknown as Partial<PolicyDocumentInput>)]),
      'policies[0].keyTypes[0]:',
    ],
    [
      'an invalid policy name',
      config([minimalPolicy({ name: 'Payments' })]),
      'policies[0].name: must be 1-64 lower-case letters',
    ],
    [
      'an enrollment token default TTL above its maximum',
      { version: 1, roles: {}, enrollmentTokens: { defaultTtl: '2d', maxTtl: '1d' } },
      'enrollmentTokens: defaultTtl must not exceed maxTtl',
    ],
    [
      'an invalid local principal',
      { version: 1, roles: {}, localPrincipals: ['Admin'] },
      'localPrincipals[0]: lower-case letters',
    ],
    ['a wrong version', { version: 2, roles: {} }, 'version:'],
    [
      'an invalid global deny rule',
      { version: 1, roles: {}, deny: { dnsSuffixes: ['Corp.example'] } },
      'deny.dnsSuffixes[0]: must be a DNS zone',
    ],
  ])('%s', (_, input, expected) => {
    const lines = problems(input);
    expect(
      lines.some((line) => line.startsWith(expected)),
      `${expected}\nin:\n${lines.join('\n')}`,
    ).toBe(true);
  });

  it('lists every problem, one line each', () => {
    const lines = problems(
      config([
        minimalPolicy({ allow: { dnsNames: ['UPPER.example'], ipRanges: ['10.0.0.1/8'] } }),
        minimalPolicy({ name: 'p', principals: ['nobody'] }),
      ]),
    );
    expect(lines).toEqual([
      expect.stringMatching(/^policies\[0\]\.allow\.dnsNames\[0\]: /),
      expect.stringMatching(/^policies\[0\]\.allow\.ipRanges\[0\]: /),
      expect.stringMatching(/^policies\[1\]\.principals\[0\]: /),
      'policies[1].name: duplicate policy name "p"',
    ]);
  });

  it('a malformed validity is reported as an issue, never thrown out of safeParse', () => {
    // PUT /v1/policies/{name} validates with safeParse: a throw would skip the field-by-field answer.
    expect(() => policyDocumentSchema.safeParse(minimalPolicy({ validity: { default: '1w' } }))).not.toThrow();
    expect(() => mimConfigSchema.safeParse({ version: 1, roles: {}, enrollmentTokens: { maxTtl: 'x' } })).not.toThrow();
  });

  it('formatIssues formats a policy document error the same way', () => {
    const parsed = policyDocumentSchema.safeParse({ name: 'p', principals: [], allow: { uris: ['not a uri'] } });
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    expect(formatIssues(parsed.error)).toEqual([
      expect.stringMatching(/^principals: /),
      expect.stringMatching(/^allow\.uris\[0\]: must be a URI/),
    ]);
  });

  it('types the configuration input', () => {
    const input: MimConfigInput = { version: 1, roles: { admin: ['local:admin'] } };
    expect(parseMimConfig(input).roles.admin).toEqual(['local:admin']);
  });
});

describe('discovery configuration', () => {
  const withDiscovery = (discovery: unknown) => config([minimalPolicy()], { discovery });

  it('defaults to every 6 hours, missing after 2 runs, the deployment account and region, no TLS targets', () => {
    expect(parseMimConfig(config([minimalPolicy()])).discovery).toEqual({
      schedule: 'rate(6 hours)',
      missingAfterRuns: 2,
      aws: {},
      tls: { targets: [], concurrency: 32, connectTimeoutMs: 3000, handshakeTimeoutMs: 5000 },
    });
    // The scanner connects nowhere in AWS until ranges are set; locally, loopback.
    const tls = parseMimConfig(config([minimalPolicy()])).discovery.tls;
    expect(tlsAllowedRanges(tls, 'aws')).toEqual([]);
    expect(tlsAllowedRanges(tls, 'local')).toEqual(['127.0.0.0/8', '::1/128']);
    expect(tlsAllowedRanges({ ...tls, allowedRanges: ['127.0.0.0/30'] }, 'local')).toEqual(['127.0.0.0/30']);
    expect(parseMimConfig(shipped).discovery.missingAfterRuns).toBeGreaterThan(0);
  });

  it('takes accounts with roles, or the organization, with an external id', () => {
    const parsed = parseMimConfig(
      withDiscovery({
        schedule: 'cron(0 */4 * * ? *)',
        missingAfterRuns: 3,
        aws: {
          regions: ['eu-west-1', 'us-east-1'],
          accounts: [
            { accountId: '111122223333' },
            { accountId: '444455556666', roleArn: 'arn:aws:iam::444455556666:role/Reader' },
          ],
          externalId: 'mim-7f3a',
        },
      }),
    );
    expect(parsed.discovery.aws.accounts).toHaveLength(2);
    expect(
      parseMimConfig(withDiscovery({ aws: { accounts: { organization: true }, externalId: 'x1' } })).discovery.aws
        .accounts,
    ).toEqual({
      organization: true,
    });
  });

  it.each([
    [{ schedule: 'every 6 hours' }, 'discovery.schedule: must be "rate(<n> <minutes|hours|days>)"'],
    [{ schedule: 'rate(1 minutes)' }, 'discovery.schedule: write "rate(1 hour)"'],
    [{ schedule: 'rate(2 minutes)' }, 'discovery.schedule: runs at most every 5 minutes'],
    [{ missingAfterRuns: 0 }, 'discovery.missingAfterRuns'],
    [
      { tls: { targets: ['127.0.0.1'] } },
      'discovery.tls.targets: The target "127.0.0.1" is invalid: a port is required',
    ],
    [{ tls: { targets: ['127.0.0.0/19:443'] } }, 'discovery.tls.targets: The targets hold 8192 addresses'],
    [{ tls: { allowedRanges: ['127.0.0.1/8'] } }, 'discovery.tls.allowedRanges: The allowed range "127.0.0.1/8"'],
    [
      { tls: { concurrency: 1, connectTimeoutMs: 30_000 } },
      'discovery.tls.concurrency: a unit of 256 endpoints that all time out would take 8960 s',
    ],
    [
      { tls: { targets: ['127.0.0.9:443'], allowedRanges: ['127.0.0.0/30'] } },
      'discovery.tls.targets: The target "127.0.0.9:443" is not allowed',
    ],
    [{ aws: { regions: ['Europe'] } }, 'discovery.aws.regions[0]: an AWS region'],
    [
      { aws: { accounts: [{ accountId: '111122223333' }, { accountId: '111122223333' }], externalId: 'x1' } },
      'discovery.aws.accounts[1].accountId: account 111122223333 is listed twice',
    ],
    [
      {
        aws: {
          accounts: [{ accountId: '111122223333', roleArn: 'arn:aws:iam::999999999999:role/R' }],
          externalId: 'x1',
        },
      },
      'discovery.aws.accounts[0].roleArn: the role must be in the account it reads',
    ],
    [{ aws: { accounts: { organization: true } } }, 'discovery.aws.externalId: set an externalId'],
    [{ aws: { accounts: [{ accountId: '1234' }] } }, 'discovery.aws.accounts'],
    [{ sources: ['aws-iam'] }, 'discovery'],
  ])('refuses %j, naming the field', (discovery, message) => {
    expect(problems(withDiscovery(discovery)).join('\n')).toContain(message);
  });
});

describe('rate schedules', () => {
  it('gives the period of rate(...) and nothing for cron(...)', () => {
    expect(rateMilliseconds('rate(5 minutes)')).toBe(300_000);
    expect(rateMilliseconds('rate(1 hour)')).toBe(3_600_000);
    expect(rateMilliseconds('rate(2 days)')).toBe(172_800_000);
    expect(rateMilliseconds('cron(0 */4 * * ? *)')).toBeUndefined();
  });
});
