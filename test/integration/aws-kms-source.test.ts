import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
} from '@aws-sdk/client-kms';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AwsKmsSource,
  createAwsKmsSource,
  createKmsDiscoveryClient,
  ROTATION_NOT_APPLICABLE,
} from '#lib/adapters/discovery/aws-kms-source.ts';
import { DiscoveryReadError } from '#lib/adapters/discovery/discovery-read-error.ts';
import type { Observation } from '#lib/domain/discovery.ts';
import type { DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import {
  FAKE_KMS_CREDENTIALS,
  type FakeKms,
  type FakeKmsOptions,
  startFakeKms,
} from '#test/support/fake-kms-server.ts';

const SCOPE = { account: '111122223333', region: 'us-east-1' };
const keyArn = (id: string) => `arn:aws:kms:us-east-1:111122223333:key/${id}`;

interface Estate {
  /** Customer symmetric encryption key, rotated every year, two aliases. */
  readonly rotated: string;
  /** AWS managed key of S3: not an identity anyone manages. */
  readonly awsManaged: string;
  /** Customer asymmetric signing key: rotation does not apply. */
  readonly signing: string;
  /** Customer symmetric key with imported key material, multi-Region: KMS cannot rotate it. */
  readonly imported: string;
  /** Customer symmetric key pending deletion: KMS reports its rotation off. */
  readonly retiring: string;
}

async function seed(kms: FakeKms): Promise<Estate> {
  const rotated = await kms.addKey({
    keySpec: 'SYMMETRIC_DEFAULT',
    description: 'Payments data key',
    creationDate: new Date('2025-01-10T08:30:00Z'),
    rotationEnabled: true,
    tags: { owner: 'payments', 'cost-center': '42' },
  });
  const awsManaged = await kms.addKey({
    keySpec: 'SYMMETRIC_DEFAULT',
    keyManager: 'AWS',
    description: 'Default key that protects my S3 objects when no other key is defined',
    creationDate: new Date('2020-06-01T00:00:00Z'),
  });
  const signing = await kms.addKey({
    keySpec: 'ECC_NIST_P256',
    keyUsage: 'SIGN_VERIFY',
    description: 'Release signing',
    creationDate: new Date('2026-02-02T12:00:00.125Z'),
    tags: { team: 'release' },
  });
  const imported = await kms.addKey({
    keySpec: 'SYMMETRIC_DEFAULT',
    origin: 'EXTERNAL',
    multiRegion: true,
    creationDate: new Date('2026-04-04T04:04:04Z'),
  });
  const retiring = await kms.addKey({
    keySpec: 'SYMMETRIC_DEFAULT',
    keyState: 'PendingDeletion',
    creationDate: new Date('2023-07-07T07:07:07Z'),
    deletionDate: new Date('2026-12-07T00:00:00Z'),
    rotationEnabled: true,
  });
  kms.createAlias('alias/payments-data', rotated);
  kms.createAlias('alias/aws/s3', awsManaged);
  kms.createAlias('alias/code-signing', signing);
  // Listed before its key exists, like AWS's predefined aliases (alias/aws/ebs…) in a fresh region.
  kms.createAlias('alias/aws/ebs');
  kms.createAlias('alias/payments', rotated);
  return { rotated, awsManaged, signing, imported, retiring };
}

function expected(estate: Estate): Observation[] {
  const base = { source: 'aws-kms', type: 'kms-key', account: SCOPE.account, region: SCOPE.region } as const;
  return [
    {
      ...base,
      arn: keyArn(estate.rotated),
      name: 'alias/payments',
      tags: { owner: 'payments', 'cost-center': '42' },
      facts: {
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        keyState: 'Enabled',
        origin: 'AWS_KMS',
        keyManager: 'CUSTOMER',
        multiRegion: false,
        creationDate: '2025-01-10T08:30:00.000Z',
        rotationEnabled: true,
        aliases: ['alias/payments', 'alias/payments-data'],
        description: 'Payments data key',
      },
    },
    {
      ...base,
      arn: keyArn(estate.signing),
      name: 'alias/code-signing',
      tags: { team: 'release' },
      facts: {
        keySpec: 'ECC_NIST_P256',
        keyUsage: 'SIGN_VERIFY',
        keyState: 'Enabled',
        origin: 'AWS_KMS',
        keyManager: 'CUSTOMER',
        multiRegion: false,
        creationDate: '2026-02-02T12:00:00.125Z',
        rotationEnabled: 'not-applicable',
        aliases: ['alias/code-signing'],
        description: 'Release signing',
      },
    },
    {
      ...base,
      arn: keyArn(estate.imported),
      name: estate.imported,
      tags: {},
      facts: {
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        keyState: 'Enabled',
        origin: 'EXTERNAL',
        keyManager: 'CUSTOMER',
        multiRegion: true,
        creationDate: '2026-04-04T04:04:04.000Z',
        rotationEnabled: 'not-applicable',
        aliases: [],
        description: '',
      },
    },
    {
      ...base,
      arn: keyArn(estate.retiring),
      name: estate.retiring,
      tags: {},
      facts: {
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        keyState: 'PendingDeletion',
        origin: 'AWS_KMS',
        keyManager: 'CUSTOMER',
        multiRegion: false,
        creationDate: '2023-07-07T07:07:07.000Z',
        deletionDate: '2026-12-07T00:00:00.000Z',
        rotationEnabled: false,
        aliases: [],
        description: '',
      },
    },
  ];
}

/** The real SDK client aimed at a fake: one attempt, or fast retries when asked (the fake's throttling is injected). */
function kmsClient(endpoint: string, retries = false): KMSClient {
  return new KMSClient({
    endpoint,
    region: SCOPE.region,
    credentials: FAKE_KMS_CREDENTIALS,
    ...(retries ? { retryStrategy: new ConfiguredRetryStrategy(4, 1) } : { maxAttempts: 1 }),
  });
}

async function collect(source: DiscoverySource, options: { resumeFrom?: string } = {}): Promise<ObservationPage[]> {
  const pages: ObservationPage[] = [];
  for await (const page of source.pages(SCOPE, options)) pages.push(page);
  return pages;
}

/** Runs `body` against a fake KMS of its own, seeded with the estate. */
async function withFake<T>(
  options: FakeKmsOptions,
  body: (kms: FakeKms, client: KMSClient, estate: Estate) => Promise<T>,
): Promise<T> {
  const kms = await startFakeKms(options);
  const own = kmsClient(kms.endpoint);
  try {
    return await body(kms, own, await seed(kms));
  } finally {
    own.destroy();
    await kms.close();
  }
}

let kms: FakeKms;
let client: KMSClient;
let estate: Estate;

beforeAll(async () => {
  kms = await startFakeKms();
  client = kmsClient(kms.endpoint);
  estate = await seed(kms);
});

afterEach(() => {
  kms.requests.length = 0;
});

afterAll(async () => {
  client.destroy();
  await kms.close();
});

describe('the fake KMS listing operations, through the real SDK client', () => {
  it('lists keys and aliases and describes keys in the SDK shape', async () => {
    const keys = await client.send(new ListKeysCommand({}));
    expect(keys.Keys?.map((key) => key.KeyId)).toEqual(Object.values(estate));
    expect(keys.Truncated).toBe(false);
    expect(estate.imported).toMatch(/^mrk-[0-9a-f]{32}$/);

    const described = await client.send(new DescribeKeyCommand({ KeyId: 'alias/payments' }));
    expect(described.KeyMetadata).toMatchObject({
      KeyId: estate.rotated,
      KeyManager: 'CUSTOMER',
      KeySpec: 'SYMMETRIC_DEFAULT',
      CreationDate: new Date('2025-01-10T08:30:00Z'),
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    });
    const retiring = await client.send(new DescribeKeyCommand({ KeyId: keyArn(estate.retiring) }));
    expect(retiring.KeyMetadata).toMatchObject({
      KeyState: 'PendingDeletion',
      Enabled: false,
      DeletionDate: new Date('2026-12-07T00:00:00Z'),
    });

    const aliases = await client.send(new ListAliasesCommand({ KeyId: estate.rotated }));
    expect(aliases.Aliases?.map((alias) => alias.AliasName)).toEqual(['alias/payments-data', 'alias/payments']);
    const ebs = (await client.send(new ListAliasesCommand({}))).Aliases?.find(
      (alias) => alias.AliasName === 'alias/aws/ebs',
    );
    expect(ebs).toEqual({ AliasName: 'alias/aws/ebs', AliasArn: 'arn:aws:kms:us-east-1:111122223333:alias/aws/ebs' });
  });

  it('answers GetKeyRotationStatus for symmetric encryption keys only', async () => {
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: estate.rotated }));
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 365 });
    await expect(client.send(new GetKeyRotationStatusCommand({ KeyId: estate.signing }))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
    });
  });
});

