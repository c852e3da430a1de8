import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  callerIdentity,
  DISCOVERY_SESSION_SECONDS,
  DiscoveryAccountError,
  type DiscoveryCredentials,
  discoveryCredentials,
  resolveDiscoveryAccounts,
} from '#lib/adapters/discovery/aws-accounts.ts';
import { type DiscoveryConfig, discoveryConfigSchema } from '#lib/domain/discovery-config.ts';
import type { Clock } from '#lib/ports/clock.ts';
import {
  type FakeOrganizations,
  fakeOrganizationsClient,
  startFakeOrganizations,
} from '#test/support/fake-organizations-server.ts';
import { type FakeSts, type FakeStsRole, fakeStsClient, startFakeSts } from '#test/support/fake-sts-server.ts';

const CALLER = '111111111111';
const MEMBER = '222222222222';
const CUSTOM = '333333333333';
const UNTRUSTING = '444444444444';
const MISSING = '555555555555';
const EXTERNAL_ID = 'mim-ext-7f3a9c';
const DEFAULT_ROLE = (account: string) => `arn:aws:iam::${account}:role/MimDiscoveryReadOnly`;
const CUSTOM_ROLE = `arn:aws:iam::${CUSTOM}:role/security/ReadMachineIdentities`;
const SELF_ROLE = `arn:aws:iam::${CALLER}:role/SelfRead`;
const START = new Date('2026-11-30T12:00:00Z');

const ROLES: FakeStsRole[] = [
  { arn: DEFAULT_ROLE(MEMBER), externalId: EXTERNAL_ID },
  { arn: CUSTOM_ROLE, externalId: EXTERNAL_ID },
  { arn: SELF_ROLE, externalId: EXTERNAL_ID },
  { arn: DEFAULT_ROLE(UNTRUSTING), externalId: EXTERNAL_ID, trustsCaller: false },
];

/** `discovery.aws` as the configuration parser makes it. */
const awsConfig = (aws: Record<string, unknown>): DiscoveryConfig['aws'] => discoveryConfigSchema.parse({ aws }).aws;

let now = START;
const clock: Clock = { now: () => now };
let sts: FakeSts;
let organizations: FakeOrganizations;
const clients = () => ({
  sts: fakeStsClient(sts.endpoint),
  organizations: fakeOrganizationsClient(organizations.endpoint),
});

beforeAll(async () => {
  sts = await startFakeSts({
    // The control plane runs as a Lambda role session: every AssumeRole it makes is role chaining.
    caller: {
      account: CALLER,
      arn: `arn:aws:sts::${CALLER}:assumed-role/mim-discovery/discovery-fn`,
      userId: 'AROAFAKECALLER0000000:discovery-fn',
    },
    roles: ROLES,
    now: () => now,
  });
  organizations = await startFakeOrganizations({ managementAccount: CALLER, accounts: [] });
});

afterAll(async () => {
  await sts.close();
  await organizations.close();
});

beforeEach(() => {
  now = START;
});

afterEach(() => {
  sts.reset();
  sts.roles.splice(0, sts.roles.length, ...ROLES);
  organizations.reset();
  organizations.accounts.length = 0;
});

function assumed(credentials: DiscoveryCredentials) {
  if (credentials.kind !== 'assumed') throw new Error(`expected assumed credentials, got ${credentials.kind}`);
  return credentials;
}

async function rejection(promise: Promise<unknown>): Promise<DiscoveryAccountError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DiscoveryAccountError);
  return error as DiscoveryAccountError;
}

