import { describe, expect, it } from 'vitest';
import { afterSeen, type Observation } from '#lib/domain/discovery.ts';
import {
  type DiscoveryRun,
  partKey,
  type RunPart,
  runStatus,
  tallyOf,
  ZERO_COUNTS,
} from '#lib/domain/discovery-run.ts';
import { ConflictError } from '#lib/domain/errors.ts';
import type { LocationScan } from '#lib/domain/tls-discovery.ts';
import type { DiscoveryRunStore, DiscoveryUnit } from '#lib/ports/discovery-runs.ts';
import type { DiscoverySource } from '#lib/ports/discovery-source.ts';
import { runDiscoveryUnit, startDiscoveryRun } from '#lib/use-cases/run-discovery.ts';
import { InMemoryDiscoveredInventory } from '../support/in-memory-discovered-inventory.ts';

/** The runs store in memory, with the DynamoDB adapter's contract (its own tests run against DynamoDB Local). */
class InMemoryRuns implements DiscoveryRunStore {
  readonly runs = new Map<string, DiscoveryRun>();
  readonly scopeReads = new Map<string, string>();
  async createRun(run: DiscoveryRun) {
    if (this.runs.has(run.runId)) throw new ConflictError('RUN_EXISTS', 'exists');
    this.runs.set(run.runId, run);
  }
  async updatePart(runId: string, part: RunPart) {
    const run = this.runs.get(runId);
    if (!run) throw new Error('no run');
    const parts = run.parts.filter((p) => partKey(p) !== partKey(part));
    this.runs.set(runId, { ...run, parts: [...parts, part] });
    const read = this.scopeReads.get(partKey(part));
    if (part.status === 'succeeded' && part.finishedAt && (!read || read < part.finishedAt)) {
      this.scopeReads.set(partKey(part), part.finishedAt);
    }
  }
  async recordProgress(runId: string, part: RunPart) {
    if ((await this.getPart(runId, part))?.status !== 'running') return false;
    await this.updatePart(runId, part);
    return true;
  }
  async getRun(runId: string) {
    return this.runs.get(runId);
  }
  async getPart(runId: string, scope: Pick<RunPart, 'source' | 'account' | 'region'>) {
    return this.runs.get(runId)?.parts.find((p) => partKey(p) === partKey(scope));
  }
  async listRuns(limit: number) {
    return [...this.runs.values()]
      .slice(-limit)
      .reverse()
      .map(({ parts, ...run }) => ({ ...run, tally: tallyOf(parts) }));
  }
  async lastScopeRead(scope: Pick<RunPart, 'source' | 'account' | 'region'>) {
    return this.scopeReads.get(partKey(scope));
  }
  readonly locations = new Map<string, LocationScan>();
  async locationScans(locations: readonly string[]) {
    return new Map(
      locations.flatMap((l) => (this.locations.has(l) ? [[l, this.locations.get(l) as LocationScan]] : [])),
    );
  }
  async recordLocationScans(scans: readonly LocationScan[]) {
    for (const scan of scans) this.locations.set(scan.location, scan);
  }
}

/** Loopback only, as the local plane; names resolve through this map (never the system's resolver). */
const NAMES: Record<string, string[]> = { 'one.test': ['127.0.0.1'], 'two.test': ['127.0.0.2', '127.0.0.3'] };
const tls = {
  targets: [] as string[],
  allowedRanges: ['127.0.0.0/8', '::1/128'],
  resolve: async (names: readonly string[]) =>
    new Map(names.map((n) => [n, NAMES[n] ? { addresses: NAMES[n] } : { code: 'ENOTFOUND' }])),
};

const clock = { now: () => new Date('2026-11-29T12:00:00.000Z') };
const plan = async () => ({
  accounts: [
    { accountId: '111122223333', roleArn: undefined },
    { accountId: '444455556666', roleArn: 'arn:aws:iam::444455556666:role/Reader' },
  ],
  regions: ['eu-west-1', 'us-east-1'],
});

