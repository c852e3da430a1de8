import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { DynamoDbInventorySummary } from '#lib/adapters/dynamodb-inventory-summary.ts';
import { afterSeen } from '#lib/domain/discovery.ts';
import { KEY_LAYOUT, upgradeLocalKeys } from '../../infra/local/upgrade-local-keys.ts';
import { countItems, type FreshTable, freshTable } from '../support/dynamodb.ts';

/**
 * A data directory written before the burst shards: its items, written here with the old keys exactly as the old code
 * wrote them, are found by today's queries after the upgrade `npm start` runs once.
 */

const SERIAL = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const IDENTITY = '6f1c2d3e-4a5b-4c6d-8e7f-901234567890';
const AT = '2026-06-01T10:00:00.000Z';
let table: FreshTable;
let dir: string;

beforeAll(async () => {
  table = await freshTable();
  dir = await mkdtemp(join(tmpdir(), 'mim-upgrade-'));
  const put = (Item: Record<string, unknown>) => table.doc.send(new PutCommand({ TableName: table.tableName, Item }));
  await put({
    pk: `CERT#${SERIAL}`,
    sk: 'CERT',
    serialNumber: SERIAL,
    identityId: IDENTITY,
    policy: 'server',
    subject: 'CN=old.local.test',
    subjectAltNames: [{ type: 'dns', value: 'old.local.test' }],
    keyAlgorithm: 'EC_P256',
    keySize: 256,
    notBefore: AT,
    notAfter: '2026-12-01T10:00:00.000Z',
    renewAfter: '2026-11-01T10:00:00.000Z',
    fingerprintSha256: 'ab'.repeat(32),
    issuedAt: AT,
    issuedBy: 'local:admin',
    status: 'active',
    certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    tags: {},
    expiryDay: 'EXP#2026-12-01',
    expirySk: `2026-12-01T10:00:00.000Z#${SERIAL}`,
  });
  await put({
    pk: `IDN#${IDENTITY}`,
    sk: 'IDN',
    identityId: IDENTITY,
    type: 'x509-certificate',
    status: 'active',
    owner: 'local:admin',
    policy: 'server',
    tags: {},
    name: 'old.local.test',
    source: 'issued',
    currentSerialNumber: SERIAL,
    expiresAt: '2026-12-01T10:00:00.000Z',
    createdAt: AT,
    updatedAt: AT,
    typePk: 'TYPE#x509-certificate',
    typeSk: `active#${AT}#${IDENTITY}`,
    ownerPk: 'OWNER#local:admin',
    ownerSk: `x509-certificate#active#${AT}#${IDENTITY}`,
  });
  await put({
    pk: 'AUDIT#2026-06-01',
    sk: `${AT}#e-1`,
    eventId: 'e-1',
    at: AT,
    action: 'CertificateIssued',
    actor: 'local:admin',
    target: `certificate/${SERIAL}`,
    details: { identityId: IDENTITY },
  });
  await put({ pk: 'IDEMPOTENCY', sk: 'http#abc', status: 'COMPLETED', ttl: 1 });
  // A discovery run whose parts were a map in its record.
  await put({
    pk: 'DRUN',
    sk: '20260601T100000Z-old',
    runId: '20260601T100000Z-old',
    startedAt: AT,
    startedBy: 'schedule',
    trigger: 'schedule',
    parts: {
      'aws-kms|111122223333|eu-west-1': {
        source: 'aws-kms',
        account: '111122223333',
        region: 'eu-west-1',
        status: 'succeeded',
        counts: { seen: 1, new: 1, changed: 0, missing: 0, reappeared: 0 },
        finishedAt: '2026-06-01T10:00:05.000Z',
      },
      'aws-iam|111122223333|global': {
        source: 'aws-iam',
        account: '111122223333',
        region: 'global',
        status: 'failed',
        reason: 'AccessDenied',
        counts: { seen: 0, new: 0, changed: 0, missing: 0, reappeared: 0 },
        finishedAt: '2026-06-01T10:00:03.000Z',
      },
    },
  });
  // A discovered identity from before the listing indexes: only its table key and byScope shard.
  const seen = afterSeen(
    undefined,
    {
      source: 'aws-kms',
      type: 'kms-key',
      arn: 'arn:aws:kms:eu-west-1:111122223333:key/old',
      name: 'alias/old',
      account: '111122223333',
      region: 'eu-west-1',
      tags: { team: 'platform' },
      facts: {},
    },
    AT,
  );
  if (!seen) throw new Error('new');
  const { owner, ...rest } = seen.identity;
  await put({ ...rest, owner, pk: `DID#${seen.identity.identityId}`, sk: 'DID' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('makes an older data directory readable by the sharded queries, once', async () => {
  const inventory = new DynamoDbInventory(table.doc, table.tableName);
  expect((await inventory.listIdentities({ source: 'issued' }, { limit: 10 })).items).toEqual([]);
  expect((await inventory.listAuditEvents('2026-06-01', { limit: 10 })).items).toEqual([]);

  expect(await upgradeLocalKeys(table.doc, table.tableName, dir)).toBe(6);
  expect((await readFile(join(dir, 'key-layout'), 'utf8')).trim()).toBe(String(KEY_LAYOUT));
  expect((await stat(join(dir, 'key-layout'))).mode & 0o077).toBe(0);

  const issued = await inventory.listIdentities({ source: 'issued' }, { limit: 10 });
  expect(issued.items.map((i) => i.identityId)).toEqual([IDENTITY]);
  expect((await inventory.listIdentities({ owner: 'local:admin' }, { limit: 10 })).items).toHaveLength(1);
  const kms = await inventory.listIdentities({ account: '111122223333', type: 'kms-key' }, { limit: 10 });
  expect(kms.items.map((i) => i.name)).toEqual(['alias/old']);
  expect((await inventory.listIdentities({ owner: 'platform' }, { limit: 10 })).items).toHaveLength(1);
  const audit = await inventory.listAuditEvents('2026-06-01', { limit: 10 });
  expect(audit.items.map((a) => a.eventId)).toEqual(['e-1']);
  const expiring = await inventory.listCertificatesExpiring(
    new Date('2026-12-01T00:00:00Z'),
    new Date('2026-12-02T00:00:00Z'),
    { limit: 10 },
  );
  expect(expiring.items.map((c) => c.serialNumber)).toEqual([SERIAL]);
  const idempotency = await table.doc.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: 'IDEMPOTENCY', sk: 'http#abc' } }),
  );
  expect(idempotency.Item).toBeUndefined();
  const discovered = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
  const scope = { source: 'aws-kms', account: '111122223333', region: 'eu-west-1' } as const;
  let inScope = 0;
  for await (const page of discovered.listScope(scope)) inScope += page.length;
  expect(inScope).toBe(1);

  const runs = new DynamoDbDiscoveryRuns(table.doc, table.tableName);
  const [summary] = await runs.listRuns(5);
  expect(summary?.tally).toMatchObject({ parts: 2, succeeded: 1, failed: 1, counts: { seen: 1, new: 1 } });
  expect((await runs.getRun('20260601T100000Z-old'))?.parts.map((p) => p.status)).toEqual(['failed', 'succeeded']);

  // Identities from before the summary are counted in it.
  const counted = await new DynamoDbInventorySummary(table.doc, table.tableName).read();
  expect(counted.counters).toMatchObject({ 'source:issued': 1, 'source:aws-kms': 1, 'owner:platform': 1 });

  // Recorded: the next start does not scan again, and a forced second pass would change nothing.
  const items = await countItems(table.client, table.tableName);
  expect(await upgradeLocalKeys(table.doc, table.tableName, dir)).toBe(0);
  const again = await mkdtemp(join(tmpdir(), 'mim-upgrade-again-'));
  try {
    expect(await upgradeLocalKeys(table.doc, table.tableName, again)).toBe(0);
  } finally {
    await rm(again, { recursive: true, force: true });
  }
  expect(await countItems(table.client, table.tableName)).toBe(items);
});
