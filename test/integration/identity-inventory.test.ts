import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { BURST_SHARDS, BY_TYPE_INDEX, identityListingPlan } from '#lib/adapters/dynamodb-keys.ts';
import { afterSeen, type DiscoveredIdentity, type Observation } from '#lib/domain/discovery.ts';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import type { IdentityListFilter } from '#lib/domain/identity-catalog.ts';
import type { CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { Principal } from '#lib/domain/principal.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfDiscovered, storedRiskOf } from '#lib/domain/risk/subject.ts';
import type { ListedIdentity } from '#lib/ports/certificate-inventory.ts';
import { consolidationReport } from '#lib/use-cases/consolidation.ts';
import { getIdentity, listIdentities } from '#lib/use-cases/read-inventory.ts';
import { updateIdentity } from '#lib/use-cases/update-identity.ts';
import { countItems, type FreshTable, freshTable } from '../support/dynamodb.ts';

/**
 * One inventory of issued and discovered identities against DynamoDB Local: every filter is served by key conditions
 * over the sharded listing indexes and pages through exactly the matching identities; an identity's owner, purpose
 * and tags are changed under If-Match, audited, and a manual owner outlives the next discovery run.
 */

const ACCOUNTS = ['111122223333', '444455556666'] as const;
const AT = '2026-11-29T12:00:00.000Z';
const operator: Principal = { kind: 'local-token', id: 'local:operator' };
const clock = { now: () => new Date('2026-11-30T08:00:00.000Z') };

let table: FreshTable;
let inventory: DynamoDbInventory;
let discovered: DynamoDbDiscoveredInventory;
const all: Array<IdentityRecord | DiscoveredIdentity> = [];

function issued(owner: string, i: number): { certificate: CertificateRecord; identity: IdentityRecord } {
  const serialNumber = randomBytes(16).toString('hex');
  const identityId = randomUUID();
  const createdAt = new Date(Date.parse(AT) + i * 1000).toISOString();
  return {
    certificate: {
      serialNumber,
      identityId,
      policy: 'server',
      subject: `CN=svc-${i}.local.test`,
      subjectAltNames: [{ type: 'dns', value: `svc-${i}.local.test` }],
      keyAlgorithm: 'EC_P256',
      keySize: 256,
      notBefore: createdAt,
      notAfter: '2027-01-01T00:00:00.000Z',
      renewAfter: '2026-12-20T00:00:00.000Z',
      fingerprintSha256: createHash('sha256').update(serialNumber).digest('hex'),
      issuedAt: createdAt,
      issuedBy: owner,
      status: 'active',
      certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      tags: {},
    },
    identity: {
      identityId,
      type: 'x509-certificate',
      status: 'active',
      owner,
      policy: 'server',
      tags: {},
      name: `svc-${i}.local.test`,
      source: 'issued',
      currentSerialNumber: serialNumber,
      expiresAt: '2027-01-01T00:00:00.000Z',
      createdAt,
      updatedAt: createdAt,
      version: 1,
    },
  };
}

function observation(i: number): Observation {
  const account = ACCOUNTS[i % 2] as string;
  const kinds = [
    { source: 'aws-iam', type: 'iam-role', arn: `arn:aws:iam::${account}:role/r-${i}`, region: 'global' },
    { source: 'aws-iam', type: 'iam-user', arn: `arn:aws:iam::${account}:user/u-${i}`, region: 'global' },
    { source: 'aws-iam', type: 'ai-agent', arn: `arn:aws:iam::${account}:role/agent-${i}`, region: 'global' },
    { source: 'aws-kms', type: 'kms-key', arn: `arn:aws:kms:eu-west-1:${account}:key/k-${i}`, region: 'eu-west-1' },
    {
      source: 'aws-acm',
      type: 'x509-certificate',
      arn: `arn:aws:acm:eu-west-1:${account}:certificate/c-${i}`,
      region: 'eu-west-1',
    },
    {
      source: 'aws-secrets-manager',
      type: 'secret',
      arn: `arn:aws:secretsmanager:eu-west-1:${account}:secret:s-${i}`,
      region: 'eu-west-1',
    },
  ] as const;
  const kind = kinds[i % kinds.length] as (typeof kinds)[number];
  return {
    ...kind,
    name: `n-${i}`,
    account,
    tags: i % 3 === 0 ? {} : { owner: i % 3 === 1 ? 'alice' : 'bob' },
    facts: { i },
  };
}

function matches(identity: IdentityRecord | DiscoveredIdentity, filter: IdentityListFilter): boolean {
  const account = 'account' in identity ? identity.account : undefined;
  return (
    (filter.type === undefined || identity.type === filter.type) &&
    (filter.source === undefined || identity.source === filter.source) &&
    (filter.status === undefined || identity.status === filter.status) &&
    (filter.owner === undefined || identity.owner === filter.owner) &&
    (filter.account === undefined || account === filter.account)
  );
}

async function listAll(filter: IdentityListFilter, limit: number) {
  const seen: ListedIdentity[] = [];
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    expect(pages).toBeLessThan(200);
    const page = await listIdentities({ inventory }, filter, { limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === undefined) return seen;
  }
}

beforeAll(async () => {
  table = await freshTable();
  inventory = new DynamoDbInventory(table.doc, table.tableName);
  discovered = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
  for (let i = 0; i < 10; i++) {
    const issuance = issued(i % 2 === 0 ? 'alice' : 'carol', i);
    await inventory.recordIssuance({
      ...issuance,
      audit: { eventId: randomUUID(), at: AT, action: 'CertificateIssued', actor: 'test', target: 'x', details: {} },
    });
    if (i % 3 === 0) {
      await inventory.recordRevocation({
        serialNumber: issuance.certificate.serialNumber,
        identityId: issuance.identity.identityId,
        reason: 'superseded',
        revokedAt: AT,
        revokedBy: 'test',
        audit: { eventId: randomUUID(), at: AT, action: 'CertificateRevoked', actor: 'test', target: 'x', details: {} },
      });
      all.push({ ...issuance.identity, status: 'revoked', version: 2 });
    } else {
      all.push(issuance.identity);
    }
  }
  const found: DiscoveredIdentity[] = [];
  for (let i = 0; i < 48; i++) {
    const seen = afterSeen(undefined, observation(i), AT);
    if (!seen) throw new Error('a new observation is written');
    // Every fifth is missing already, so status filters split the discovered side too.
    found.push(i % 5 === 0 ? { ...seen.identity, status: 'missing', missedRuns: 2 } : seen.identity);
  }
  await discovered.write(found);
  all.push(...found);
});

describe('listing issued and discovered identities', () => {
  const filters: IdentityListFilter[] = [
    {},
    { type: 'x509-certificate' },
    { type: 'iam-role' },
    { source: 'issued' },
    { source: 'aws-iam' },
    { source: 'aws-acm', status: 'active' },
    { status: 'missing' },
    { status: 'revoked' },
    { type: 'x509-certificate', status: 'active' },
    { owner: 'alice' },
    { owner: 'alice', type: 'x509-certificate' },
    { owner: 'bob', source: 'aws-iam', status: 'active' },
    { owner: 'alice', status: 'revoked' },
    { account: ACCOUNTS[0] },
    { account: ACCOUNTS[1], type: 'ai-agent' },
    { account: ACCOUNTS[0], source: 'aws-kms', status: 'missing' },
    { account: ACCOUNTS[0], status: 'active' },
    { account: ACCOUNTS[0], source: 'issued' },
    { owner: 'nobody' },
    { account: '999999999999' },
  ];

  for (const filter of filters) {
    it(`pages through exactly the identities matching ${JSON.stringify(filter)}`, async () => {
      const expected = all.filter((identity) => matches(identity, filter)).map((i) => i.identityId);
      const seen = await listAll(filter, 3);
      expect(seen.map((i) => i.identityId).sort()).toEqual([...expected].sort());
      for (const item of seen) expect(matches(item as IdentityRecord, filter)).toBe(true);
    });
  }

  it('has matches on both sides of the page size, from both origins', () => {
    expect(all.filter((i) => matches(i, { owner: 'alice' })).length).toBeGreaterThan(10);
    expect(new Set(all.filter((i) => matches(i, { type: 'x509-certificate' })).map((i) => i.source))).toEqual(
      new Set(['issued', 'aws-acm']),
    );
  });

  it('shows discovered identities without their facts, issued ones whole', async () => {
    const page = await listIdentities({ inventory }, { type: 'x509-certificate' }, { limit: 100 });
    const acm = page.items.find((i) => i.source === 'aws-acm');
    const ours = page.items.find((i) => i.source === 'issued');
    expect(acm).toBeDefined();
    expect(acm).not.toHaveProperty('facts');
    expect(acm).toMatchObject({ account: expect.any(String), arn: expect.stringContaining(':certificate/') });
    expect(ours).toMatchObject({ currentSerialNumber: expect.any(String), version: expect.any(Number) });
  });

  it('spreads one type over the shards, and reads only the shards and prefixes a filter names', async () => {
    const out = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: BY_TYPE_INDEX.name,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': BY_TYPE_INDEX.partitionKey },
        ExpressionAttributeValues: { ':p': 'TYPE#x509-certificate' },
      }),
    );
    // Nothing lives in an unsharded type partition any more.
    expect(out.Items).toEqual([]);
    expect(identityListingPlan({ type: 'iam-role' })).toHaveLength(BURST_SHARDS);
    expect(identityListingPlan({ source: 'aws-iam' })).toHaveLength(4 * BURST_SHARDS);
    expect(identityListingPlan({ status: 'revoked' })).toHaveLength(BURST_SHARDS);
    expect(identityListingPlan({})).toHaveLength(11 * BURST_SHARDS); // one unprefixed walk per type
    expect(identityListingPlan({ account: ACCOUNTS[0], source: 'issued' })).toEqual([]);
  });

  it('refuses an owner and an account together, and unknown cursors, with stable codes', async () => {
    await expect(
      listIdentities({ inventory }, { owner: 'alice', account: ACCOUNTS[0] }, { limit: 5 }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_FILTER', status: 400 });
    const first = await listIdentities({ inventory }, { owner: 'alice' }, { limit: 2 });
    expect(first.nextCursor).toBeDefined();
    await expect(
      listIdentities({ inventory }, { owner: 'bob' }, { limit: 2, cursor: first.nextCursor as string }),
    ).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
  });
});

