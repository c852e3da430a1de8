import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_TABLE_ACCESS, type FunctionName } from '#functions/function-access.ts';
import { makeSummarizeInventoryHandler } from '#functions/summarize-inventory/handler.ts';
import { createFileCheckpointStore } from '#infra/local/file-checkpoint-store.ts';
import { type StreamPump, startStreamPump } from '#infra/local/stream-pump.ts';
import { guardTableAccess } from '#lib/adapters/dynamodb-access-guard.ts';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbInventorySummary } from '#lib/adapters/dynamodb-inventory-summary.ts';
import {
  ALL_BURST_SHARDS,
  burstShard,
  summaryContributionKey,
  summaryCounterPartition,
} from '#lib/adapters/dynamodb-keys.ts';
import { streamedChangeOf } from '#lib/adapters/dynamodb-stream-changes.ts';
import { createDynamoDbStreamReader, createStreamsClient } from '#lib/adapters/dynamodb-stream-reader.ts';
import { resolveTableGrants } from '#lib/config/table-grants.ts';
import { afterSeen, type DiscoveredIdentity, type Observation } from '#lib/domain/discovery.ts';
import { summaryContributionOf } from '#lib/domain/inventory-summary.ts';
import type { SummaryChange } from '#lib/ports/inventory-summary.ts';
import { getInventorySummary } from '#lib/use-cases/get-inventory-summary.ts';
import { dynamoDbEndpoint, type FreshTable, freshTable } from '../support/dynamodb.ts';
import { tempDir } from '../support/pki-fixtures.ts';

/**
 * The inventory summary's adapter against DynamoDB Local, on clients that allow exactly the summarizer's and the
 * summary route's table grants (as their Lambda roles do): counting, moving, redeliveries, out-of-date versions, many
 * identities over the shards, concurrent writers of one shard, and the whole path from committed identity writes
 * through the table's stream.
 */

const NOW = new Date('2026-12-01T12:00:00.000Z');
const clock = { now: () => NOW };
const noWait = async () => undefined;
let table: FreshTable;

/** A client on the table allowing exactly one function's grants, and a count of the writes it sends. */
function clientOf(name: FunctionName) {
  const { client, doc } = createDocumentClient({ endpoint: dynamoDbEndpoint() });
  guardTableAccess(client, name, resolveTableGrants(FUNCTION_TABLE_ACCESS[name], 'default'));
  const sent = { writes: 0, cancelled: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (/^(Put|Update|Delete|BatchWrite|TransactWrite)/.test(context.commandName ?? '')) sent.writes++;
      try {
        return await next(args);
      } catch (error) {
        if ((error as Error).name === 'TransactionCanceledException') sent.cancelled++;
        throw error;
      }
    },
    { step: 'initialize', name: 'countWrites' },
  );
  return { client, doc, sent };
}

function summarizer() {
  const clients = clientOf('summarize-inventory');
  return { ...clients, store: new DynamoDbInventorySummary(clients.doc, table.tableName, { clock, sleep: noWait }) };
}

function reader() {
  const { doc } = clientOf('get-inventory-summary');
  return new DynamoDbInventorySummary(doc, table.tableName, { clock });
}

let sequence = 0;
/** A fresh discovered identity id. */
const newId = () => `d-${String(++sequence).padStart(8, '0')}${'x'.repeat(24)}`;