describe('resolveDiscoveryAccounts', () => {
  it('reads the account of the credentials in use when no accounts are configured', async () => {
    const accounts = await resolveDiscoveryAccounts(awsConfig({}), clients());
    expect(accounts).toEqual([{ accountId: CALLER, roleArn: undefined }]);
    expect(sts.requests.map((r) => r.action)).toEqual(['GetCallerIdentity']);
    expect(organizations.requests).toEqual([]);
  });

  it('takes a list as given, in its order, without calling anything', async () => {
    const config = awsConfig({
      externalId: EXTERNAL_ID,
      accounts: [{ accountId: CUSTOM, roleArn: CUSTOM_ROLE }, { accountId: MEMBER }, { accountId: CALLER }],
    });
    const accounts = await resolveDiscoveryAccounts(config, clients());
    expect(accounts).toEqual([
      { accountId: CUSTOM, roleArn: CUSTOM_ROLE },
      { accountId: MEMBER, roleArn: undefined },
      { accountId: CALLER, roleArn: undefined },
    ]);
    expect(sts.requests).toEqual([]);
    expect(organizations.requests).toEqual([]);
  });

  it('lists the active accounts of the organization over short and empty pages, sorted by id', async () => {
    organizations.accounts.push(
      { id: '999999999999', status: 'ACTIVE', state: 'ACTIVE' },
      { id: MEMBER, status: 'ACTIVE', state: 'ACTIVE' },
      { id: '777777777777', status: 'SUSPENDED', state: 'SUSPENDED' },
      { id: CALLER, status: 'ACTIVE', state: 'ACTIVE' },
      { id: '666666666666', status: 'PENDING_CLOSURE', state: 'PENDING_CLOSURE' },
      // Once `Status` is retired only `State` comes, with states `Status` never had.
      { id: CUSTOM, state: 'ACTIVE' },
      { id: '888888888888', state: 'CLOSED' },
      { id: '123456789012', state: 'PENDING_ACTIVATION' },
      // An older answer: `Status` alone.
      { id: '210987654321', status: 'ACTIVE' },
    );
    organizations.scriptPages([3, 0, 2, 1]);
    const accounts = await resolveDiscoveryAccounts(
      awsConfig({ externalId: EXTERNAL_ID, accounts: { organization: true } }),
      clients(),
    );
    expect(accounts).toEqual(
      [CALLER, '210987654321', MEMBER, CUSTOM, '999999999999'].map((accountId) => ({ accountId, roleArn: undefined })),
    );
    // 3 + 0 + 2 + 1 accounts, then the remaining 3 on one full page.
    expect(organizations.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const bodies = organizations.requests.map((r) => r.body as { MaxResults?: number; NextToken?: string });
    expect(bodies.every((b) => b.MaxResults === 20)).toBe(true);
    expect(bodies[0]?.NextToken).toBeUndefined();
    expect(new Set(bodies.slice(1).map((b) => b.NextToken)).size).toBe(4);
    expect(organizations.requests.every((r) => r.target === 'ListAccounts')).toBe(true);
  });

  it('says to run from the management or a delegated administrator account when ListAccounts is denied', async () => {
    organizations.deny();
    const error = await rejection(
      resolveDiscoveryAccounts(awsConfig({ externalId: EXTERNAL_ID, accounts: { organization: true } }), clients()),
    );
    expect(error.code).toBe('DISCOVERY_ORGANIZATION_UNREADABLE');
    expect(error.reason).toBe('AccessDeniedException');
    expect(error.message).toContain('organizations:ListAccounts was denied');
    expect(error.message).toContain('management account or a delegated administrator account');
    expect(error.message).toContain('discovery.aws.accounts');
  });

  it('says the account is in no organization', async () => {
    organizations.fail('AWSOrganizationsNotInUseException');
    const error = await rejection(
      resolveDiscoveryAccounts(awsConfig({ externalId: EXTERNAL_ID, accounts: { organization: true } }), clients()),
    );
    expect(error.reason).toBe('AWSOrganizationsNotInUseException');
    expect(error.message).toContain('not in an organization');
  });
});

describe('discoveryCredentials', () => {
  const credentialsFor = (options: { externalId?: string | undefined; sessionName?: string } = {}) =>
    discoveryCredentials({
      sts: fakeStsClient(sts.endpoint),
      callerAccount: CALLER,
      externalId: 'externalId' in options ? options.externalId : EXTERNAL_ID,
      ...(options.sessionName === undefined ? {} : { sessionName: options.sessionName }),
      clock,
    });

  it('uses the default chain for its own account when the entry names no role', async () => {
    expect(credentialsFor()({ accountId: CALLER, roleArn: undefined })).toEqual({ kind: 'default' });
    // Without an external id too: nothing is assumed.
    expect(credentialsFor({ externalId: undefined })({ accountId: CALLER, roleArn: undefined })).toEqual({
      kind: 'default',
    });
    expect(sts.requests).toEqual([]);
  });

  it('assumes the default role in another account with the external id, the session name and one hour', async () => {
    const chosen = assumed(credentialsFor()({ accountId: MEMBER, roleArn: undefined }));
    expect(chosen.roleArn).toBe(DEFAULT_ROLE(MEMBER));
    const credentials = await chosen.provider();
    expect(sts.requests.map((r) => [r.action, r.params, r.accessKeyId])).toEqual([
      [
        'AssumeRole',
        {
          RoleArn: DEFAULT_ROLE(MEMBER),
          RoleSessionName: 'mim-discovery',
          ExternalId: EXTERNAL_ID,
          DurationSeconds: String(DISCOVERY_SESSION_SECONDS),
        },
        'AKIAFAKESTSTEST00000',
      ],
    ]);
    const issued = sts.issued[0];
    expect(credentials).toEqual({
      accessKeyId: issued?.accessKeyId,
      secretAccessKey: issued?.secretAccessKey,
      sessionToken: issued?.sessionToken,
      expiration: new Date(START.getTime() + 3600_000),
    });
  });

  it('assumes the role an entry names, in another account or its own', async () => {
    const forAccount = credentialsFor({ sessionName: 'mim-discovery-run-42' });
    const custom = assumed(forAccount({ accountId: CUSTOM, roleArn: CUSTOM_ROLE }));
    const self = assumed(forAccount({ accountId: CALLER, roleArn: SELF_ROLE }));
    expect([custom.roleArn, self.roleArn]).toEqual([CUSTOM_ROLE, SELF_ROLE]);
    await custom.provider();
    await self.provider();
    expect(sts.requests.map((r) => [r.params.RoleArn, r.params.RoleSessionName])).toEqual([
      [CUSTOM_ROLE, 'mim-discovery-run-42'],
      [SELF_ROLE, 'mim-discovery-run-42'],
    ]);
    expect(sts.issued.map((c) => c.roleArn)).toEqual([CUSTOM_ROLE, SELF_ROLE]);
  });

  it('builds the default role in the partition it is given', () => {
    const chosen = discoveryCredentials({
      sts: fakeStsClient(sts.endpoint),
      callerAccount: CALLER,
      externalId: EXTERNAL_ID,
      partition: 'aws-us-gov',
    })({ accountId: MEMBER, roleArn: undefined });
    expect(assumed(chosen).roleArn).toBe(`arn:aws-us-gov:iam::${MEMBER}:role/MimDiscoveryReadOnly`);
  });

  it('refuses an account that needs a role when no external id is configured', () => {
    const forAccount = credentialsFor({ externalId: undefined });
    let error: unknown;
    try {
      forAccount({ accountId: MEMBER, roleArn: undefined });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DiscoveryAccountError);
    const refused = error as DiscoveryAccountError;
    expect(refused.code).toBe('DISCOVERY_EXTERNAL_ID_MISSING');
    expect(refused.message).toContain(MEMBER);
    expect(refused.message).toContain(DEFAULT_ROLE(MEMBER));
    expect(refused.message).toContain('discovery.aws.externalId');
    expect(refused.message).toContain('MimDiscoveryMember');
    expect(sts.requests).toEqual([]);
  });

  it('names the account and role and says what to check when STS denies the AssumeRole', async () => {
    const cases = [
      { externalId: 'mim-ext-wrong', account: MEMBER },
      { externalId: EXTERNAL_ID, account: UNTRUSTING },
      { externalId: EXTERNAL_ID, account: MISSING },
    ];
    for (const { externalId, account } of cases) {
      const chosen = assumed(credentialsFor({ externalId })({ accountId: account, roleArn: undefined }));
      const error = await rejection(chosen.provider());
      expect(error.code).toBe('DISCOVERY_ASSUME_ROLE_FAILED');
      expect(error.reason).toBe('AccessDenied');
      expect([error.account, error.roleArn]).toEqual([account, DEFAULT_ROLE(account)]);
      expect(error.message).toContain(`account ${account}`);
      expect(error.message).toContain(DEFAULT_ROLE(account));
      expect(error.message).toContain('MimDiscoveryMember');
      expect(error.message).toContain('discovery.aws.externalId');
      expect((error.cause as Error).name).toBe('AccessDenied');
    }
    expect(sts.requests.map((r) => r.status)).toEqual([403, 403, 403]);
  });

  it('does not keep a failure: the next call assumes again', async () => {
    sts.fail('AssumeRole', { code: 'Throttling', status: 400, times: 1 });
    const chosen = assumed(credentialsFor()({ accountId: MEMBER, roleArn: undefined }));
    const error = await rejection(chosen.provider());
    expect(error.reason).toBe('Throttling');
    expect(error.message).toContain(MEMBER);
    const credentials = await chosen.provider();
    expect(credentials.accessKeyId).toBe(sts.issued[0]?.accessKeyId);
    expect(sts.requests.map((r) => r.status)).toEqual([400, 200]);
  });

  it('refuses an AssumeRole answer without a session token', async () => {
    sts.tamper('AssumeRole', (xml) => xml.replace(/<SessionToken>[^<]*<\/SessionToken>/, ''));
    const chosen = assumed(credentialsFor()({ accountId: MEMBER, roleArn: undefined }));
    const error = await rejection(chosen.provider());
    expect(error.reason).toBe('InvalidResponse');
    expect(error.message).toContain(DEFAULT_ROLE(MEMBER));
  });

  it('keeps the session per role and renews it 5 minutes before it expires', async () => {
    sts.credentialLifetime(900);
    const forAccount = credentialsFor();
    const first = await assumed(forAccount({ accountId: MEMBER, roleArn: undefined })).provider();
    // Another selection of the same account, as a second source's client would make, shares the session.
    const again = assumed(forAccount({ accountId: MEMBER, roleArn: undefined }));
    now = new Date(START.getTime() + 599_000);
    expect(await again.provider()).toBe(first);
    expect(sts.issued).toHaveLength(1);

    now = new Date(START.getTime() + 600_000);
    const renewed = await again.provider();
    expect(sts.issued).toHaveLength(2);
    expect(renewed.accessKeyId).toBe(sts.issued[1]?.accessKeyId);
    expect(renewed.accessKeyId).not.toBe(first.accessKeyId);
    expect(renewed.expiration).toEqual(new Date(START.getTime() + 600_000 + 900_000));

    // Another role has its own session.
    await assumed(forAccount({ accountId: CUSTOM, roleArn: CUSTOM_ROLE })).provider();
    expect(sts.issued.map((c) => c.roleArn)).toEqual([DEFAULT_ROLE(MEMBER), DEFAULT_ROLE(MEMBER), CUSTOM_ROLE]);
  });

  it('lets concurrent callers share one AssumeRole', async () => {
    sts.delay(50);
    const forAccount = credentialsFor();
    const providers = Array.from(
      { length: 8 },
      () => assumed(forAccount({ accountId: MEMBER, roleArn: undefined })).provider,
    );
    const results = await Promise.all(providers.map((provider) => provider()));
    expect(sts.requests.filter((r) => r.action === 'AssumeRole')).toHaveLength(1);
    expect(new Set(results).size).toBe(1);
  });

  it('lets concurrent callers share one failure, then tries again', async () => {
    sts.delay(50);
    const chosen = assumed(credentialsFor({ externalId: 'mim-ext-wrong' })({ accountId: MEMBER, roleArn: undefined }));
    const outcomes = await Promise.allSettled([chosen.provider(), chosen.provider(), chosen.provider()]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(sts.requests).toHaveLength(1);
    await rejection(chosen.provider());
    expect(sts.requests).toHaveLength(2);
  });

  it('signs requests with the assumed credentials', async () => {
    const chosen = assumed(credentialsFor()({ accountId: MEMBER, roleArn: undefined }));
    const member = fakeStsClient(sts.endpoint, chosen.provider);
    const identity = await callerIdentity(member);
    expect(identity).toEqual({
      account: MEMBER,
      arn: `arn:aws:sts::${MEMBER}:assumed-role/MimDiscoveryReadOnly/mim-discovery`,
      partition: 'aws',
    });
    const issued = sts.issued[0];
    const seen = sts.requests.at(-1);
    expect([seen?.action, seen?.accessKeyId, seen?.sessionToken]).toEqual([
      'GetCallerIdentity',
      issued?.accessKeyId,
      issued?.sessionToken,
    ]);
    // The fake verifies signatures: the key id alone, without its secret, does not pass.
    const forged = fakeStsClient(sts.endpoint, {
      accessKeyId: issued?.accessKeyId ?? '',
      secretAccessKey: 'not-the-secret',
      sessionToken: issued?.sessionToken ?? '',
    });
    await expect(forged.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
  });

  it('hands an AssumeRole failure to a client using the provider unchanged', async () => {
    const chosen = assumed(credentialsFor()({ accountId: UNTRUSTING, roleArn: undefined }));
    const member = fakeStsClient(sts.endpoint, chosen.provider);
    const error = await member.send(new GetCallerIdentityCommand({})).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DiscoveryAccountError);
    expect((error as DiscoveryAccountError).account).toBe(UNTRUSTING);
    expect(sts.requests.map((r) => r.action)).toEqual(['AssumeRole']);
  });
});

describe('callerIdentity', () => {
  it('fails with the reason when STS refuses the credentials', async () => {
    const stranger = fakeStsClient(sts.endpoint, { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' });
    const error = await rejection(callerIdentity(stranger));
    expect(error.code).toBe('DISCOVERY_CALLER_UNKNOWN');
    expect(error.reason).toBe('InvalidClientTokenId');
  });
});