describe('updating an identity', () => {
  const deps = () => ({ inventory, discovered, clock });

  it('sets a discovered identity owner, purpose and tags under If-Match, audited; the owner index follows', async () => {
    const target = all.find((i): i is DiscoveredIdentity => 'observationHash' in i && i.owner === 'bob');
    if (!target) throw new Error('a discovered identity owned by bob');
    const before = await countItems(table.client, table.tableName);
    const updated = await updateIdentity(deps(), operator, {
      identityId: target.identityId,
      expectedVersion: target.version,
      patch: { owner: 'payments-team', purpose: 'pays', tags: { cost: 'cc-1' } },
    });
    expect(updated).toMatchObject({
      owner: 'payments-team',
      version: target.version + 1,
      annotations: { owner: 'payments-team', purpose: 'pays', tags: { cost: 'cc-1' }, updatedBy: 'local:operator' },
    });
    // The identity replaced, one audit entry added.
    expect(await countItems(table.client, table.tableName)).toBe(before + 1);
    const team = await listAll({ owner: 'payments-team' }, 10);
    expect(team.map((i) => i.identityId)).toEqual([target.identityId]);
    expect((await listAll({ owner: 'bob' }, 10)).map((i) => i.identityId)).not.toContain(target.identityId);
    const audit = await inventory.listAuditEvents('2026-11-30', { limit: 10 });
    expect(audit.items).toEqual([
      expect.objectContaining({
        action: 'IdentityUpdated',
        target: `identity/${target.identityId}`,
        details: { fields: 'owner,purpose,tags', version: target.version + 1 },
      }),
    ]);

    // The next run sees the same observation with its owner tag: the manual owner stays, nothing is written.
    const stored = await discovered.get(target.identityId);
    if (!stored) throw new Error('stored');
    const { facts, tags, name, arn, source, type, account, region } = stored;
    const next = { facts, tags, name, arn, source, type, account, region };
    expect(afterSeen(stored, next, '2026-12-01T00:00:00.000Z')).toBeUndefined();
    // With a changed observation, it is written again, still with the manual owner.
    expect(afterSeen(stored, { ...next, tags: { owner: 'bob', env: 'prod' } }, AT)?.identity.owner).toBe(
      'payments-team',
    );

    // A stale version is refused and changes nothing.
    const count = await countItems(table.client, table.tableName);
    await expect(
      updateIdentity(deps(), operator, {
        identityId: target.identityId,
        expectedVersion: target.version,
        patch: { owner: 'someone-else' },
      }),
    ).rejects.toMatchObject({ code: 'IDENTITY_VERSION_MISMATCH', status: 409 });
    expect(await countItems(table.client, table.tableName)).toBe(count);
    expect((await discovered.get(target.identityId))?.owner).toBe('payments-team');

    // Clearing the manual owner gives back the tag's.
    const cleared = await updateIdentity(deps(), operator, {
      identityId: target.identityId,
      expectedVersion: target.version + 1,
      patch: { owner: null },
    });
    expect(cleared.owner).toBe('bob');
    expect(cleared.annotations).toEqual({
      purpose: 'pays',
      tags: { cost: 'cc-1' },
      updatedAt: clock.now().toISOString(),
      updatedBy: 'local:operator',
    });
  });

  it("changes an issued identity's owner and gives the issuance owner back when cleared", async () => {
    const target = all.find((i): i is IdentityRecord => i.source === 'issued' && i.owner === 'carol');
    if (!target) throw new Error('an issued identity owned by carol');
    const current = await inventory.getIdentity(target.identityId);
    if (!current) throw new Error('stored');
    const updated = await updateIdentity(deps(), operator, {
      identityId: target.identityId,
      expectedVersion: current.version,
      patch: { owner: 'dave' },
    });
    expect(updated).toMatchObject({ owner: 'dave', derivedOwner: 'carol', version: current.version + 1 });
    expect((await listAll({ owner: 'dave' }, 5)).map((i) => i.identityId)).toEqual([target.identityId]);
    const back = await updateIdentity(deps(), operator, {
      identityId: target.identityId,
      expectedVersion: current.version + 1,
      patch: { owner: null },
    });
    expect(back.owner).toBe('carol');
    expect((await listAll({ owner: 'carol' }, 20)).map((i) => i.identityId)).toContain(target.identityId);
    await expect(
      updateIdentity(deps(), operator, { identityId: randomUUID(), expectedVersion: 1, patch: { owner: 'x' } }),
    ).rejects.toBeInstanceOf(ControlPlaneError);
  });
});

