import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditPartitions, currentPolicyKey, policyVersionKey } from '#lib/adapters/dynamodb-keys.ts';
import { DynamoDbPolicyStore } from '#lib/adapters/dynamodb-policy-store.ts';
import { ConflictError, ControlPlaneError, NotFoundError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import { type PolicyDocument, type PolicyDocumentInput, policyDocumentSchema } from '#lib/domain/policy.ts';
import type { PolicyWrite } from '#lib/ports/policy-store.ts';
import { countItems, type FreshTable, freshTable } from '../support/dynamodb.ts';

const AT = '2030-01-01T12:00:00.000Z';
const ADMIN = 'arn:aws:iam::123456789012:role/admin';

function policy(name: string, overrides: Partial<PolicyDocumentInput> = {}): PolicyDocument {
  return policyDocumentSchema.parse({
    name,
    principals: ['local:*'],
    allow: { dnsSuffixes: ['local.test'] },
    ...overrides,
  });
}

function audit(action: AuditRecord['action'], target: string, at = AT): AuditRecord {
  return { eventId: randomUUID(), at, action, actor: ADMIN, target, details: { policy: target } };
}

function put(
  document: PolicyDocument,
  expectedVersion: number | undefined,
  options: { at?: string; source?: PolicyWrite['source']; by?: string } = {},
): PolicyWrite {
  const at = options.at ?? AT;
  return {
    document,
    expectedVersion,
    source: options.source ?? 'api',
    at,
    by: options.by ?? ADMIN,
    audit: audit(expectedVersion === 0 ? 'PolicyCreated' : 'PolicyUpdated', document.name, at),
  };
}

async function rejection(promise: Promise<unknown>): Promise<ControlPlaneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ControlPlaneError)) throw new Error(`expected a ControlPlaneError, got ${String(error)}`);
  return error;
}

