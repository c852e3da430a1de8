import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { type DiscoveryRun, type RunPart, runStatus, ZERO_COUNTS } from '#lib/domain/discovery-run.ts';
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
});