describe('AwsKmsSource', () => {
  it('observes customer keys with rotation, aliases and tags, and skips AWS managed keys', async () => {
    const source = createAwsKmsSource({ client });
    expect(source).toMatchObject({ name: 'aws-kms', global: false });

    expect(await collect(source)).toEqual([{ observations: expected(estate), marker: undefined }]);

    const calls = (target: string) =>
      kms.requests
        .filter((request) => request.target === target)
        .map((request) => (request.body as { KeyId?: string }).KeyId);
    expect(kms.requests.filter((request) => request.target === 'ListAliases').map((r) => r.body)).toEqual([
      { Limit: 100 },
    ]);
    expect(kms.requests.filter((request) => request.target === 'ListKeys').map((r) => r.body)).toEqual([
      { Limit: 100 },
    ]);
    expect(calls('DescribeKey').sort()).toEqual(Object.values(estate).sort());
    // Rotation is asked of symmetric encryption customer keys only; tags of customer keys only.
    expect(calls('GetKeyRotationStatus').sort()).toEqual([estate.rotated, estate.imported, estate.retiring].sort());
    expect(calls('ListResourceTags').sort()).toEqual(
      [estate.rotated, estate.signing, estate.imported, estate.retiring].sort(),
    );
    expect(ROTATION_NOT_APPLICABLE).toBe('not-applicable');
  });

  it('follows markers through short pages, and a run resumes after the page whose marker it was given', async () => {
    await withFake({ maxPageSize: 2 }, async (short, shortClient, shortEstate) => {
      const source = new AwsKmsSource({ client: shortClient, pageSize: 3 });
      const pages = await collect(source);
      const [rotated, signing, imported, retiring] = expected(shortEstate);
      // ListKeys pages of two: [rotated, AWS managed], [signing, imported], [retiring].
      expect(pages.map((page) => page.observations)).toEqual([[rotated], [signing, imported], [retiring]]);
      expect(pages.map((page) => page.marker === undefined)).toEqual([false, false, true]);
      // Five aliases in pages of two.
      expect(short.requests.filter((request) => request.target === 'ListAliases')).toHaveLength(3);

      const resumed = await collect(source, { resumeFrom: pages[0]?.marker ?? '' });
      expect(resumed).toEqual(pages.slice(1));
      expect(short.requests.filter((request) => request.target === 'ListKeys').at(-2)?.body).toEqual({
        Limit: 3,
        Marker: pages[0]?.marker,
      });
    });
  });

  it('recovers from throttling with the client retries', async () => {
    const retrying = kmsClient(kms.endpoint, true);
    try {
      for (const target of ['ListAliases', 'ListKeys', 'DescribeKey', 'GetKeyRotationStatus', 'ListResourceTags']) {
        kms.throttle(target, 2);
      }
      expect(await collect(createAwsKmsSource({ client: retrying }))).toEqual([
        { observations: expected(estate), marker: undefined },
      ]);
    } finally {
      retrying.destroy();
    }
  });

  it.each(['ListAliases', 'ListKeys', 'DescribeKey', 'GetKeyRotationStatus', 'ListResourceTags'])(
    'throws a DiscoveryReadError naming kms:%s when access is denied',
    async (target) => {
      await withFake({}, async (denying, denyingClient) => {
        denying.deny(target);
        const error = await collect(createAwsKmsSource({ client: denyingClient })).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(DiscoveryReadError);
        expect(error).toMatchObject({
          code: 'DISCOVERY_READ_FAILED',
          source: 'aws-kms',
          action: `kms:${target}`,
          reason: 'AccessDeniedException',
          message: `aws-kms could not read: kms:${target} failed with AccessDeniedException.`,
        });
      });
    },
  );

  it('leaves out a key whose deletion completed after it was listed', async () => {
    const lone = await startFakeKms();
    const loneClient = kmsClient(lone.endpoint);
    try {
      await lone.addKey({ keySpec: 'SYMMETRIC_DEFAULT' });
      lone.failRequests({ target: 'DescribeKey', errorType: 'NotFoundException' });
      expect(await collect(createAwsKmsSource({ client: loneClient }))).toEqual([
        { observations: [], marker: undefined },
      ]);
    } finally {
      loneClient.destroy();
      await lone.close();
    }
  });

  it('reports rotation as unknown (null) when the key state does not let KMS tell', async () => {
    kms.failRequests({ target: 'GetKeyRotationStatus', errorType: 'KMSInvalidStateException', times: 3 });
    const [page] = await collect(createAwsKmsSource({ client }));
    const rotation = page?.observations.map((observation) => observation.facts.rotationEnabled);
    expect(rotation).toEqual([null, 'not-applicable', null, null]);
  });

  it('builds its default client with adaptive retry', async () => {
    const built = createKmsDiscoveryClient({
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