function identity(identityId: string, overrides: Partial<DiscoveredIdentity> = {}): DiscoveredIdentity {
  return {
    identityId,
    source: 'aws-acm',
    type: 'x509-certificate',
    arn: `arn:aws:acm:eu-west-1:111122223333:certificate/${identityId}`,
    name: `${identityId}.example.test`,
    account: '111122223333',
    region: 'eu-west-1',
    tags: {},
    facts: { notAfter: '2026-12-05T00:00:00.000Z' },
    owner: 'payments',
    observationHash: '0'.repeat(64),
    status: 'active',
    missedRuns: 0,
    firstSeenAt: '2026-11-01T00:00:00.000Z',
    changedAt: '2026-11-01T00:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

const changeOf = (i: DiscoveredIdentity): SummaryChange => ({
  identityId: i.identityId,
  version: i.version,
  contribution: summaryContributionOf(i),
});

/** The summary read through the route's use case (its own guarded client). */
const summary = () => getInventorySummary({ summary: reader(), clock });

/** Counters summed as the route reads them, for exact comparisons. */
const counters = async () => (await reader().read()).counters;

/** Each test starts from an empty table, so that its counts are its own. */
async function isolate(): Promise<void> {
  table = await freshTable();
}

beforeAll(isolate);

describe('inventory summary on DynamoDB Local', () => {
  it('counts a new identity once, on its shard, and records the version it counted', async () => {
    await isolate();
    const { store } = summarizer();
    const cert = identity(newId(), { risk: { score: 40, level: 'medium', rules: [] } });
    expect(await store.apply(changeOf(cert))).toBe('applied');
    const view = await summary();
    expect(view).toMatchObject({
      total: 1,
      byType: { 'x509-certificate': 1, 'iam-role': 0 },
      bySource: { 'aws-acm': 1, issued: 0 },
      byStatus: { active: 1, revoked: 0 },
      byRisk: { medium: 1, none: 0 },
      byAccount: { '111122223333': 1 },
      topOwners: [{ owner: 'payments', count: 1 }],
      expiry: { expired: 0, under7d: 1, under30d: 0, under90d: 0, later: 0 },
      asOf: NOW.toISOString(),
    });
    const stored = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': summaryContributionKey(cert.identityId).pk },
      }),
    );
    expect(stored.Items?.[0]).toMatchObject({ version: 1, counters: [...summaryContributionOf(cert)] });
    // Every counter it moved is in its identity's shard.
    for (const shard of ALL_BURST_SHARDS) {
      const items = await table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': summaryCounterPartition(shard) },
        }),
      );
      expect((items.Items ?? []).length > 0, shard).toBe(shard === burstShard(cert.identityId));
    }
  });

  it('moves the counts when an owner, a risk level or a status changes, and writes nothing for the rest', async () => {
    await isolate();
    const { store, sent } = summarizer();
    const id = newId();
    await store.apply(changeOf(identity(id)));
    expect(await store.apply(changeOf(identity(id, { version: 2, owner: 'identity-team' })))).toBe('applied');
    expect(
      await store.apply(
        changeOf(
          identity(id, { version: 3, owner: 'identity-team', risk: { score: 90, level: 'critical', rules: [] } }),
        ),
      ),
    ).toBe('applied');
    expect(
      await store.apply(
        changeOf(
          identity(id, {
            version: 4,
            owner: 'identity-team',
            status: 'missing',
            risk: { score: 90, level: 'critical', rules: [] },
          }),
        ),
      ),
    ).toBe('applied');
    const view = await summary();
    expect(view.topOwners).toEqual([{ owner: 'identity-team', count: 1 }]);
    expect(view.byRisk).toMatchObject({ none: 0, critical: 1 });
    expect(view.byStatus).toMatchObject({ active: 0, missing: 1 });
    // Missing certificates are not in the expiry buckets.
    expect(view.expiry).toEqual({ expired: 0, under7d: 0, under30d: 0, under90d: 0, later: 0 });
    // The old owner's counter is back at zero (kept, and left out of the answer).
    expect((await counters())['owner:payments'] ?? 0).toBe(0);
    // A version whose contribution is the one counted (a fact or a missed run): no write at all.
    const writes = sent.writes;
    expect(
      await store.apply(
        changeOf(
          identity(id, {
            version: 5,
            owner: 'identity-team',
            status: 'missing',
            missedRuns: 3,
            facts: { notAfter: '2026-12-05T00:00:00.000Z', inUseBy: ['x'] },
            risk: { score: 95, level: 'critical', rules: ['A'] },
          }),
        ),
      ),
    ).toBe('unchanged');
    expect(sent.writes).toBe(writes);
  });

  it('ignores a redelivered version and an out-of-date one: the counts stay, and nothing is written', async () => {
    await isolate();
    const { store, sent } = summarizer();
    const id = newId();
    const v1 = identity(id);
    const v2 = identity(id, { version: 2, owner: 'web' });
    expect(await store.apply(changeOf(v1))).toBe('applied');
    expect(await store.apply(changeOf(v2))).toBe('applied');
    const before = await counters();
    const writes = sent.writes;
    expect(await store.apply(changeOf(v2))).toBe('stale');
    expect(await store.apply(changeOf(v2))).toBe('stale');
    expect(await store.apply(changeOf(v1))).toBe('stale');
    expect(await counters()).toEqual(before);
    expect(sent.writes).toBe(writes);
    expect((await summary()).topOwners).toEqual([{ owner: 'web', count: 1 }]);
  });

  it('counts many identities over every shard, and sums them on read', async () => {
    await isolate();
    const { store } = summarizer();
    const ids = Array.from({ length: 160 }, newId);
    const owners = ['a-team', 'b-team', 'c-team'];
    const accounts = ['111122223333', '444455556666'];
    const all = ids.map((id, i) =>
      identity(id, {
        type: i % 2 === 0 ? 'x509-certificate' : 'secret',
        source: i % 2 === 0 ? 'aws-acm' : 'aws-secrets-manager',
        owner: owners[i % 3],
        account: accounts[i % 2] as string,
        facts: i % 2 === 0 ? { notAfter: i % 4 === 0 ? '2026-11-30T00:00:00.000Z' : '2027-06-01T00:00:00.000Z' } : {},
      }),
    );
    for (let i = 0; i < all.length; i += 16) {
      await Promise.all(all.slice(i, i + 16).map((x) => store.apply(changeOf(x))));
    }
    expect(new Set(ids.map(burstShard)).size).toBe(16);
    const view = await summary();
    expect(view.total).toBe(160);
    expect(view.byType).toMatchObject({ 'x509-certificate': 80, secret: 80 });
    expect(view.bySource).toMatchObject({ 'aws-acm': 80, 'aws-secrets-manager': 80 });
    expect(view.byAccount).toEqual({ '111122223333': 80, '444455556666': 80 });
    expect(view.topOwners).toEqual([
      { owner: 'a-team', count: 54 },
      { owner: 'b-team', count: 53 },
      { owner: 'c-team', count: 53 },
    ]);
    expect(view.expiry).toEqual({ expired: 40, under7d: 0, under30d: 0, under90d: 0, later: 40 });
  });

  it('stays exact under concurrent writers of one shard (two processes, many identities at once)', async () => {
    await isolate();
    const shard = '7';
    const ids: string[] = [];
    while (ids.length < 48) {
      const id = newId();
      if (burstShard(id) === shard) ids.push(id);
    }
    const [one, two] = [summarizer(), summarizer()];
    // Each identity twice: created by one writer while the other may be moving its shard's counters.
    await Promise.all(ids.map((id, i) => (i % 2 === 0 ? one : two).store.apply(changeOf(identity(id)))));
    await Promise.all(
      ids.map((id, i) =>
        (i % 2 === 0 ? two : one).store.apply(changeOf(identity(id, { version: 2, owner: `o${i % 4}` }))),
      ),
    );
    const view = await summary();
    expect(view.total).toBe(48);
    expect(view.topOwners).toEqual([0, 1, 2, 3].map((n) => ({ owner: `o${n}`, count: 12 })));
    expect(view.byAccount).toEqual({ '111122223333': 48 });
    // Lost races, if DynamoDB Local produced any, were retried: reported, never asserted (they depend on timing).
    console.info(`transactions cancelled and retried: ${one.sent.cancelled + two.sent.cancelled}`);
  });

  it('reads again and retries when another writer counted the identity between its read and its write', async () => {
    await isolate();
    const racer = summarizer();
    const id = newId();
    await racer.store.apply(changeOf(identity(id)));
    const { client, doc } = clientOf('summarize-inventory');
    // Just before this writer's first transaction goes out, the other writer counts a newer version.
    let raced = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && !raced) {
          raced = true;
          await racer.store.apply(changeOf(identity(id, { version: 3, owner: 'newest' })));
        }
        return next(args);
      },
      { step: 'initialize', name: 'race' },
    );
    const slow = new DynamoDbInventorySummary(doc, table.tableName, { clock, sleep: noWait });
    expect(await slow.apply(changeOf(identity(id, { version: 2, owner: 'older' })))).toBe('stale');
    expect(raced).toBe(true);
    expect((await summary()).topOwners).toEqual([{ owner: 'newest', count: 1 }]);
  });
});

