import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsDiscovery } from '#lib/adapters/discovery/aws-discovery.ts';
import { AWS_DISCOVERY_SOURCES } from '#lib/domain/discovery.ts';
import { discoverScope } from '#lib/use-cases/discover-scope.ts';
import { startFakeAcm } from '../support/fake-acm-server.ts';
import { startFakeIam } from '../support/fake-iam-server.ts';
import { startFakeKms } from '../support/fake-kms-server.ts';
import { startFakeSecretsManager } from '../support/fake-secrets-manager-server.ts';
import { FAKE_STS_CREDENTIALS, startFakeSts } from '../support/fake-sts-server.ts';
import { InMemoryDiscoveredInventory } from '../support/in-memory-discovered-inventory.ts';

/**
 * Discovery as a composition root wires it (`createAwsDiscovery`): the SDK's default credential chain and endpoint
 * resolution, pointed by `AWS_ENDPOINT_URL_<SERVICE>` at loopback servers speaking each service's protocol, as a
 * developer points `npm start` at an emulator. One account, one region, every source, end to end into an inventory.
 */

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const saved = { ...process.env };
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const sts = await startFakeSts({
    caller: { account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/developer`, userId: 'AIDAFAKEDEVELOPER0000' },
  });
  const iam = await startFakeIam({
    account: ACCOUNT,
    users: [],
    roles: [
      {
        name: 'orders-api',
        trust: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        createDate: new Date('2026-01-01T00:00:00.000Z'),
        tags: { owner: 'orders-team' },
      },
    ],
    groups: [],
    policies: [],
  });
  const acm = await startFakeAcm({
    certificates: [
      {
        arn: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/0f3c1a2b-0000-4000-8000-000000000001`,
        domainName: 'shop.example.com',
        keyAlgorithm: 'EC_prime256v1',
        type: 'AMAZON_ISSUED',
      },
    ],
  });
  const secrets = await startFakeSecretsManager({
    secrets: [
      // The fake holds a value, as the service does; discovery never asks for it.
      {
        arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:db-AbCdEf`,
        name: 'db',
        rotationEnabled: true,
        secretString: 'never-read',
      },
    ],
  });
  const kms = await startFakeKms();
  await kms.addKey({ keySpec: 'SYMMETRIC_DEFAULT', description: 'orders data key' });
  closers.push(sts.close, iam.close, acm.close, secrets.close, kms.close);
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: FAKE_STS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_STS_CREDENTIALS.secretAccessKey,
    AWS_REGION: REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_STS: sts.endpoint,
    AWS_ENDPOINT_URL_IAM: iam.endpoint,
    AWS_ENDPOINT_URL_ACM: acm.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
  });
});

afterAll(async () => {
  process.env = saved;
  for (const close of closers) await close();
});

describe('AWS discovery wired from the environment', () => {
  it('plans the credentials account in the default region and reads every source into the inventory', async () => {
    const aws = createAwsDiscovery({ config: {}, defaultRegion: REGION });
    const plan = await aws.plan();
    expect(plan).toEqual({ accounts: [{ accountId: ACCOUNT, roleArn: undefined }], regions: [REGION] });
    const inventory = new InMemoryDiscoveredInventory();
    const seen: Record<string, number> = {};
    for (const source of AWS_DISCOVERY_SOURCES) {
      const region = source === 'aws-iam' ? 'global' : REGION;
      const unit = { runId: 'r', source, account: ACCOUNT, region };
      const counts = await discoverScope(
        { source: await aws.sourceFor(unit), inventory, clock: { now: () => new Date() } },
        { source, account: ACCOUNT, region },
        { missingAfterRuns: 2 },
      );
      seen[source] = counts.seen;
    }
    expect(seen).toEqual({ 'aws-iam': 1, 'aws-acm': 1, 'aws-secrets-manager': 1, 'aws-kms': 1 });
    const found = [...inventory.items.values()].map(
      (i) => `${i.type} ${i.type === 'kms-key' ? i.facts.description : i.name}`,
    );
    expect(found.sort()).toEqual([
      'iam-role orders-api',
      'kms-key orders data key',
      'secret db',
      'x509-certificate shop.example.com',
    ]);
    expect(JSON.stringify([...inventory.items.values()])).not.toContain('never-read');
    expect([...inventory.items.values()].find((i) => i.type === 'iam-role')?.owner).toBe('orders-team');
  });

  it('says AWS cannot be read, with what to do, when there are no credentials', async () => {
    const keep = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = '';
    process.env.AWS_SECRET_ACCESS_KEY = '';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    try {
      const plan = await createAwsDiscovery({ config: {}, defaultRegion: REGION }).plan();
      expect(plan).toMatchObject({ unavailable: expect.stringContaining('Give the control plane AWS credentials') });
    } finally {
      process.env = keep;
    }
  });
});
