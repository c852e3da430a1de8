import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import {
  type DiscoveryRun,
  type RunPart,
  runStatus,
  tallyOf,
  tallyStatus,
  ZERO_COUNTS,
} from '#lib/domain/discovery-run.ts';
import { type FreshTable, freshTable } from '../support/dynamodb.ts';

let table: FreshTable;
beforeAll(async () => {
  table = await freshTable();
});

const part = (source: RunPart['source'], region: string, status: RunPart['status'] = 'pending'): RunPart => ({
  source,
  account: '111122223333',
  region,
  status,
  counts: ZERO_COUNTS,
});

function run(runId: string, startedAt: string): DiscoveryRun {
  return {
    runId,
    startedAt,
    startedBy: 'local:admin',
    trigger: 'api',
    parts: [part('aws-iam', 'global'), part('aws-kms', 'eu-west-1')],
  };
}

describe('discovery runs on DynamoDB Local', () => {
  it('stores a run, updates each part in place, and lists runs newest first', async () => {
    const store = new DynamoDbDiscoveryRuns(table.doc, table.tableName);
    await store.createRun(run('20261129T060000Z-a', '2026-11-29T06:00:00.000Z'));
    await store.createRun(run('20261129T120000Z-b', '2026-11-29T12:00:00.000Z'));
    await expect(store.createRun(run('20261129T120000Z-b', '2026-11-29T12:00:00.000Z'))).rejects.toMatchObject({
      code: 'RUN_EXISTS',
    });

    // Two workers finish their parts at once: neither overwrites the other.
    await Promise.all([
      store.updatePart('20261129T120000Z-b', {
        ...part('aws-iam', 'global', 'succeeded'),
        counts: { seen: 12, new: 12, changed: 0, missing: 0, reappeared: 0 },
        finishedAt: '2026-11-29T12:00:05.000Z',
      }),
      store.updatePart('20261129T120000Z-b', {
        ...part('aws-kms', 'eu-west-1', 'failed'),
        reason: 'AccessDeniedException: kms:ListKeys',
      }),
    ]);
    const stored = await store.getRun('20261129T120000Z-b');
    expect(stored?.parts.map((p) => [p.source, p.status, p.reason ?? '', p.counts.seen])).toEqual([
      ['aws-iam', 'succeeded', '', 12],
      ['aws-kms', 'failed', 'AccessDeniedException: kms:ListKeys', 0],
    ]);
    expect(runStatus(stored?.parts ?? [])).toBe('partial');

    expect((await store.listRuns(10)).map((r) => r.runId)).toEqual(['20261129T120000Z-b', '20261129T060000Z-a']);
    expect((await store.listRuns(1)).map((r) => r.runId)).toEqual(['20261129T120000Z-b']);
    expect(await store.getRun('nope')).toBeUndefined();
    await expect(store.updatePart('nope', part('aws-iam', 'global'))).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('keeps a tally that every part moves exactly once, however many finish at once', async () => {
    const store = new DynamoDbDiscoveryRuns(table.doc, table.tableName);
    const runId = '20261129T130000Z-tally';
    const accounts = Array.from({ length: 30 }, (_, i) => String(100000000000 + i));
    const parts = accounts.map((account) => ({ ...part('aws-kms', 'eu-west-1'), account }));
    await store.createRun({ ...run(runId, '2026-11-29T13:00:00.000Z'), parts });
    const counts = { seen: 3, new: 1, changed: 1, missing: 0, reappeared: 0 };
    await Promise.all(
      parts.map((p, i) =>
        store.updatePart(runId, {
          ...p,
          status: i % 3 === 0 ? 'failed' : 'succeeded',
          counts: i % 3 === 0 ? ZERO_COUNTS : counts,
          finishedAt: `2026-11-29T13:00:${String(i).padStart(2, '0')}.000Z`,
        }),
      ),
    );
    const [summary] = (await store.listRuns(5)).filter((r) => r.runId === runId);
    expect(summary?.tally).toEqual({
      parts: 30,
      succeeded: 20,
      failed: 10,
      skipped: 0,
      counts: { seen: 60, new: 20, changed: 20, missing: 0, reappeared: 0 },
      finishedAt: expect.stringMatching(/^2026-11-29T13:00:/),
    });
    expect(tallyStatus(summary?.tally ?? tallyOf([]))).toBe('partial');

    // A unit delivered again reopens its part: the tally takes it back; a late progress report reopens nothing.
    const first = parts[1] as RunPart;
    expect(await store.recordProgress(runId, { ...first, status: 'running', counts: ZERO_COUNTS })).toBe(false);
    expect((await store.getPart(runId, first))?.status).toBe('succeeded');
    await store.updatePart(runId, { ...first, status: 'running', counts: ZERO_COUNTS });
    const reopened = (await store.listRuns(5)).find((r) => r.runId === runId);
    expect(reopened?.tally).toMatchObject({ succeeded: 19, counts: { seen: 57 } });
    expect(tallyStatus(reopened?.tally ?? tallyOf([]))).toBe('running');
    expect(
      await store.recordProgress(runId, { ...first, status: 'running', counts: { ...ZERO_COUNTS, seen: 2 } }),
    ).toBe(true);
    expect((await store.getPart(runId, first))?.counts.seen).toBe(2);

    // The scope read is recorded by success only, and only moves forward.
    expect(await store.lastScopeRead(first)).toBe('2026-11-29T13:00:01.000Z');
    await store.updatePart(runId, { ...first, status: 'succeeded', counts, finishedAt: '2026-11-29T12:00:00.000Z' });
    expect(await store.lastScopeRead(first)).toBe('2026-11-29T13:00:01.000Z');
    expect(await store.lastScopeRead({ ...first, account: '999999999999' })).toBeUndefined();
    await expect(
      store.updatePart(runId, { ...first, account: '999999999999', status: 'running' }),
    ).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('holds a run of more parts than one item could (each part is an item of its own)', async () => {
    const store = new DynamoDbDiscoveryRuns(table.doc, table.tableName);
    const runId = '20261129T140000Z-large';
    // 1,500 parts of ~300 bytes: more than DynamoDB's 400 KB item limit would hold in one record.
    const parts = Array.from({ length: 1_500 }, (_, i) => ({
      ...part('aws-secrets-manager', `region-${i % 15}`),
      account: String(200000000000 + Math.floor(i / 15)),
      roleArn: `arn:aws:iam::${String(200000000000 + Math.floor(i / 15))}:role/MimDiscoveryReadOnly`,
    }));
    await store.createRun({ ...run(runId, '2026-11-29T14:00:00.000Z'), parts });
    const stored = await store.getRun(runId);
    expect(stored?.parts).toHaveLength(1_500);
    const [summary] = (await store.listRuns(1)).filter((r) => r.runId === runId);
    expect(summary?.tally).toMatchObject({ parts: 1_500, succeeded: 0, failed: 0, skipped: 0 });
  }, 60_000);
});