describe("inventory summary from the table's stream", () => {
  let pump: StreamPump;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await isolate();
    const dir = await tempDir();
    cleanup = dir.remove;
    const options = { endpoint: dynamoDbEndpoint() };
    pump = await startStreamPump({
      reader: createDynamoDbStreamReader({
        dynamodb: createDocumentClient(options).client,
        streams: createStreamsClient(options),
        tableName: table.tableName,
      }),
      checkpoints: createFileCheckpointStore(`${dir.path}/summary-checkpoints.json`),
      deliver: makeSummarizeInventoryHandler({
        summary: summarizer().store,
        readRecord: streamedChangeOf,
        logger: { info: () => undefined, error: () => undefined } as never,
      }),
      onDeadLetter: () => {
        throw new Error('a record was dead-lettered');
      },
      onError: () => undefined,
      maxRetries: 2,
      retryDelayMs: 1,
    });
  });

  afterAll(async () => {
    await pump?.stop();
    await cleanup?.();
  });

  it('counts what discovery committed: new identities, then a change of owner and a missing one', async () => {
    const inventory = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
    const role = (name: string, tags: Record<string, string>): Observation => ({
      source: 'aws-iam',
      type: 'iam-role',
      arn: `arn:aws:iam::555566667777:role/${name}`,
      name,
      account: '555566667777',
      region: 'global',
      tags,
      facts: {},
    });
    const at = '2026-12-01T10:00:00.000Z';
    const first = ['a', 'b', 'c'].map((n) => afterSeen(undefined, role(n, { owner: 'ops' }), at)?.identity);
    await inventory.write(first.filter((x): x is DiscoveredIdentity => x !== undefined));
    await pump.drain();
    expect(await summary()).toMatchObject({
      total: 3,
      byType: { 'iam-role': 3 },
      byAccount: { '555566667777': 3 },
      topOwners: [{ owner: 'ops', count: 3 }],
    });

    const [a, b] = first as [DiscoveredIdentity, DiscoveredIdentity];
    const moved = afterSeen(a, role('a', { owner: 'security' }), '2026-12-01T11:00:00.000Z')?.identity;
    if (moved === undefined) throw new Error('no change');
    await inventory.write([moved, { ...b, status: 'missing', missedRuns: 2, version: 2 }]);
    await pump.drain();
    const view = await summary();
    expect(view.topOwners).toEqual([
      { owner: 'ops', count: 2 },
      { owner: 'security', count: 1 },
    ]);
    expect(view.byStatus).toMatchObject({ active: 2, missing: 1 });
    expect(view.total).toBe(3);
  });
});

