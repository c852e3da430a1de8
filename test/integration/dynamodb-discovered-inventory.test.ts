import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { ALL_BURST_SHARDS, scopePartition } from '#lib/adapters/dynamodb-keys.ts';
import type { Observation } from '#lib/domain/discovery.ts';
import type { DiscoverySource } from '#lib/ports/discovery-source.ts';
import { discoverScope } from '#lib/use-cases/discover-scope.ts';
import { type FreshTable, freshTable } from '../support/dynamodb.ts';

/**
 * The discovered inventory against DynamoDB Local, counting the writes that reach it: a run over an unchanged estate
 * must write nothing.
 */

const ACCOUNT = '444455556666';
const SCOPE = { source: 'aws-kms', account: ACCOUNT, region: 'eu-west-1' } as const;
const ESTATE_SIZE = 600;
let table: FreshTable;
let writes = 0;

function key(i: number, rotation = true): Observation {
  return {
    source: 'aws-kms',
    type: 'kms-key',
    arn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
    name: `alias/app-${i}`,
    account: ACCOUNT,
    region: 'eu-west-1',
    tags: i % 3 === 0 ? { team: 'payments' } : {},
    facts: { keySpec: 'SYMMETRIC_DEFAULT', rotationEnabled: rotation, aliases: [`alias/app-${i}`] },
  };
}

function source(estate: readonly Observation[]): DiscoverySource {
  return {
    name: 'aws-kms',
    global: false,
    async *pages() {
      for (let i = 0; i < estate.length; i += 100) yield { observations: estate.slice(i, i + 100) };
    },
  };
}

/** A clock one second further on at every reading. */
let now = Date.parse('2026-11-29T00:00:00.000Z');
const clock = {
  now: () => {
    now += 1000;
    return new Date(now);
  },
};

async function run(estate: readonly Observation[]) {
  const inventory = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
  const before = writes;
  const counts = await discoverScope({ source: source(estate), inventory, clock }, SCOPE, { missingAfterRuns: 2 });
  return { counts, writes: writes - before };
}

beforeAll(async () => {
  table = await freshTable();
  table.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (/^(Put|Update|Delete|BatchWrite|TransactWrite)/.test(context.commandName ?? '')) writes++;
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
});

describe('discovered inventory on DynamoDB Local', () => {
  const estate = Array.from({ length: ESTATE_SIZE }, (_, i) => key(i));

  it('writes each new identity once, spread over the scope shards', async () => {
    const first = await run(estate);
    expect(first.counts).toMatchObject({ seen: ESTATE_SIZE, new: ESTATE_SIZE, writes: ESTATE_SIZE });
    expect(first.writes).toBe(ESTATE_SIZE);
    const perShard: number[] = [];
    for (const shard of ALL_BURST_SHARDS) {
      const out = await table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: 'byScope',
          KeyConditionExpression: 'scopePk = :p',
          ExpressionAttributeValues: { ':p': scopePartition(SCOPE, shard) },
          Select: 'COUNT',
        }),
      );
      perShard.push(out.Count ?? 0);
    }
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(ESTATE_SIZE);
    // No shard takes much more than its share (600 / 16 = 37.5).
    expect(Math.max(...perShard)).toBeLessThan(80);
  });

  it('writes nothing when the estate is unchanged', async () => {
    const second = await run(estate);
    expect(second.counts).toMatchObject({ seen: ESTATE_SIZE, new: 0, changed: 0, writes: 0 });
    expect(second.writes).toBe(0);
  });

  it('writes exactly the changed, the missed and then the missing identities', async () => {
    const changed = estate.map((o, i) => (i < 3 ? key(i, false) : o));
    const without = changed.slice(0, ESTATE_SIZE - 5);
    const third = await run(without);
    expect(third.counts).toMatchObject({ changed: 3, missing: 0, writes: 8 });
    expect(third.writes).toBe(8);
    const fourth = await run(without);
    expect(fourth.counts).toMatchObject({ changed: 0, missing: 5, writes: 5 });
    expect((await run(without)).writes).toBe(0);
    const back = await run(changed);
    expect(back.counts).toMatchObject({ reappeared: 5, writes: 5 });
  });

  it('refuses to overwrite a newer version written by another run', async () => {
    const inventory = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
    const [listed] = await collect(inventory.listScope(SCOPE));
    const found = await inventory.getMany(listed ? [listed.identityId] : []);
    const identity = [...found.values()][0];
    if (!identity) throw new Error('no identity');
    expect(await inventory.get(identity.identityId)).toEqual(identity);
    expect(await inventory.get(`d-${'Z'.repeat(32)}`)).toBeUndefined();
    await inventory.write([{ ...identity, version: identity.version + 1, missedRuns: 1 }]);
    await expect(inventory.write([{ ...identity, version: identity.version + 1 }])).rejects.toMatchObject({
      code: 'CONCURRENT_UPDATE',
    });
  });
});

async function collect<T>(pages: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}