describe('reading one identity', () => {
  it('links a discovered ACM certificate to the certificate this plane issued with its serial', async () => {
    const ours = all.find((i): i is IdentityRecord => i.source === 'issued' && i.status === 'active');
    if (!ours) throw new Error('an issued identity');
    const serial = ours.currentSerialNumber;
    const colonSerial = `00:${(serial.match(/../g) ?? []).join(':').toUpperCase()}`;
    const seen = afterSeen(
      undefined,
      {
        source: 'aws-acm',
        type: 'x509-certificate',
        arn: `arn:aws:acm:eu-west-1:${ACCOUNTS[0]}:certificate/imported-ours`,
        name: 'svc.local.test',
        account: ACCOUNTS[0],
        region: 'eu-west-1',
        tags: {},
        facts: { serial: colonSerial },
      },
      AT,
    );
    if (!seen) throw new Error('new');
    await discovered.write([seen.identity]);
    const runs = new DynamoDbDiscoveryRuns(table.doc, table.tableName);
    const detail = await getIdentity({ inventory, discovered, runs, clock }, seen.identity.identityId);
    expect(detail.kind).toBe('discovered');
    expect(detail.certificates).toEqual([
      expect.objectContaining({ serialNumber: serial, identityId: ours.identityId, status: 'active' }),
    ]);
    // No run of its scope on record: it was last seen when it was written.
    expect(detail.kind === 'discovered' && detail.lastSeenAt).toBe(AT);

    const issuedDetail = await getIdentity({ inventory, discovered, runs, clock }, ours.identityId);
    expect(issuedDetail.certificates).toEqual([expect.objectContaining({ serialNumber: serial })]);
  });
});