describe('applying many changes together', () => {
  it('counts 150 identities in few transactions (each counter item once a transaction), with stale and unchanged ones', async () => {
    await isolate();
    const { store, sent } = summarizer();
    const owners = ['payments', 'orders', 'search'];
    const first = Array.from({ length: 150 }, (_, i) => identity(newId(), { owner: owners[i % 3] }));
    const results = await store.applyMany(first.map(changeOf));
    expect(results.every((r) => 'outcome' in r && r.outcome === 'applied')).toBe(true);
    // 150 contribution items and ≤ 16 shards × 4 counter items, at most 100 items a transaction: a handful of writes.
    expect(sent.writes).toBeLessThan(10);
    expect((await summary()).topOwners).toEqual([
      { owner: 'orders', count: 50 },
      { owner: 'payments', count: 50 },
      { owner: 'search', count: 50 },
    ]);

    // Again with: the same versions (stale), a new version counted alike (unchanged), and moves of owner and status.
    const again = [
      ...first.slice(0, 2).map(changeOf),
      changeOf({ ...(first[2] as DiscoveredIdentity), version: 2 }),
      changeOf({ ...(first[3] as DiscoveredIdentity), version: 2, owner: 'search' }),
      changeOf({ ...(first[4] as DiscoveredIdentity), version: 2, status: 'missing' }),
    ];
    const outcomes = (await store.applyMany(again)).map((r) => ('outcome' in r ? r.outcome : 'error'));
    expect(outcomes).toEqual(['stale', 'stale', 'unchanged', 'applied', 'applied']);
    const view = await summary();
    expect(view.total).toBe(150);
    expect(view.byStatus).toMatchObject({ active: 149, missing: 1 });
    expect(view.topOwners.find((o) => o.owner === 'search')?.count).toBe(51);
    // A missing certificate is no longer in the expiry buckets.
    expect(view.expiry.under7d).toBe(149);
  });
});