describe('DynamoDbPolicyStore', () => {
  let table: FreshTable;
  let store: DynamoDbPolicyStore;
  const items = () => countItems(table.client, table.tableName);
  /** The audit entries of a UTC day, from every shard of it. */
  const auditsOf = async (day: string) => {
    const entries: Record<string, unknown>[] = [];
    for (const partition of auditPartitions(new Date(`${day}T00:00:00.000Z`))) {
      const out = await table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': partition },
        }),
      );
      entries.push(...(out.Items ?? []));
    }
    return entries;
  };

  beforeAll(async () => {
    table = await freshTable();
    store = new DynamoDbPolicyStore(table.doc, table.tableName);
  });

  it('creates a policy at version 1, writing current, history and audit items', async () => {
    const document = policy('payments', { description: 'payments services', tags: { owner: 'team-payments' } });
    const before = await items();
    const stored = await store.putPolicy(put(document, 0));
    expect(stored).toEqual({ document, version: 1, updatedAt: AT, updatedBy: ADMIN, source: 'api' });
    expect(await items()).toBe(before + 3);
    expect(await store.getPolicy('payments')).toEqual(stored);
    const raw = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: currentPolicyKey('payments') }));
    expect(raw.Item).toMatchObject({ pk: 'POLICY', sk: 'CUR#payments', version: 1 });
    const history = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: policyVersionKey('payments', 1) }),
    );
    expect(history.Item).toMatchObject({ pk: 'POLICYV#payments', sk: 'V#0000000001', version: 1 });
  });

  it('refuses a second create with POLICY_VERSION_MISMATCH and writes nothing', async () => {
    const before = await items();
    const error = await rejection(store.putPolicy(put(policy('payments', { description: 'other' }), 0)));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe('POLICY_VERSION_MISMATCH');
    expect(error.details).toEqual({ currentVersion: 1 });
    expect(error.message).toContain('If-Match: "1"');
    expect(await items()).toBe(before);
    expect((await store.getPolicy('payments'))?.document.description).toBe('payments services');
  });

  it('updates with the current version and refuses a stale one', async () => {
    const updated = policy('payments', { allow: { dnsSuffixes: ['local.test', 'pay.local.test'] } });
    const stored = await store.putPolicy(put(updated, 1, { at: '2030-01-02T00:00:00.000Z' }));
    expect(stored.version).toBe(2);
    expect(await store.getPolicy('payments')).toEqual(stored);

    const before = await items();
    const stale = await rejection(store.putPolicy(put(policy('payments', { description: 'stale' }), 1)));
    expect(stale.code).toBe('POLICY_VERSION_MISMATCH');
    expect(stale.details).toEqual({ currentVersion: 2 });
    expect(await items()).toBe(before);
    expect(await store.getPolicy('payments')).toEqual(stored);
  });

  it('refuses an update of a policy that does not exist with currentVersion 0', async () => {
    const before = await items();
    const error = await rejection(store.putPolicy(put(policy('nothing-here'), 3)));
    expect(error.code).toBe('POLICY_VERSION_MISMATCH');
    expect(error.details).toEqual({ currentVersion: 0 });
    expect(error.message).toContain('If-None-Match: *');
    expect(await items()).toBe(before);
  });

  it('writes unconditionally (configuration seeding) as the next version', async () => {
    const seeded = policy('payments', { description: 'from config' });
    const stored = await store.putPolicy(put(seeded, undefined, { source: 'config', by: 'config' }));
    expect(stored).toMatchObject({ version: 3, source: 'config', updatedBy: 'config' });
    expect(await store.getPolicy('payments')).toEqual(stored);
    const fresh = await store.putPolicy(put(policy('seeded'), undefined, { source: 'config', by: 'config' }));
    expect(fresh.version).toBe(1);
  });

  it('lists the history of every version, oldest first, with documents round-tripped', async () => {
    const history = await store.policyHistory('payments');
    expect(history.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(history.map((v) => v.document.description)).toEqual(['payments services', undefined, 'from config']);
    expect(history[1]?.document.allow.dnsSuffixes).toEqual(['local.test', 'pay.local.test']);
    expect(history[2]).toEqual(await store.getPolicy('payments'));
    expect(history.every((v) => v.deleted === undefined)).toBe(true);
    expect(await store.policyHistory('never-written')).toEqual([]);
  });

  it('lists the current policies sorted by name', async () => {
    await store.putPolicy(put(policy('alpha'), 0));
    await store.putPolicy(put(policy('zeta'), 0));
    await store.putPolicy(put(policy('mid-tier', { keyTypes: ['RSA'], minRsaBits: 3072 }), 0));
    const listed = await store.listPolicies();
    expect(listed.map((p) => p.document.name)).toEqual(['alpha', 'mid-tier', 'payments', 'seeded', 'zeta']);
    expect(listed.find((p) => p.document.name === 'mid-tier')?.document).toEqual(
      policy('mid-tier', { keyTypes: ['RSA'], minRsaBits: 3072 }),
    );
  });

  it('refuses a delete naming the wrong version, and one of a policy that does not exist', async () => {
    const before = await items();
    const wrong = await rejection(
      store.deletePolicy({ name: 'payments', expectedVersion: 2, audit: audit('PolicyDeleted', 'payments') }),
    );
    expect(wrong).toBeInstanceOf(ConflictError);
    expect(wrong.code).toBe('POLICY_VERSION_MISMATCH');
    expect(wrong.details).toEqual({ currentVersion: 3 });
    const absent = await rejection(
      store.deletePolicy({ name: 'nope', expectedVersion: undefined, audit: audit('PolicyDeleted', 'nope') }),
    );
    expect(absent).toBeInstanceOf(NotFoundError);
    expect(absent.code).toBe('POLICY_NOT_FOUND');
    expect(await items()).toBe(before);
    expect((await store.getPolicy('payments'))?.version).toBe(3);
  });

  it('deletes: gone from get and list, a tombstone in the history, the audit entry written', async () => {
    const last = await store.getPolicy('payments');
    const deletion = audit('PolicyDeleted', 'payments', '2030-01-03T00:00:00.000Z');
    const before = await items();
    await store.deletePolicy({ name: 'payments', expectedVersion: 3, audit: deletion });
    // -1 current, +1 tombstone, +1 audit
    expect(await items()).toBe(before + 1);
    expect(await store.getPolicy('payments')).toBeUndefined();
    expect((await store.listPolicies()).map((p) => p.document.name)).not.toContain('payments');
    const history = await store.policyHistory('payments');
    expect(history.map((v) => v.version)).toEqual([1, 2, 3, 4]);
    expect(history[3]).toEqual({
      document: last?.document,
      version: 4,
      updatedAt: deletion.at,
      updatedBy: ADMIN,
      source: 'api',
      deleted: true,
    });
    expect((await auditsOf('2030-01-03')).map((i) => i.eventId)).toEqual([deletion.eventId]);
    const again = await rejection(
      store.deletePolicy({ name: 'payments', expectedVersion: undefined, audit: audit('PolicyDeleted', 'payments') }),
    );
    expect(again.code).toBe('POLICY_NOT_FOUND');
  });

  it('deletes without a version, and writes one audit entry per change', async () => {
    await store.deletePolicy({ name: 'zeta', expectedVersion: undefined, audit: audit('PolicyDeleted', 'zeta') });
    expect(await store.getPolicy('zeta')).toBeUndefined();
    // payments: create, seed; seeded; alpha, zeta, mid-tier; zeta deleted (the update and deletion of payments fell on other days)
    expect(await auditsOf('2030-01-01')).toHaveLength(7);
  });

  it('creates a deleted policy again after its tombstone, so an old If-Match cannot match it', async () => {
    const before = await items();
    const stale = await rejection(store.putPolicy(put(policy('payments'), 3)));
    expect(stale.details).toEqual({ currentVersion: 0 });
    expect(await items()).toBe(before);
    const recreated = await store.putPolicy(put(policy('payments'), 0));
    expect(recreated.version).toBe(5);
    expect((await store.policyHistory('payments')).map((v) => [v.version, v.deleted ?? false])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
      [5, false],
    ]);
  });

  it('lets exactly one of several concurrent writers of the same version through', async () => {
    await store.putPolicy(put(policy('race'), 0));
    const before = await items();
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        store.putPolicy(put(policy('race', { description: `writer ${i}` }), 1)).then(
          (stored) => stored.version,
          (e: unknown) => (e instanceof ConflictError ? e.code : e),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 2)).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 2 && o !== 'POLICY_VERSION_MISMATCH' && o !== 'CONCURRENT_UPDATE')).toEqual([]);
    expect(await items()).toBe(before + 2);
    expect((await store.policyHistory('race')).map((v) => v.version)).toEqual([1, 2]);
  });

  it('refuses a document larger than an item can hold with POLICY_TOO_LARGE', async () => {
    const label = 'a'.repeat(60);
    const huge = policy('huge', {
      allow: {
        dnsNames: Array.from({ length: 1000 }, (_, i) => `n${i}.${label}.${label}.${label}.local.test`),
        uris: Array.from({ length: 1000 }, (_, i) => `spiffe://local.test/${label}/${label}/${label}/${label}/${i}`),
      },
    });
    const before = await items();
    const error = await rejection(store.putPolicy(put(huge, 0)));
    expect(error.code).toBe('POLICY_TOO_LARGE');
    expect(error.status).toBe(400);
    expect(await items()).toBe(before);
  });

  it('raises INVENTORY_CORRUPT for a stored document that does not parse', async () => {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...currentPolicyKey('broken'),
          document: { name: 'broken' },
          version: 1,
          updatedAt: AT,
          updatedBy: ADMIN,
          source: 'api',
        },
      }),
    );
    const error = await rejection(store.getPolicy('broken'));
    expect(error.code).toBe('INVENTORY_CORRUPT');
    expect((await rejection(store.listPolicies())).code).toBe('INVENTORY_CORRUPT');
  });
});
