import { AdaptiveRetryStrategy, DefaultRateLimiter } from '@smithy/core/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AWS_IAM_PAGE_SIZE,
  AwsIamSource,
  createAwsIamSource,
  createIamDiscoveryClient,
} from '#lib/adapters/discovery/aws-iam-source.ts';
import { DiscoveryReadError } from '#lib/adapters/discovery/discovery-read-error.ts';
import { PRIVILEGE_ESCALATION_METHODS } from '#lib/adapters/discovery/iam-policy-facts.ts';
import { afterSeen, type Observation } from '#lib/domain/discovery.ts';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfDiscovered } from '#lib/domain/risk/subject.ts';
import type { DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import {
  type FakeIam,
  type FakeIamEstate,
  type FakeIamRole,
  type FakeIamUser,
  fakeIamClient,
  startFakeIam,
} from '#test/support/fake-iam-server.ts';

const ACCOUNT = '111122223333';
const SCOPE = { account: ACCOUNT, region: 'global' };
const ADMIN_POLICY = 'arn:aws:iam::aws:policy/AdministratorAccess';
const LAMBDA_BASIC = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
const DEPLOY_POLICY = `arn:aws:iam::${ACCOUNT}:policy/ci/deploy`;
const LAMBDA_DEPLOY_POLICY = `arn:aws:iam::${ACCOUNT}:policy/lambda-deploy`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/agent-boundary`;
const GITHUB_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;

const statement = (Action: string | string[], Resource: string | string[] = '*') => ({
  Effect: 'Allow',
  Action,
  Resource,
});
const doc = (...Statement: Record<string, unknown>[]) => ({ Version: '2012-10-17', Statement });

/** The estate of the brief: five roles, an admin user with two keys, a user whose group can escalate. */
function smallEstate(): FakeIamEstate {
  return {
    account: ACCOUNT,
    roles: [
      {
        name: 'lambda-exec',
        createDate: new Date('2025-03-01T10:00:00Z'),
        trust: doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }),
        lastUsed: { date: new Date('2026-11-28T13:45:12Z'), region: 'eu-west-1' },
        attachedPolicies: [LAMBDA_BASIC],
        tags: { owner: 'payments' },
      },
      {
        name: 'vendor-audit',
        createDate: new Date('2025-04-01T00:00:00Z'),
        maxSessionDuration: 7200,
        trust: doc({
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::444455556666:root' },
          Action: 'sts:AssumeRole',
        }),
        inlinePolicies: [{ name: 'read-reports', document: doc(statement('s3:GetObject', 'arn:aws:s3:::reports/*')) }],
      },
      {
        name: 'gha-deploy',
        path: '/ci/',
        createDate: new Date('2025-05-01T00:00:00Z'),
        trust: doc({
          Effect: 'Allow',
          Principal: { Federated: GITHUB_PROVIDER },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' } },
        }),
        attachedPolicies: [DEPLOY_POLICY],
      },
      {
        name: 'support-agent',
        createDate: new Date('2025-06-01T00:00:00Z'),
        trust: doc({
          Effect: 'Allow',
          Principal: { Service: 'bedrock.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': ACCOUNT },
            ArnLike: { 'AWS:SourceArn': `arn:aws:bedrock:us-east-1:${ACCOUNT}:agent/*` },
          },
        }),
        permissionsBoundary: BOUNDARY,
        inlinePolicies: [{ name: 'invoke-model', document: doc(statement('bedrock:InvokeModel')) }],
      },
      {
        name: 'ops-bot',
        createDate: new Date('2025-07-01T00:00:00Z'),
        trust: doc({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }),
        instanceProfiles: ['ops-bot'],
        tags: { 'mim:kind': 'agent', team: 'sre' },
      },
    ],
    users: [
      {
        name: 'admin',
        createDate: new Date('2024-06-01T09:00:00Z'),
        passwordLastUsed: new Date('2026-11-20T08:15:00Z'),
        loginProfile: { createDate: new Date('2024-06-01T09:05:00Z') },
        attachedPolicies: [ADMIN_POLICY],
        tags: { team: 'platform' },
        mfaDevices: [`arn:aws:iam::${ACCOUNT}:mfa/admin`],
        accessKeys: [
          {
            id: 'AKIAADMINKEY00000002',
            status: 'Inactive',
            createDate: new Date('2025-01-15T12:00:00Z'),
          },
          {
            id: 'AKIAADMINKEY00000001',
            status: 'Active',
            createDate: new Date('2024-06-02T10:00:00Z'),
            lastUsed: { date: new Date('2026-11-27T22:10:00Z'), serviceName: 'iam', region: 'us-east-1' },
          },
        ],
      },
      { name: 'deployer', path: '/ci/', createDate: new Date('2025-02-01T00:00:00Z'), groups: ['deployers'] },
    ],
    groups: [
      {
        name: 'deployers',
        attachedPolicies: [LAMBDA_DEPLOY_POLICY],
        inlinePolicies: [{ name: 'read-logs', document: doc(statement('logs:Get*')) }],
      },
    ],
    policies: [
      {
        name: 'AdministratorAccess',
        awsManaged: true,
        versions: [{ id: 'v1', document: doc(statement('*')), isDefault: true }],
      },
      {
        name: 'AWSLambdaBasicExecutionRole',
        path: '/service-role/',
        awsManaged: true,
        versions: [
          {
            id: 'v1',
            document: doc(statement(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'])),
            isDefault: true,
          },
        ],
      },
      {
        name: 'deploy',
        path: '/ci/',
        versions: [
          // An older version granted everything: only the default version counts.
          { id: 'v1', document: doc(statement('*')) },
          { id: 'v2', document: doc(statement(['iam:PassRole', 'cloudformation:*'])), isDefault: true },
        ],
      },
      {
        name: 'lambda-deploy',
        versions: [
          {
            id: 'v1',
            document: doc(statement(['iam:PassRole', 'lambda:CreateFunction', 'lambda:InvokeFunction'])),
            isDefault: true,
          },
        ],
      },
    ],
    rootAccessKeys: 0,
  };
}

const roleId = expect.stringMatching(/^AROA[0-9A-F]{17}$/);
const userId = expect.stringMatching(/^AIDA[0-9A-F]{17}$/);
const noPolicyRisk = { adminActions: [], wildcardServiceActions: [], privilegeEscalation: [], unreadablePolicies: [] };
const noTrustRisk = { trustAnyPrincipal: null, crossAccountTrustWithoutExternalId: [], githubOidcWithoutSub: false };
const principals = (p: Partial<Record<'services' | 'accounts' | 'federated' | 'aws', string[]>>) => ({
  any: false,
  services: [],
  accounts: [],
  federated: [],
  aws: [],
  ...p,
});
const base = { source: 'aws-iam', account: ACCOUNT, region: 'global' } as const;

/** What the small estate must give, in the order given: roles by ARN, then users by ARN, each before its keys. */
const EXPECTED: Observation[] = [
  {
    ...base,
    type: 'iam-role',
    arn: `arn:aws:iam::${ACCOUNT}:role/ci/gha-deploy`,
    name: 'gha-deploy',
    tags: {},
    facts: {
      id: roleId,
      path: '/ci/',
      createDate: '2025-05-01T00:00:00.000Z',
      roleLastUsed: null,
      maxSessionDuration: 3600,
      permissionsBoundary: null,
      attachedPolicies: [DEPLOY_POLICY],
      inlinePolicies: [],
      instanceProfiles: [],
      agentSignals: [],
      trust: {
        anyPrincipal: false,
        services: [],
        accounts: [],
        federated: [GITHUB_PROVIDER],
        statements: [
          {
            effect: 'Allow',
            actions: ['sts:AssumeRoleWithWebIdentity'],
            principals: principals({ federated: [GITHUB_PROVIDER] }),
            conditions: { StringEquals: { 'token.actions.githubusercontent.com:aud': ['sts.amazonaws.com'] } },
          },
        ],
      },
      risk: {
        adminActions: [],
        // The deploy policy's default version allows cloudformation:* on every resource (FSBP IAM.21).
        wildcardServiceActions: [{ action: 'cloudformation:*', conditional: false, grantedBy: [DEPLOY_POLICY] }],
        privilegeEscalation: [
          {
            method: 'PassExistingRoleToCloudFormation',
            actions: ['iam:PassRole', 'cloudformation:CreateStack'],
            conditional: false,
            grantedBy: [DEPLOY_POLICY],
          },
        ],
        unreadablePolicies: [],
        ...noTrustRisk,
        githubOidcWithoutSub: true,
      },
    },
  },
  {
    ...base,
    type: 'iam-role',
    arn: `arn:aws:iam::${ACCOUNT}:role/lambda-exec`,
    name: 'lambda-exec',
    tags: { owner: 'payments' },
    facts: {
      id: roleId,
      path: '/',
      createDate: '2025-03-01T10:00:00.000Z',
      roleLastUsed: { lastUsedDate: '2026-11-28', region: 'eu-west-1' },
      maxSessionDuration: 3600,
      permissionsBoundary: null,
      attachedPolicies: [LAMBDA_BASIC],
      inlinePolicies: [],
      instanceProfiles: [],
      agentSignals: [],
      trust: {
        anyPrincipal: false,
        services: ['lambda.amazonaws.com'],
        accounts: [],
        federated: [],
        statements: [
          {
            effect: 'Allow',
            actions: ['sts:AssumeRole'],
            principals: principals({ services: ['lambda.amazonaws.com'] }),
            conditions: {},
          },
        ],
      },
      risk: { ...noPolicyRisk, ...noTrustRisk },
    },
  },
  {
    ...base,
    type: 'ai-agent',
    arn: `arn:aws:iam::${ACCOUNT}:role/ops-bot`,
    name: 'ops-bot',
    tags: { 'mim:kind': 'agent', team: 'sre' },
    facts: {
      id: roleId,
      path: '/',
      createDate: '2025-07-01T00:00:00.000Z',
      roleLastUsed: null,
      maxSessionDuration: 3600,
      permissionsBoundary: null,
      attachedPolicies: [],
      inlinePolicies: [],
      instanceProfiles: ['ops-bot'],
      agentSignals: ['tag:mim:kind=agent'],
      trust: {
        anyPrincipal: false,
        services: ['ec2.amazonaws.com'],
        accounts: [],
        federated: [],
        statements: [
          {
            effect: 'Allow',
            actions: ['sts:AssumeRole'],
            principals: principals({ services: ['ec2.amazonaws.com'] }),
            conditions: {},
          },
        ],
      },
      risk: { ...noPolicyRisk, ...noTrustRisk },
    },
  },
  {
    ...base,
    type: 'ai-agent',
    arn: `arn:aws:iam::${ACCOUNT}:role/support-agent`,
    name: 'support-agent',
    tags: {},
    facts: {
      id: roleId,
      path: '/',
      createDate: '2025-06-01T00:00:00.000Z',
      roleLastUsed: null,
      maxSessionDuration: 3600,
      permissionsBoundary: BOUNDARY,
      attachedPolicies: [],
      inlinePolicies: ['invoke-model'],
      instanceProfiles: [],
      agentSignals: ['trust:bedrock-agent'],
      trust: {
        anyPrincipal: false,
        services: ['bedrock.amazonaws.com'],
        accounts: [],
        federated: [],
        statements: [
          {
            effect: 'Allow',
            actions: ['sts:AssumeRole'],
            principals: principals({ services: ['bedrock.amazonaws.com'] }),
            conditions: {
              StringEquals: { 'aws:SourceAccount': [ACCOUNT] },
              ArnLike: { 'AWS:SourceArn': [`arn:aws:bedrock:us-east-1:${ACCOUNT}:agent/*`] },
            },
          },
        ],
      },
      risk: { ...noPolicyRisk, ...noTrustRisk },
    },
  },
  {
    ...base,
    type: 'iam-role',
    arn: `arn:aws:iam::${ACCOUNT}:role/vendor-audit`,
    name: 'vendor-audit',
    tags: {},
    facts: {
      id: roleId,
      path: '/',
      createDate: '2025-04-01T00:00:00.000Z',
      roleLastUsed: null,
      maxSessionDuration: 7200,
      permissionsBoundary: null,
      attachedPolicies: [],
      inlinePolicies: ['read-reports'],
      instanceProfiles: [],
      agentSignals: [],
      trust: {
        anyPrincipal: false,
        services: [],
        accounts: ['444455556666'],
        federated: [],
        statements: [
          {
            effect: 'Allow',
            actions: ['sts:AssumeRole'],
            principals: principals({ accounts: ['444455556666'], aws: ['arn:aws:iam::444455556666:root'] }),
            conditions: {},
          },
        ],
      },
      risk: { ...noPolicyRisk, ...noTrustRisk, crossAccountTrustWithoutExternalId: ['444455556666'] },
    },
  },
  {
    ...base,
    type: 'iam-user',
    arn: `arn:aws:iam::${ACCOUNT}:user/admin`,
    name: 'admin',
    tags: { team: 'platform' },
    facts: {
      id: userId,
      path: '/',
      createDate: '2024-06-01T09:00:00.000Z',
      passwordLastUsed: '2026-11-20',
      consolePassword: true,
      mfaDevices: 1,
      activeAccessKeys: ['AKIAADMINKEY00000001'],
      agentSignals: [],
      groups: [],
      permissionsBoundary: null,
      attachedPolicies: [ADMIN_POLICY],
      inlinePolicies: [],
      risk: {
        adminActions: ['*', 'iam:*', 'sts:*'].map((action) => ({
          action,
          conditional: false,
          grantedBy: [ADMIN_POLICY],
        })),
        // AdministratorAccess allows `*`, which adminActions records: no service wildcard besides.
        wildcardServiceActions: [],
        privilegeEscalation: Object.keys(PRIVILEGE_ESCALATION_METHODS)
          .sort()
          .map((method) => ({
            method,
            actions: [...(PRIVILEGE_ESCALATION_METHODS[method] ?? [])],
            conditional: false,
            grantedBy: [ADMIN_POLICY],
          })),
        unreadablePolicies: [],
      },
    },
  },
  {
    ...base,
    type: 'iam-access-key',
    arn: `arn:aws:iam::${ACCOUNT}:user/admin/access-key/AKIAADMINKEY00000001`,
    name: 'AKIAADMINKEY00000001',
    tags: {},
    facts: {
      user: 'admin',
      userArn: `arn:aws:iam::${ACCOUNT}:user/admin`,
      status: 'Active',
      createDate: '2024-06-02T10:00:00.000Z',
      lastUsed: { date: '2026-11-27', serviceName: 'iam', region: 'us-east-1' },
    },
  },
  {
    ...base,
    type: 'iam-access-key',
    arn: `arn:aws:iam::${ACCOUNT}:user/admin/access-key/AKIAADMINKEY00000002`,
    name: 'AKIAADMINKEY00000002',
    tags: {},
    facts: {
      user: 'admin',
      userArn: `arn:aws:iam::${ACCOUNT}:user/admin`,
      status: 'Inactive',
      createDate: '2025-01-15T12:00:00.000Z',
      lastUsed: null,
    },
  },
  {
    ...base,
    type: 'iam-user',
    arn: `arn:aws:iam::${ACCOUNT}:user/ci/deployer`,
    name: 'deployer',
    tags: {},
    facts: {
      id: userId,
      path: '/ci/',
      createDate: '2025-02-01T00:00:00.000Z',
      passwordLastUsed: null,
      consolePassword: false,
      mfaDevices: 0,
      activeAccessKeys: [],
      agentSignals: [],
      groups: ['deployers'],
      permissionsBoundary: null,
      attachedPolicies: [],
      inlinePolicies: [],
      risk: {
        adminActions: [],
        wildcardServiceActions: [],
        privilegeEscalation: [
          {
            method: 'PassExistingRoleToNewLambdaThenInvoke',
            actions: ['iam:PassRole', 'lambda:CreateFunction', 'lambda:InvokeFunction'],
            conditional: false,
            grantedBy: [LAMBDA_DEPLOY_POLICY],
          },
        ],
        unreadablePolicies: [],
      },
    },
  },
];

async function collect(
  source: DiscoverySource,
  options?: { resumeFrom?: string },
  scope = SCOPE,
): Promise<ObservationPage[]> {
  const pages: ObservationPage[] = [];
  for await (const page of source.pages(scope, options)) pages.push(page);
  return pages;
}

const all = (pages: ObservationPage[]) => pages.flatMap((page) => page.observations);
const actions = (fake: FakeIam, action: string) => fake.requests.filter((r) => r.action === action);

/**
 * An adaptive strategy as the source's client has, made quick: millisecond backoffs, and a rate limiter whose floor is
 * high (the SDK's drops a fresh client to 0.5 requests a second on its first throttle, then climbs back over seconds).
 */
function quickAdaptiveRetry(maxAttempts: number): AdaptiveRetryStrategy {
  return new AdaptiveRetryStrategy(maxAttempts, {
    maxAttempts,
    backoff: { computeNextBackoffDelay: () => 1, setDelayBase: () => {} },
    rateLimiter: new DefaultRateLimiter({ minFillRate: 1000, minCapacity: 1000 }),
  });
}

describe('AwsIamSource against a fake IAM (real IAMClient, query protocol)', () => {
  let fake: FakeIam;

  beforeAll(async () => {
    fake = await startFakeIam(smallEstate());
  });
  afterEach(() => {
    fake.reset();
    Object.assign(fake.estate, smallEstate());
  });
  afterAll(async () => {
    await fake.close();
  });

  it('is the global aws-iam source', () => {
    const source = createAwsIamSource({ client: fakeIamClient(fake.endpoint) });
    expect(source).toBeInstanceOf(AwsIamSource);
    expect(source.name).toBe('aws-iam');
    expect(source.global).toBe(true);
  });

  it('observes roles, agents, users and access keys with their facts and risks', async () => {
    const pages = await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) }));
    expect(pages).toHaveLength(1);
    expect(pages[0]?.marker).toBeUndefined();
    expect(all(pages)).toEqual(EXPECTED);

    // The calls a member account's read-only discovery role must allow, and nothing else.
    expect(new Set(fake.requests.map((r) => r.action))).toEqual(
      new Set([
        'GetAccountAuthorizationDetails',
        'ListRoles',
        'ListUsers',
        'GetAccountSummary',
        'ListMFADevices',
        'GetLoginProfile',
        'ListAccessKeys',
        'GetAccessKeyLastUsed',
      ]),
    );
    expect(actions(fake, 'GetAccountSummary')).toEqual([{ action: 'GetAccountSummary', params: {}, status: 200 }]);
    expect(actions(fake, 'GetAccountAuthorizationDetails')[0]?.params).toEqual({
      'Filter.member.1': 'User',
      'Filter.member.2': 'Role',
      'Filter.member.3': 'Group',
      'Filter.member.4': 'LocalManagedPolicy',
      'Filter.member.5': 'AWSManagedPolicy',
      MaxItems: '1000',
    });
    expect(actions(fake, 'ListMFADevices').map((r) => r.params.UserName)).toEqual(['admin', 'deployer']);
    // deployer has no console password: IAM answers NoSuchEntity (404), which is `consolePassword: false`.
    expect(actions(fake, 'GetLoginProfile').map((r) => [r.params.UserName, r.status])).toEqual([
      ['admin', 200],
      ['deployer', 404],
    ]);
    expect(actions(fake, 'GetAccessKeyLastUsed')).toHaveLength(2);
  });

  it('reads through short and empty truncated pages until IsTruncated is false', async () => {
    // 2 users, 1 group, 5 roles, 4 policies: pages of 1, 0, 2, 0, 3, then MaxItems; then two empty truncated pages.
    fake.scriptAuthorizationDetailsPages([1, 0, 2, 0, 3, 1, 0]);
    fake.trailingEmptyPages(2);
    fake.listPageSize('ListAccessKeys', 1);
    fake.listPageSize('ListRoles', 2);
    fake.listPageSize('ListUsers', 1);
    const pages = await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) }));
    expect(all(pages)).toEqual(EXPECTED);
    const details = actions(fake, 'GetAccountAuthorizationDetails');
    expect(details.length).toBe(10);
    expect(details[0]?.params.Marker).toBeUndefined();
    expect(details.slice(1).every((request) => typeof request.params.Marker === 'string')).toBe(true);
    // Users are read four at a time: their calls interleave.
    const adminKeys = actions(fake, 'ListAccessKeys').filter((r) => r.params.UserName === 'admin');
    expect(adminKeys.map((r) => r.params.Marker === undefined)).toEqual([true, false]);
    expect(actions(fake, 'ListAccessKeys')).toHaveLength(3);
    expect(actions(fake, 'ListRoles')).toHaveLength(3);
    expect(actions(fake, 'ListUsers')).toHaveLength(2);
  });

  it('recovers from throttled calls with adaptive retry', async () => {
    fake.throttle('GetAccountAuthorizationDetails', 2);
    fake.throttle('ListAccessKeys', 1);
    fake.throttle('GetAccessKeyLastUsed', 1);
    fake.throttle('ListMFADevices', 1);
    fake.throttle('GetLoginProfile', 1);
    fake.throttle('GetAccountSummary', 1);
    const client = fakeIamClient(fake.endpoint, { retryStrategy: quickAdaptiveRetry(5) });
    const started = Date.now();
    const pages = await collect(createAwsIamSource({ client }));
    expect(all(pages)).toEqual(EXPECTED);
    expect(fake.requests.filter((r) => r.status === 400)).toHaveLength(7);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('builds its own client with adaptive retry', async () => {
    const client = createIamDiscoveryClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' },
    });
    const strategy = await client.config.retryStrategy();
    expect(strategy).toBeInstanceOf(AdaptiveRetryStrategy);
    expect(await client.config.maxAttempts()).toBe(8);
  });

  it('throws an error naming the action when GetAccountAuthorizationDetails is denied', async () => {
    fake.deny('GetAccountAuthorizationDetails');
    const error = await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscoveryReadError);
    expect(error).toMatchObject({
      source: 'aws-iam',
      action: 'iam:GetAccountAuthorizationDetails',
      reason: 'AccessDenied',
      code: 'DISCOVERY_READ_FAILED',
    });
    expect((error as Error).message).toContain('iam:GetAccountAuthorizationDetails');
  });

  it('fails on throttling that outlasts the retries, naming the action', async () => {
    fake.throttle('ListAccessKeys', 10);
    const client = fakeIamClient(fake.endpoint, { retryStrategy: quickAdaptiveRetry(3) });
    const error = await collect(createAwsIamSource({ client })).catch((e: unknown) => e);
    expect(error).toMatchObject({ action: 'iam:ListAccessKeys', reason: 'Throttling' });
  });

  it('leaves out a user deleted between the account read and its own reads', async () => {
    fake.fail('ListMFADevices', { code: 'NoSuchEntity', status: 404, times: 1 });
    const observations = all(await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })));
    // MFA devices are read for users in ARN order: `admin` first, so it and its keys are left out.
    expect(observations.map((o) => o.name)).toEqual([
      'gha-deploy',
      'lambda-exec',
      'ops-bot',
      'support-agent',
      'vendor-audit',
      'deployer',
    ]);
  });

  it('records on each user its console password, its active access keys and its agent signals', async () => {
    fake.estate.users = [
      {
        // An agent's user: tagged so, with long-lived keys (two active, one not) and no console password.
        name: 'support-bot',
        createDate: new Date('2025-08-01T00:00:00Z'),
        tags: { 'mim:kind': 'agent', owner: 'support' },
        accessKeys: [
          { id: 'AKIASUPPORTBOT000003', status: 'Active', createDate: new Date('2025-08-03T00:00:00Z') },
          { id: 'AKIASUPPORTBOT000001', status: 'Inactive', createDate: new Date('2025-08-01T00:00:00Z') },
          { id: 'AKIASUPPORTBOT000002', status: 'Active', createDate: new Date('2025-08-02T00:00:00Z') },
        ],
      },
      {
        // A person: a console password never used, no access keys, tagged with another kind.
        name: 'carol',
        createDate: new Date('2025-09-01T00:00:00Z'),
        tags: { 'mim:kind': 'person' },
        loginProfile: { createDate: new Date('2025-09-01T00:01:00Z'), passwordResetRequired: true },
      },
    ];
    // One key a page: the active keys are gathered across ListAccessKeys pages.
    fake.listPageSize('ListAccessKeys', 1);
    const users = all(await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) }))).filter(
      (o) => o.type !== 'iam-role' && o.type !== 'ai-agent',
    );
    expect(users.map((o) => [o.type, o.name])).toEqual([
      ['iam-user', 'carol'],
      ['iam-user', 'support-bot'],
      ['iam-access-key', 'AKIASUPPORTBOT000001'],
      ['iam-access-key', 'AKIASUPPORTBOT000002'],
      ['iam-access-key', 'AKIASUPPORTBOT000003'],
    ]);
    expect(users[0]?.facts).toMatchObject({
      consolePassword: true,
      passwordLastUsed: null,
      activeAccessKeys: [],
      agentSignals: [],
    });
    // Still an IAM user (the type stays); its agent signal is what the agent rules read.
    expect(users[1]?.facts).toMatchObject({
      consolePassword: false,
      activeAccessKeys: ['AKIASUPPORTBOT000002', 'AKIASUPPORTBOT000003'],
      agentSignals: ['tag:mim:kind=agent'],
    });
    expect(actions(fake, 'GetLoginProfile').map((r) => [r.params.UserName, r.status])).toEqual([
      ['carol', 200],
      ['support-bot', 404],
    ]);
    expect(actions(fake, 'ListAccessKeys').filter((r) => r.params.UserName === 'support-bot')).toHaveLength(3);
  });

  it('fails naming iam:GetLoginProfile when it is denied, as any other per-user read', async () => {
    fake.deny('GetLoginProfile');
    const error = await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscoveryReadError);
    expect(error).toMatchObject({ source: 'aws-iam', action: 'iam:GetLoginProfile', reason: 'AccessDenied' });
  });

  it("records the root user's keys GetAccountSummary reports, between the roles and the users", async () => {
    fake.estate.rootAccessKeys = 1;
    const observations = all(await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })));
    const root = {
      ...base,
      type: 'iam-access-key',
      arn: `arn:aws:iam::${ACCOUNT}:root/access-keys`,
      name: 'root access keys',
      tags: {},
      facts: {
        user: '<root_account>',
        userArn: `arn:aws:iam::${ACCOUNT}:root`,
        status: 'Active',
        createDate: null,
        seenBy: 'iam:GetAccountSummary',
      },
    };
    const roles = EXPECTED.filter((o) => o.type === 'iam-role' || o.type === 'ai-agent');
    expect(observations).toEqual([...roles, root, ...EXPECTED.slice(roles.length)]);

    // Two keys are still one identity; none (the default estate) is none.
    fake.estate.rootAccessKeys = 2;
    const again = all(await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })));
    expect(again.filter((o) => o.arn.endsWith(':root/access-keys'))).toEqual([root]);
    fake.estate.rootAccessKeys = 0;
    const none = all(await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })));
    expect(none).toEqual(EXPECTED);
  });

  it('fails naming iam:GetAccountSummary when it is denied', async () => {
    fake.deny('GetAccountSummary');
    const error = await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscoveryReadError);
    expect(error).toMatchObject({ source: 'aws-iam', action: 'iam:GetAccountSummary', reason: 'AccessDenied' });
  });

  it('gives observations on which the IAM risk rules fire, once stored as an inventory keeps them', async () => {
    fake.estate.rootAccessKeys = 1;
    fake.estate.users.push({
      name: 'support-bot',
      createDate: new Date('2025-08-01T00:00:00Z'),
      tags: { 'mim:kind': 'agent', owner: 'support' },
      accessKeys: [{ id: 'AKIASUPPORTBOT000001', status: 'Active', createDate: new Date('2025-08-01T00:00:00Z') }],
    });
    const observations = all(await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })));
    const now = new Date('2026-11-29T12:00:00Z');
    const rules = new Map(
      observations.map((observation) => {
        // As the inventory stores it (JSON), then reads it back for the rules.
        const stored = JSON.parse(JSON.stringify(observation)) as Observation;
        const seen = afterSeen(undefined, stored, now.toISOString());
        if (seen === undefined) throw new Error('a new observation is always written');
        const assessment = assessRisk(riskSubjectOfDiscovered(seen.identity), now);
        return [observation.name, assessment.findings.map((finding) => finding.rule)];
      }),
    );
    expect(rules.get('admin')).toContain('IAM_USER_CONSOLE_AND_KEYS');
    expect(rules.get('gha-deploy')).toContain('IAM_WILDCARD_SERVICE_ACTIONS');
    expect(rules.get('root access keys')).toEqual(['IAM_ROOT_ACCESS_KEY']);
    expect(rules.get('support-bot')).toContain('AGENT_LONG_LIVED_KEYS');
    // No password: keys alone are not both credentials. No service wildcard: logs only, nor for `*` (its own rule).
    expect(rules.get('deployer')).not.toContain('IAM_USER_CONSOLE_AND_KEYS');
    expect(rules.get('support-bot')).not.toContain('IAM_USER_CONSOLE_AND_KEYS');
    expect(rules.get('lambda-exec')).not.toContain('IAM_WILDCARD_SERVICE_ACTIONS');
    expect(rules.get('admin')).not.toContain('IAM_WILDCARD_SERVICE_ACTIONS');
    expect(rules.get('admin')).not.toContain('AGENT_LONG_LIVED_KEYS');
  });

  it('refuses a client that reads another account than the scope', async () => {
    const source = createAwsIamSource({ client: fakeIamClient(fake.endpoint) });
    const error = await collect(source, undefined, { account: '999999999999', region: 'global' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect(error).toMatchObject({ code: 'DISCOVERY_SCOPE_MISMATCH' });
  });

  it('refuses a resume marker it did not give', async () => {
    const source = createAwsIamSource({ client: fakeIamClient(fake.endpoint) });
    await expect(collect(source, { resumeFrom: 'MTow' })).rejects.toMatchObject({ code: 'INVALID_RESUME_MARKER' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('AwsIamSource over larger estates', () => {
  let fake: FakeIam;

  beforeAll(async () => {
    fake = await startFakeIam({ account: ACCOUNT, users: [], roles: [], groups: [], policies: [] });
  });
  afterEach(() => {
    fake.reset();
    fake.estate.rootAccessKeys = 0;
  });
  afterAll(async () => {
    await fake.close();
  });

  const role = (index: number): FakeIamRole => ({
    name: `role-${String(index).padStart(5, '0')}`,
    createDate: new Date('2025-01-01T00:00:00Z'),
    trust: doc({ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }),
  });
  const user = (index: number, keys: number): FakeIamUser => ({
    name: `user-${String(index).padStart(3, '0')}`,
    createDate: new Date('2025-01-01T00:00:00Z'),
    accessKeys: Array.from({ length: keys }, (_, k) => ({
      id: `AKIAUSER${String(index).padStart(3, '0')}KEY${k}0000000`.slice(0, 20),
      status: 'Active' as const,
      createDate: new Date('2025-01-02T00:00:00Z'),
    })),
  });

  it('streams 1,500 roles in pages of at most 100, each with a marker but the last', async () => {
    fake.estate.roles = Array.from({ length: 1500 }, (_, i) => role(i));
    fake.estate.users = [];
    const pages = await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) }));
    expect(pages).toHaveLength(15);
    expect(pages.every((page) => page.observations.length === AWS_IAM_PAGE_SIZE)).toBe(true);
    expect(pages.slice(0, -1).every((page) => typeof page.marker === 'string')).toBe(true);
    expect(pages.at(-1)?.marker).toBeUndefined();
    const arns = all(pages).map((o) => o.arn);
    expect(new Set(arns).size).toBe(1500);
    expect(arns).toEqual([...arns].sort());
    // MaxItems 1000: two pages of account details.
    expect(actions(fake, 'GetAccountAuthorizationDetails')).toHaveLength(2);
  });

  it('resumes after a page, without reading again the users already yielded', async () => {
    // 95 roles, then 5 users with 2 keys each: the first page ends inside user-001's keys.
    fake.estate.roles = Array.from({ length: 95 }, (_, i) => role(i));
    fake.estate.users = Array.from({ length: 5 }, (_, i) => user(i, 2));
    const source = createAwsIamSource({ client: fakeIamClient(fake.endpoint) });
    const full = all(await collect(source));
    expect(full).toHaveLength(110);

    const iterator = source.pages(SCOPE)[Symbol.asyncIterator]();
    const first = await iterator.next();
    await iterator.return?.();
    const firstPage = first.value as ObservationPage;
    expect(firstPage.observations).toHaveLength(100);
    expect(firstPage.observations.at(-1)?.name).toBe(full[99]?.name);
    expect(full[99]?.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/user-001/access-key/AKIAUSER001KEY000000`);

    fake.reset();
    const rest = await collect(source, { resumeFrom: firstPage.marker ?? '' });
    expect(rest).toHaveLength(1);
    expect(rest[0]?.marker).toBeUndefined();
    expect(all(rest)).toEqual(full.slice(100));
    // user-000 and user-001 were yielded: no MFA read for them; user-001 still has a key to read.
    expect(actions(fake, 'ListMFADevices').map((r) => r.params.UserName)).toEqual(['user-002', 'user-003', 'user-004']);
    expect(actions(fake, 'ListAccessKeys').map((r) => r.params.UserName)).toEqual([
      'user-001',
      'user-002',
      'user-003',
      'user-004',
    ]);
    expect(actions(fake, 'GetAccessKeyLastUsed').map((r) => r.params.AccessKeyId)).toContain('AKIAUSER001KEY100000');
    expect(actions(fake, 'GetAccessKeyLastUsed')).toHaveLength(7);
  });

  it("resumes past the root user's keys without reading the account summary, and before them with it", async () => {
    // 99 roles, then the root user's keys: the first page ends on them.
    fake.estate.roles = Array.from({ length: 99 }, (_, i) => role(i));
    fake.estate.users = Array.from({ length: 2 }, (_, i) => user(i, 1));
    fake.estate.rootAccessKeys = 1;
    const source = createAwsIamSource({ client: fakeIamClient(fake.endpoint) });
    const full = all(await collect(source));
    expect(full).toHaveLength(104);
    expect(full[99]?.arn).toBe(`arn:aws:iam::${ACCOUNT}:root/access-keys`);

    const iterator = source.pages(SCOPE)[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as ObservationPage;
    await iterator.return?.();
    expect(first.observations.at(-1)?.arn).toBe(`arn:aws:iam::${ACCOUNT}:root/access-keys`);
    fake.reset();
    expect(all(await collect(source, { resumeFrom: first.marker ?? '' }))).toEqual(full.slice(100));
    expect(actions(fake, 'GetAccountSummary')).toHaveLength(0);
    expect(actions(fake, 'GetLoginProfile').map((r) => r.params.UserName)).toEqual(['user-000', 'user-001']);

    // 101 roles: the first page ends among them, and the resumed run reads the summary to give the root user's keys.
    fake.estate.roles = Array.from({ length: 101 }, (_, i) => role(i));
    const fuller = all(await collect(source));
    const again = source.pages(SCOPE)[Symbol.asyncIterator]();
    const firstOfMore = (await again.next()).value as ObservationPage;
    await again.return?.();
    fake.reset();
    const rest = all(await collect(source, { resumeFrom: firstOfMore.marker ?? '' }));
    expect(rest).toEqual(fuller.slice(100));
    expect(rest[1]?.arn).toBe(`arn:aws:iam::${ACCOUNT}:root/access-keys`);
    expect(actions(fake, 'GetAccountSummary')).toHaveLength(1);
  });

  it('keeps at most 4 IAM calls in flight for the per-user reads', async () => {
    fake.estate.roles = [];
    fake.estate.users = Array.from({ length: 40 }, (_, i) => user(i, 1));
    fake.delay(5);
    const observations = all(await collect(createAwsIamSource({ client: fakeIamClient(fake.endpoint) })));
    expect(observations).toHaveLength(80);
    expect(fake.maxInFlight).toBe(4);
  });
});