describe('starting a discovery run', () => {
  it('plans one part per source, account and region (IAM once per account) and queues each', async () => {
    const runs = new InMemoryRuns();
    const queued: DiscoveryUnit[] = [];
    const run = await startDiscoveryRun(
      {
        runs,
        queue: { enqueue: async (units) => void queued.push(...units) },
        clock,
        plan,
        randomId: () => 'abc',
        tls,
      },
      { by: 'local:admin', trigger: 'api' },
    );
    expect(run.runId).toBe('20261129T120000Z-abc');
    // 2 accounts × (IAM global + 3 regional sources × 2 regions) = 14 parts.
    expect(run.parts).toHaveLength(14);
    expect(run.parts.filter((p) => p.source === 'aws-iam').map((p) => p.region)).toEqual(['global', 'global']);
    expect(queued).toHaveLength(14);
    expect(queued.find((u) => u.account === '444455556666')?.roleArn).toBe('arn:aws:iam::444455556666:role/Reader');
    expect(runStatus(run.parts)).toBe('running');
  });

  it('narrows to the sources and accounts asked for, and refuses an account the configuration does not list', async () => {
    const runs = new InMemoryRuns();
    const deps = { runs, queue: { enqueue: async () => undefined }, clock, plan, randomId: () => 'n', tls };
    const run = await startDiscoveryRun(deps, {
      by: 'x',
      trigger: 'api',
      sources: ['aws-kms'],
      accounts: ['444455556666'],
    });
    expect(run.parts.map((p) => `${p.source} ${p.account} ${p.region}`)).toEqual([
      'aws-kms 444455556666 eu-west-1',
      'aws-kms 444455556666 us-east-1',
    ]);
    await expect(
      startDiscoveryRun({ ...deps, randomId: () => 'm' }, { by: 'x', trigger: 'api', accounts: ['999999999999'] }),
    ).rejects.toMatchObject({ code: 'ACCOUNT_NOT_CONFIGURED', status: 400 });
    expect(runs.runs.size).toBe(1);
  });

  it('records every part as skipped, with the reason, when AWS cannot be read at all, and is complete at once', async () => {
    const runs = new InMemoryRuns();
    const queued: DiscoveryUnit[] = [];
    const run = await startDiscoveryRun(
      {
        runs,
        queue: { enqueue: async (units) => void queued.push(...units) },
        clock,
        plan: async () => ({ unavailable: 'No AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID.' }),
        randomId: () => 's',
        tls,
      },
      { by: 'x', trigger: 'schedule' },
    );
    expect(run.parts.map((p) => p.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(run.parts[0]?.reason).toContain('No AWS credentials');
    expect(queued).toEqual([]);
    expect(runStatus(run.parts)).toBe('completed');
  });
});

describe('running a unit', () => {
  const unit: DiscoveryUnit = { runId: 'r1', source: 'aws-kms', account: '111122223333', region: 'eu-west-1' };
  const key: Observation = {
    source: 'aws-kms',
    type: 'kms-key',
    arn: 'arn:aws:kms:eu-west-1:111122223333:key/1',
    name: 'alias/a',
    account: '111122223333',
    region: 'eu-west-1',
    tags: {},
    facts: {},
  };
  const source = (fail?: Error): DiscoverySource => ({
    name: 'aws-kms',
    global: false,
    async *pages() {
      if (fail) throw fail;
      yield { observations: [key] };
    },
  });

  async function setup() {
    const runs = new InMemoryRuns();
    await runs.createRun({
      runId: 'r1',
      startedAt: clock.now().toISOString(),
      startedBy: 'x',
      trigger: 'api',
      parts: [{ ...unit, status: 'pending', counts: { seen: 0, new: 0, changed: 0, missing: 0, reappeared: 0 } }],
    });
    return runs;
  }

  it('records the counts of a part that succeeded, and the run completes', async () => {
    const runs = await setup();
    const inventory = new InMemoryDiscoveredInventory();
    const part = await runDiscoveryUnit(
      { runs, inventory, clock, sourceFor: async () => source(), missingAfterRuns: 2 },
      unit,
    );
    expect(part).toMatchObject({ status: 'succeeded', counts: { seen: 1, new: 1 } });
    const run = await runs.getRun('r1');
    expect(run?.parts).toHaveLength(1);
    expect(runStatus(run?.parts ?? [])).toBe('completed');
  });

  it("tells the scope's previous successful read to the unit: what it misses was last seen then", async () => {
    const runs = await setup();
    // An earlier run read this scope to its end; another account's read does not count.
    await runs.updatePart('r1', {
      ...unit,
      status: 'succeeded',
      counts: ZERO_COUNTS,
      finishedAt: '2026-11-28T00:05:00.000Z',
    });
    await runs.updatePart('r1', { ...unit, status: 'running', counts: ZERO_COUNTS });
    runs.scopeReads.set(partKey({ ...unit, account: '999999999999' }), '2026-11-28T09:00:00.000Z');
    const inventory = new InMemoryDiscoveredInventory();
    const gone = afterSeen(undefined, { ...key, arn: `${key.arn}-gone` }, '2026-11-27T00:00:00.000Z');
    if (!gone) throw new Error('new');
    await inventory.write([gone.identity]);
    await runDiscoveryUnit({ runs, inventory, clock, sourceFor: async () => source(), missingAfterRuns: 2 }, unit);
    expect(inventory.items.get(gone.identity.identityId)).toMatchObject({
      missedRuns: 1,
      lastSeenAt: '2026-11-28T00:05:00.000Z',
    });
  });

  it('fails only its part, with the reason, when the source or the credentials fail', async () => {
    const runs = await setup();
    const inventory = new InMemoryDiscoveredInventory();
    const denied = Object.assign(new Error('User is not authorized to perform: kms:ListKeys'), {
      name: 'AccessDeniedException',
    });
    const part = await runDiscoveryUnit(
      { runs, inventory, clock, sourceFor: async () => source(denied), missingAfterRuns: 2 },
      unit,
    );
    expect(part).toMatchObject({
      status: 'failed',
      reason: 'AccessDeniedException: User is not authorized to perform: kms:ListKeys',
    });
    const noRole = await runDiscoveryUnit(
      {
        runs,
        inventory,
        clock,
        sourceFor: async () => {
          throw new Error(
            'Cannot assume arn:aws:iam::111122223333:role/MimDiscoveryReadOnly: deploy MimDiscoveryMember',
          );
        },
        missingAfterRuns: 2,
      },
      unit,
    );
    expect(noRole.reason).toContain('deploy MimDiscoveryMember');
    expect(runStatus((await runs.getRun('r1'))?.parts ?? [])).toBe('failed');
    expect(inventory.writes).toBe(0);
  });

  it('throws a conflict with another writer, for the queue to deliver the unit again', async () => {
    const runs = await setup();
    const inventory = new InMemoryDiscoveredInventory();
    inventory.write = async () => {
      throw new ConflictError('CONCURRENT_UPDATE', 'another run');
    };
    await expect(
      runDiscoveryUnit({ runs, inventory, clock, sourceFor: async () => source(), missingAfterRuns: 2 }, unit),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it('computes a run status from its parts', () => {
    const part = (status: RunPart['status']): RunPart => ({
      ...unit,
      status,
      counts: { seen: 0, new: 0, changed: 0, missing: 0, reappeared: 0 },
    });
    expect(runStatus([part('succeeded'), part('running')])).toBe('running');
    expect(runStatus([part('succeeded'), part('skipped')])).toBe('completed');
    expect(runStatus([part('succeeded'), part('failed')])).toBe('partial');
    expect(runStatus([part('failed'), part('skipped')])).toBe('failed');
  });
});

describe('the discovery worker (SQS)', () => {
  const unitBody = { runId: 'r1', source: 'aws-kms', account: '111122223333', region: 'eu-west-1' };
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined } as never;
  const sqsEvent = (body: string, receives: number) =>
    ({
      Records: [{ messageId: 'm1', body, attributes: { ApproximateReceiveCount: String(receives) } }],
    }) as never;

  async function worker() {
    const runs = new InMemoryRuns();
    await runs.createRun({
      runId: 'r1',
      startedAt: clock.now().toISOString(),
      startedBy: 'x',
      trigger: 'api',
      parts: [
        {
          ...unitBody,
          source: 'aws-kms',
          status: 'pending',
          counts: { seen: 0, new: 0, changed: 0, missing: 0, reappeared: 0 },
        },
      ],
    });
    const inventory = new InMemoryDiscoveredInventory();
    inventory.write = async () => {
      throw new ConflictError('CONCURRENT_UPDATE', 'another run');
    };
    const source: DiscoverySource = {
      name: 'aws-kms',
      global: false,
      async *pages() {
        yield {
          observations: [
            {
              source: 'aws-kms',
              type: 'kms-key',
              arn: 'arn:k',
              name: 'k',
              account: '111122223333',
              region: 'eu-west-1',
              tags: {},
              facts: {},
            },
          ],
        };
      },
    };
    const { makeDiscoveryWorkerHandler } = await import('#functions/discovery-worker/handler.ts');
    const handler = makeDiscoveryWorkerHandler({
      runs,
      inventory,
      clock,
      sourceFor: async () => source,
      missingAfterRuns: 2,
      maxReceives: 3,
      logger: quiet,
    });
    return { runs, handler };
  }

  it('asks SQS to deliver a conflicting unit again, and on its last delivery records the part failed', async () => {
    const { runs, handler } = await worker();
    expect(await handler(sqsEvent(JSON.stringify(unitBody), 1))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    expect((await runs.getRun('r1'))?.parts[0]?.status).toBe('running');
    expect(await handler(sqsEvent(JSON.stringify(unitBody), 3))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    const part = (await runs.getRun('r1'))?.parts[0];
    expect(part).toMatchObject({ status: 'failed', reason: expect.stringContaining('Given up after 3 attempts') });
    expect(runStatus((await runs.getRun('r1'))?.parts ?? [])).toBe('failed');
  });

  it('sends a message that is not a unit to the dead-letter queue, writing nothing', async () => {
    const { runs, handler } = await worker();
    expect(await handler(sqsEvent('{"runId": 1}', 1))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect((await runs.getRun('r1'))?.parts[0]?.status).toBe('pending');
  });
});

describe('a unit delivered again', () => {
  it('continues after the last page written, and counts no missed run on the pages it skipped', async () => {
    const runs = new InMemoryRuns();
    const unit: DiscoveryUnit = { runId: 'r2', source: 'aws-kms', account: '111122223333', region: 'eu-west-1' };
    await runs.createRun({
      runId: 'r2',
      startedAt: clock.now().toISOString(),
      startedBy: 'x',
      trigger: 'api',
      parts: [{ ...unit, status: 'pending', counts: { seen: 0, new: 0, changed: 0, missing: 0, reappeared: 0 } }],
    });
    const key = (n: number): Observation => ({
      source: 'aws-kms',
      type: 'kms-key',
      arn: `arn:aws:kms:eu-west-1:111122223333:key/${n}`,
      name: `k${n}`,
      account: '111122223333',
      region: 'eu-west-1',
      tags: {},
      facts: {},
    });
    const asked: Array<string | undefined> = [];
    const source: DiscoverySource = {
      name: 'aws-kms',
      global: false,
      async *pages(_scope, options) {
        asked.push(options?.resumeFrom);
        if (options?.resumeFrom === undefined) yield { observations: [key(1), key(2)], marker: 'after-page-1' };
        yield { observations: [key(3)] };
      },
    };
    const inventory = new InMemoryDiscoveredInventory();
    // An older identity of the scope that this run will not see.
    const gone = key(9);
    const { afterSeen } = await import('#lib/domain/discovery.ts');
    const old = afterSeen(undefined, gone, '2026-11-01T00:00:00.000Z');
    if (!old) throw new Error('expected an identity');
    await inventory.write([old.identity]);
    const write = inventory.write.bind(inventory);
    let conflicts = 1;
    inventory.write = async (identities) => {
      if (identities.some((i) => i.name === 'k3') && conflicts-- > 0)
        throw new ConflictError('CONCURRENT_UPDATE', 'race');
      return write(identities);
    };
    const deps = { runs, inventory, clock, sourceFor: async () => source, missingAfterRuns: 1, progressEveryMs: 0 };
    await expect(runDiscoveryUnit(deps, unit)).rejects.toBeInstanceOf(ConflictError);
    expect((await runs.getRun('r2'))?.parts[0]).toMatchObject({ status: 'running', resumeFrom: 'after-page-1' });

    const part = await runDiscoveryUnit(deps, unit);
    expect(asked).toEqual([undefined, 'after-page-1']);
    expect(part).toMatchObject({ status: 'succeeded', counts: { seen: 1, new: 1, missing: 0 } });
    expect([...inventory.items.values()].map((i) => `${i.name} ${i.status}`).sort()).toEqual([
      'k1 active',
      'k2 active',
      'k3 active',
      'k9 active',
    ]);
  });
});

describe('starting a run that scans TLS endpoints', () => {
  const start = (runs: InMemoryRuns, queued: DiscoveryUnit[], request: Parameters<typeof startDiscoveryRun>[1]) =>
    startDiscoveryRun(
      { runs, queue: { enqueue: async (units) => void queued.push(...units) }, clock, plan, randomId: () => 't', tls },
      request,
    );

  it('resolves names once, keeps a location in one unit, and splits the addresses into units of at most 256', async () => {
    const runs = new InMemoryRuns();
    const queued: DiscoveryUnit[] = [];
    const run = await start(runs, queued, {
      by: 'x',
      trigger: 'api',
      sources: ['tls'],
      tlsTargets: ['127.0.1.0/24:8443', '127.0.2.0/31:443', 'two.test:9443', 'gone.test:443', '[::1]:9443'],
    });
    expect(run.parts.map((p) => `${p.source} ${p.account} ${p.region}`)).toEqual([
      'tls network endpoints-1-of-2',
      'tls network endpoints-2-of-2',
    ]);
    const [first, second] = queued;
    expect(first?.tls?.dials).toHaveLength(256);
    // The rest: 2 of the /31, both addresses of two.test (with its name, for SNI), and ::1.
    expect(second?.tls?.dials).toEqual([
      { address: '127.0.2.0', port: 443 },
      { address: '127.0.2.1', port: 443 },
      { host: 'two.test', address: '127.0.0.2', port: 9443 },
      { host: 'two.test', address: '127.0.0.3', port: 9443 },
      { address: '::1', port: 9443 },
    ]);
    expect(first?.tls?.unresolved).toEqual([]);
    expect(second?.tls?.unresolved).toEqual([
      { host: 'gone.test', port: 443, outcome: 'unreachable', code: 'ENOTFOUND' },
    ]);
    // Names that do not resolve fill units too: no unit carries more than 256 entries.
    const names = Array.from({ length: 300 }, (_, i) => `n${i}.test:443`);
    const more: DiscoveryUnit[] = [];
    await start(new InMemoryRuns(), more, { by: 'x', trigger: 'api', sources: ['tls'], tlsTargets: names });
    expect(more.map((u) => (u.tls?.dials.length ?? 0) + (u.tls?.unresolved.length ?? 0))).toEqual([256, 44]);
  });

  it('refuses, before anything is written, targets outside the ranges, malformed, too many, or none to scan', async () => {
    const runs = new InMemoryRuns();
    const queued: DiscoveryUnit[] = [];
    const narrow = { ...tls, allowedRanges: ['127.0.0.0/31'] };
    const startNarrow = (targets: string[]) =>
      startDiscoveryRun(
        {
          runs,
          queue: { enqueue: async (u) => void queued.push(...u) },
          clock,
          plan,
          randomId: () => 'r',
          tls: narrow,
        },
        { by: 'x', trigger: 'api', sources: ['tls'], tlsTargets: targets },
      );
    // Loopback outside the narrowed ranges stands for any address the scanner must not reach.
    await expect(startNarrow(['127.0.0.9:443'])).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED', status: 400 });
    await expect(startNarrow(['127.0.0.0/29:443'])).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' });
    // A name is judged by the addresses it resolves to.
    await expect(startNarrow(['two.test:443'])).rejects.toMatchObject({
      code: 'TARGET_NOT_ALLOWED',
      details: { target: 'two.test:443', address: '127.0.0.2' },
    });
    await expect(startNarrow(['127.0.0.1'])).rejects.toMatchObject({ code: 'TARGET_INVALID', status: 400 });
    await expect(startNarrow(['127.0.0.0/19:443'])).rejects.toMatchObject({ code: 'TARGETS_TOO_MANY', status: 400 });
    await expect(
      startDiscoveryRun(
        {
          runs,
          queue: { enqueue: async () => undefined },
          clock,
          plan,
          randomId: () => 'q',
          tls: { ...tls, allowedRanges: [] },
        },
        { by: 'x', trigger: 'api', sources: ['tls'], tlsTargets: ['127.0.0.1:443'] },
      ),
    ).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED', message: expect.stringContaining('allowedRanges is empty') });
    await expect(start(runs, queued, { by: 'x', trigger: 'api', sources: ['tls'] })).rejects.toMatchObject({
      code: 'TARGETS_REQUIRED',
    });
    await expect(
      start(runs, queued, { by: 'x', trigger: 'api', sources: ['aws-kms'], tlsTargets: ['127.0.0.1:443'] }),
    ).rejects.toMatchObject({ code: 'TLS_NOT_REQUESTED' });
    expect(runs.runs.size).toBe(0);
    expect(queued).toHaveLength(0);
  });

  it('scans the configured targets in a run of every source, and none when none are configured', async () => {
    const runs = new InMemoryRuns();
    const queued: DiscoveryUnit[] = [];
    const withTargets = { ...tls, targets: ['one.test:443'] };
    const run = await startDiscoveryRun(
      {
        runs,
        queue: { enqueue: async (u) => void queued.push(...u) },
        clock,
        plan,
        randomId: () => 'c',
        tls: withTargets,
      },
      { by: 'schedule', trigger: 'schedule' },
    );
    expect(run.parts.filter((p) => p.source === 'tls').map((p) => p.region)).toEqual(['endpoints-1-of-1']);
    expect(queued.at(-1)?.tls?.dials).toEqual([{ host: 'one.test', address: '127.0.0.1', port: 443 }]);
    const plain = await start(runs, [], { by: 'schedule', trigger: 'schedule' });
    expect(plain.parts.some((p) => p.source === 'tls')).toBe(false);
  });

  it('skips the TLS part of a scheduled run whose configured targets are refused, and still reads AWS', async () => {
    const runs = new InMemoryRuns();
    const queued: DiscoveryUnit[] = [];
    const refused = { ...tls, targets: ['127.0.0.9:443'], allowedRanges: ['127.0.0.0/31'] };
    const run = await startDiscoveryRun(
      { runs, queue: { enqueue: async (u) => void queued.push(...u) }, clock, plan, randomId: () => 'k', tls: refused },
      { by: 'schedule', trigger: 'schedule' },
    );
    expect(run.parts.find((p) => p.source === 'tls')).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('Fix discovery.tls in the configuration'),
    });
    expect(queued).toHaveLength(14);
  });
});