describe('listing by risk', () => {
  it('lists the identities at a level or worse, from the sparse byRisk index, with the other enum filters', async () => {
    const now = new Date('2026-11-29T12:00:00.000Z');
    const assessed = (observation: Observation) => {
      const seen = afterSeen(undefined, observation, AT);
      if (!seen) throw new Error('new');
      return {
        ...seen.identity,
        risk: storedRiskOf(assessRisk(riskSubjectOfDiscovered(seen.identity), now)),
      };
    };
    const key = (name: string, rotationEnabled: boolean, tags: Record<string, string>): Observation => ({
      source: 'aws-kms',
      type: 'kms-key',
      arn: `arn:aws:kms:eu-west-1:777788889999:key/${name}`,
      name,
      account: '777788889999',
      region: 'eu-west-1',
      tags,
      facts: {
        keyManager: 'CUSTOMER',
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        keyState: 'Enabled',
        rotationEnabled,
        creationDate: '2025-01-01T00:00:00.000Z',
      },
    });
    const keys = [
      assessed(key('rotating-owned', true, { owner: 'platform' })), // none
      assessed(key('rotating-unowned', true, {})), // low: OWNER_MISSING
      assessed(key('stale-owned', false, { owner: 'platform' })), // medium: KMS_ROTATION_DISABLED
      assessed(key('stale-unowned', false, {})), // medium: both
    ];
    expect(keys.map((k) => k.risk.level)).toEqual(['none', 'low', 'medium', 'medium']);
    await discovered.write(keys);
    const names = async (filter: IdentityListFilter) =>
      (await listAll(filter, 2))
        .filter((i) => 'account' in i && i.account === '777788889999')
        .map((i) => i.name)
        .sort();
    expect(await names({ risk: 'medium' })).toEqual(['stale-owned', 'stale-unowned']);
    expect(await names({ risk: 'low', type: 'kms-key' })).toEqual(['rotating-unowned', 'stale-owned', 'stale-unowned']);
    expect(await names({ risk: 'low', type: 'kms-key', source: 'aws-kms', status: 'active' })).toHaveLength(3);
    expect(await names({ risk: 'high' })).toEqual([]);
    await expect(listIdentities({ inventory }, { risk: 'low', owner: 'platform' }, { limit: 5 })).rejects.toMatchObject(
      { code: 'UNSUPPORTED_FILTER' },
    );
    // By rule: the byRisk partitions of its severity or worse, its types, and its code.
    expect(await names({ rule: 'KMS_ROTATION_DISABLED' })).toEqual(['stale-owned', 'stale-unowned']);
    expect(await names({ rule: 'OWNER_MISSING' })).toEqual(['rotating-unowned', 'stale-unowned']);
    expect(await names({ rule: 'OWNER_MISSING', risk: 'medium' })).toEqual(['stale-unowned']);
    expect(await names({ rule: 'KMS_ROTATION_DISABLED', type: 'secret' })).toEqual([]);
    expect(identityListingPlan({ rule: 'KMS_ROTATION_DISABLED', type: 'secret' })).toEqual([]);
    // A rule reads only the levels it can put an identity at: medium and worse here, of its one type.
    expect(identityListingPlan({ rule: 'KMS_ROTATION_DISABLED' })).toHaveLength(3 * BURST_SHARDS);
    await expect(
      listIdentities({ inventory }, { rule: 'OWNER_MISSING', account: '777788889999' }, { limit: 5 }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_FILTER' });

    // What to consolidate: groups read from those listings, by account, capped.
    const report = await consolidationReport({ inventory, discovered });
    const unowned = report.groups.find((g) => g.kind === 'unowned');
    expect(unowned?.byAccount['777788889999']?.map((m) => m.name).sort()).toEqual([
      'rotating-unowned',
      'stale-unowned',
    ]);
    expect(unowned?.truncated).toBe(false);
    expect(report.groups.map((g) => g.kind)).toEqual([
      'unused-roles',
      'unused-credentials',
      'unused-secrets',
      'users-with-access-keys',
      'shared-keys',
      'unowned',
      'duplicate-certificates',
    ]);
    for (const group of report.groups) expect(group.why.length + group.action.length).toBeGreaterThan(40);
    const capped = await consolidationReport({ inventory, discovered }, 1);
    expect(capped.groups.find((g) => g.kind === 'unowned')).toMatchObject({ count: 1, truncated: true });
  });
});
