import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AwsSecretsManagerSource,
  createAwsSecretsManagerSource,
  createSecretsManagerDiscoveryClient,
} from '#lib/adapters/discovery/aws-secrets-manager-source.ts';
import { DiscoveryReadError } from '#lib/adapters/discovery/discovery-read-error.ts';
import type { Observation } from '#lib/domain/discovery.ts';
import type { DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import {
  type FakeSecret,
  type FakeSecretsManager,
  fakeSecretsManagerClient,
  type RecordedSecretsManagerRequest,
  startFakeSecretsManager,
} from '#test/support/fake-secrets-manager-server.ts';

const SCOPE = { account: '111122223333', region: 'us-east-1' };
const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:111122223333:secret:${name}`;
const PAYMENTS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Rotated every 30 days by a Lambda, used daily, encrypted with a customer managed key. */
const ROTATED: FakeSecret = {
  arn: arn('prod/payments/db-AbC123'),
  name: 'prod/payments/db',
  description: 'Payments database credentials',
  kmsKeyId: PAYMENTS_KEY,
  rotationEnabled: true,
  rotationLambdaArn: 'arn:aws:lambda:us-east-1:111122223333:function:rotate-payments-db',
  rotationRules: { automaticallyAfterDays: 30, scheduleExpression: 'rate(30 days)', duration: '2h' },
  lastRotatedDate: new Date('2026-10-01T03:12:44.123Z'),
  lastChangedDate: new Date('2026-10-01T03:12:44.123Z'),
  lastAccessedDate: new Date('2026-11-20T00:00:00Z'),
  nextRotationDate: new Date('2026-10-31T23:59:59Z'),
  createdDate: new Date('2025-02-14T16:40:00.500Z'),
  tags: { owner: 'payments', env: 'prod' },
  secretString: '{"username":"payments","password":"s3cr3t-Rotated-Value"}',
};

/** Never rotated, never read, on the default key, replicated from another region. */
const UNROTATED: FakeSecret = {
  arn: arn('legacy/ftp-password-Zz9Yy8'),
  name: 'legacy/ftp-password',
  lastChangedDate: new Date('2024-01-09T10:00:00Z'),
  createdDate: new Date('2024-01-09T10:00:00Z'),
  primaryRegion: 'us-west-2',
  secretString: 'hunter2-Unrotated-Value',
};

/** The master user secret RDS manages for a database, rotated by RDS every 7 days. */
const RDS_OWNED: FakeSecret = {
  arn: arn('rds!db-3e1b8c1a-5d4f-4e6a-9b7c-2f0d8e6a4c11-Qw3Er4'),
  name: 'rds!db-3e1b8c1a-5d4f-4e6a-9b7c-2f0d8e6a4c11',
  description: 'Secret associated with primary RDS DB instance: arn:aws:rds:us-east-1:111122223333:db:orders',
  kmsKeyId: PAYMENTS_KEY,
  rotationEnabled: true,
  rotationRules: { automaticallyAfterDays: 7, scheduleExpression: 'rate(7 days)' },
  lastRotatedDate: new Date('2026-11-22T07:30:01Z'),
  lastAccessedDate: new Date('2026-11-22T00:00:00Z'),
  nextRotationDate: new Date('2026-11-29T23:59:59Z'),
  createdDate: new Date('2026-01-05T11:00:00Z'),
  owningService: 'rds',
  tags: {
    'aws:rds:primaryDBInstanceArn': 'arn:aws:rds:us-east-1:111122223333:db:orders',
    'aws:secretsmanager:owningService': 'rds',
  },
  secretString: '{"username":"admin","password":"rds-Managed-Value"}',
};

/** Scheduled for deletion: ListSecrets leaves it out unless asked for planned deletions. */
const DELETED: FakeSecret = {
  arn: arn('old/api-key-Gh7Jk8'),
  name: 'old/api-key',
  createdDate: new Date('2023-03-03T03:03:03Z'),
  deletedDate: new Date('2026-12-01T00:00:00Z'),
  secretString: 'deleted-Secret-Value',
};

const ESTATE = [ROTATED, UNROTATED, DELETED, RDS_OWNED];
const VALUES = ESTATE.map((secret) => secret.secretString);

const EXPECTED: Observation[] = [
  {
    source: 'aws-secrets-manager',
    type: 'secret',
    arn: ROTATED.arn,
    name: 'prod/payments/db',
    account: SCOPE.account,
    region: SCOPE.region,
    tags: { owner: 'payments', env: 'prod' },
    facts: {
      rotationEnabled: true,
      rotationRules: { automaticallyAfterDays: 30, scheduleExpression: 'rate(30 days)', duration: '2h' },
      lastRotatedDate: '2026-10-01',
      lastAccessedDate: '2026-11-20',
      nextRotationDate: '2026-10-31T23:59:59.000Z',
      owningService: null,
      kmsKeyId: PAYMENTS_KEY,
      createdDate: '2025-02-14T16:40:00.500Z',
      primaryRegion: null,
    },
  },
  {
    source: 'aws-secrets-manager',
    type: 'secret',
    arn: UNROTATED.arn,
    name: 'legacy/ftp-password',
    account: SCOPE.account,
    region: SCOPE.region,
    tags: {},
    facts: {
      rotationEnabled: false,
      rotationRules: null,
      lastRotatedDate: null,
      lastAccessedDate: null,
      nextRotationDate: null,
      owningService: null,
      kmsKeyId: 'alias/aws/secretsmanager',
      createdDate: '2024-01-09T10:00:00.000Z',
      primaryRegion: 'us-west-2',
    },
  },
  {
    source: 'aws-secrets-manager',
    type: 'secret',
    arn: RDS_OWNED.arn,
    name: 'rds!db-3e1b8c1a-5d4f-4e6a-9b7c-2f0d8e6a4c11',
    account: SCOPE.account,
    region: SCOPE.region,
    tags: {
      'aws:rds:primaryDBInstanceArn': 'arn:aws:rds:us-east-1:111122223333:db:orders',
      'aws:secretsmanager:owningService': 'rds',
    },
    facts: {
      rotationEnabled: true,
      rotationRules: { automaticallyAfterDays: 7, scheduleExpression: 'rate(7 days)', duration: null },
      lastRotatedDate: '2026-11-22',
      lastAccessedDate: '2026-11-22',
      nextRotationDate: '2026-11-29T23:59:59.000Z',
      owningService: 'rds',
      kmsKeyId: PAYMENTS_KEY,
      createdDate: '2026-01-05T11:00:00.000Z',
      primaryRegion: null,
    },
  },
];

const fastRetries = () => new ConfiguredRetryStrategy(4, 1);

async function collect(source: DiscoverySource, options: { resumeFrom?: string } = {}): Promise<ObservationPage[]> {
  const pages: ObservationPage[] = [];
  for await (const page of source.pages(SCOPE, options)) pages.push(page);
  return pages;
}

let secretsManager: FakeSecretsManager;
let client: ReturnType<typeof fakeSecretsManagerClient>;
/** Every request any fake of this file received, kept across the per-test resets. */
const everyRequest: RecordedSecretsManagerRequest[] = [];

beforeAll(async () => {
  secretsManager = await startFakeSecretsManager({ secrets: ESTATE });
  client = fakeSecretsManagerClient(secretsManager.endpoint);
});

afterEach(() => {
  everyRequest.push(...secretsManager.requests);
  secretsManager.reset();
});

afterAll(async () => {
  client.destroy();
  await secretsManager.close();
  // The discovery role must not be able to read a secret: no source run ever asked for a value.
  expect(everyRequest.length).toBeGreaterThan(10);
  expect(everyRequest.map((request) => request.target)).not.toContain('GetSecretValue');
  expect(everyRequest.map((request) => request.target)).not.toContain('BatchGetSecretValue');
});

describe('the fake Secrets Manager, through the real SDK client', () => {
  it('lists secrets with their tags in the SDK shape, and planned deletions only when asked', async () => {
    const listed = await client.send(new ListSecretsCommand({}));
    expect(listed.SecretList?.map((secret) => secret.Name)).toEqual([
      'prod/payments/db',
      'legacy/ftp-password',
      'rds!db-3e1b8c1a-5d4f-4e6a-9b7c-2f0d8e6a4c11',
    ]);
    expect(listed.SecretList?.[0]).toMatchObject({
      ARN: ROTATED.arn,
      RotationEnabled: true,
      RotationRules: { AutomaticallyAfterDays: 30, ScheduleExpression: 'rate(30 days)', Duration: '2h' },
      LastAccessedDate: new Date('2026-11-20T00:00:00Z'),
      CreatedDate: new Date('2025-02-14T16:40:00.500Z'),
      Tags: [
        { Key: 'owner', Value: 'payments' },
        { Key: 'env', Value: 'prod' },
      ],
    });
    const withDeleted = await client.send(new ListSecretsCommand({ IncludePlannedDeletion: true }));
    expect(withDeleted.SecretList?.find((secret) => secret.Name === 'old/api-key')?.DeletedDate).toEqual(
      new Date('2026-12-01T00:00:00Z'),
    );
  });
});

describe('AwsSecretsManagerSource', () => {
  it('observes every secret: with and without rotation, owned by a service; nothing scheduled for deletion', async () => {
    const source = createAwsSecretsManagerSource({ client });
    expect(source).toMatchObject({ name: 'aws-secrets-manager', global: false });

    const pages = await collect(source);
    expect(pages).toEqual([{ observations: EXPECTED, marker: undefined }]);
    expect(secretsManager.requests).toEqual([
      { target: 'ListSecrets', body: { IncludePlannedDeletion: false, MaxResults: 100 }, status: 200 },
    ]);
  });

  it('never reads, nor puts in its facts, a secret value', async () => {
    const serialized = JSON.stringify(await collect(createAwsSecretsManagerSource({ client })));
    for (const value of VALUES) expect(serialized).not.toContain(value);
    expect(secretsManager.requests.map((request) => request.target)).toEqual(['ListSecrets']);
  });

  it('follows NextToken through short pages, and a run resumes after the page whose marker it was given', async () => {
    const short = await startFakeSecretsManager({ secrets: ESTATE, maxPageSize: 1 });
    const shortClient = fakeSecretsManagerClient(short.endpoint);
    try {
      const source = new AwsSecretsManagerSource({ client: shortClient, pageSize: 2 });
      const pages = await collect(source);
      expect(pages.map((page) => page.observations)).toEqual([[EXPECTED[0]], [EXPECTED[1]], [EXPECTED[2]]]);
      expect(pages.map((page) => page.marker === undefined)).toEqual([false, false, true]);

      const resumed = await collect(source, { resumeFrom: pages[1]?.marker ?? '' });
      expect(resumed).toEqual(pages.slice(2));
      expect(short.requests.at(-1)?.body).toEqual({
        IncludePlannedDeletion: false,
        MaxResults: 2,
        NextToken: pages[1]?.marker,
      });
      everyRequest.push(...short.requests);
    } finally {
      shortClient.destroy();
      await short.close();
    }
  });

  it('recovers from throttling with the client retries', async () => {
    const retrying = fakeSecretsManagerClient(secretsManager.endpoint, { retryStrategy: fastRetries() });
    try {
      secretsManager.throttle('ListSecrets', 3);
      expect(await collect(createAwsSecretsManagerSource({ client: retrying }))).toEqual([
        { observations: EXPECTED, marker: undefined },
      ]);
      expect(secretsManager.requests.map((request) => request.status)).toEqual([400, 400, 400, 200]);
    } finally {
      retrying.destroy();
    }
  });

  it('throws a DiscoveryReadError naming secretsmanager:ListSecrets when access is denied', async () => {
    secretsManager.deny('ListSecrets');
    const error = await collect(createAwsSecretsManagerSource({ client })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscoveryReadError);
    expect(error).toMatchObject({
      code: 'DISCOVERY_READ_FAILED',
      source: 'aws-secrets-manager',
      action: 'secretsmanager:ListSecrets',
      reason: 'AccessDeniedException',
      message: 'aws-secrets-manager could not read: secretsmanager:ListSecrets failed with AccessDeniedException.',
    });
  });

  it('throws once throttling outlasts the client retries', async () => {
    secretsManager.throttle('ListSecrets', 2);
    await expect(collect(createAwsSecretsManagerSource({ client }))).rejects.toMatchObject({
      action: 'secretsmanager:ListSecrets',
      reason: 'ThrottlingException',
    });
  });

  it('builds its default client with adaptive retry', async () => {
    const built = createSecretsManagerDiscoveryClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' },
    });
    try {
      expect(await built.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
      expect(await built.config.region()).toBe('eu-west-1');
    } finally {
      built.destroy();
    }
  });
});
