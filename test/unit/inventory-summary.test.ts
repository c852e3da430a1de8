import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { makeSummarizeInventoryHandler } from '#functions/summarize-inventory/handler.ts';
import { DISCOVERED_TYPES, type DiscoveredIdentity } from '#lib/domain/discovery.ts';
import { ALL_IDENTITY_STATUSES, IDENTITY_SOURCES } from '#lib/domain/identity-catalog.ts';
import type { IdentityRecord } from '#lib/domain/inventory.ts';
import {
  expiryBuckets,
  parseCounterName,
  type SummaryContribution,
  summaryContributionOf,
  summaryDelta,
  summaryView,
  TOP_OWNERS,
} from '#lib/domain/inventory-summary.ts';
import { RISK_LEVELS, type RiskLevel } from '#lib/domain/risk/levels.ts';
import { inventorySummaryResponse } from '#lib/http/inventory-summary-schema.ts';
import { buildOpenApiDocument } from '#lib/http/openapi.ts';
import type { StreamedChange } from '#lib/ports/event-publisher.ts';
import { getInventorySummary } from '#lib/use-cases/get-inventory-summary.ts';
import { summarizeCommittedChanges } from '#lib/use-cases/summarize-committed-changes.ts';
import { InMemoryInventorySummary } from '../support/in-memory-inventory-summary.ts';

/** The inventory summary's rules (pure), its stream consumer's use case and handler, with an in-memory store. */

const runs = { numRuns: 300, seed: 20261201 };
const NOW = new Date('2026-12-01T18:30:00.000Z');

function issued(overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    identityId: '6f1c2a4e-0000-4000-8000-000000000001',
    type: 'x509-certificate',
    status: 'active',
    owner: 'platform-team',
    policy: 'local-dev',
    tags: {},
    name: 'api.local.test',
    source: 'issued',
    currentSerialNumber: '0a1b',
    expiresAt: '2026-12-20T10:00:00.000Z',
    createdAt: '2026-11-20T10:00:00.000Z',
    updatedAt: '2026-11-20T10:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

function discovered(overrides: Partial<DiscoveredIdentity> = {}): DiscoveredIdentity {
  return {
    identityId: `d-${'A'.repeat(32)}`,
    source: 'aws-iam',
    type: 'iam-role',
    arn: 'arn:aws:iam::111122223333:role/app',
    name: 'app',
    account: '111122223333',
    region: 'global',
    tags: {},
    facts: {},
    owner: undefined,
    observationHash: '0'.repeat(64),
    status: 'active',
    missedRuns: 0,
    firstSeenAt: '2026-11-01T00:00:00.000Z',
    changedAt: '2026-11-01T00:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

const risk = (level: RiskLevel) => ({ score: 50, level, rules: [] });

describe('summaryContributionOf', () => {
  it('counts an issued certificate by type, source, status, risk, owner and expiry day (no account)', () => {
    expect(summaryContributionOf(issued({ risk: risk('medium') }))).toEqual(
      [
        'type:x509-certificate',
        'source:issued',
        'status:active',
        'risk:medium',
        'owner:platform-team',
        'expiry:2026-12-20',
      ].sort(),
    );
  });

  it('counts an unassessed identity at risk none, and a revoked certificate without an expiry day', () => {
    const revoked = summaryContributionOf(issued({ status: 'revoked' }));
    expect(revoked).toContain('risk:none');
    expect(revoked).toContain('status:revoked');
    expect(revoked.some((c) => c.startsWith('expiry:'))).toBe(false);
  });

  it('counts a discovered identity by its account, and its owner only when it has one', () => {
    expect(summaryContributionOf(discovered())).toEqual(
      ['type:iam-role', 'source:aws-iam', 'status:active', 'risk:none', 'account:111122223333'].sort(),
    );
    expect(summaryContributionOf(discovered({ owner: 'payments', risk: risk('high') }))).toContain('owner:payments');
    expect(summaryContributionOf(discovered({ owner: '' })).some((c) => c.startsWith('owner:'))).toBe(false);
  });

  it('gives a discovered active certificate the UTC day of its notAfter fact, when that parses', () => {
    const cert = (facts: DiscoveredIdentity['facts'], status: DiscoveredIdentity['status'] = 'active') =>
      summaryContributionOf(discovered({ source: 'aws-acm', type: 'x509-certificate', facts, status }));
    expect(cert({ notAfter: '2027-01-01T23:59:59.000Z' })).toContain('expiry:2027-01-01');
    // An offset moves the instant, and the UTC day with it.
    expect(cert({ notAfter: '2027-01-01T23:30:00-02:00' })).toContain('expiry:2027-01-02');
    for (const facts of [{}, { notAfter: null }, { notAfter: 'soon' }, { notAfter: 20270101 }]) {
      expect(
        cert(facts).some((c) => c.startsWith('expiry:')),
        JSON.stringify(facts),
      ).toBe(false);
    }
    expect(cert({ notAfter: '2027-01-01T00:00:00.000Z' }, 'missing').some((c) => c.startsWith('expiry:'))).toBe(false);
    // Only certificates have an expiry bucket: a secret's expiresAt fact is not one.
    const secret = summaryContributionOf(discovered({ type: 'secret', facts: { notAfter: '2027-01-01T00:00:00Z' } }));
    expect(secret.some((c) => c.startsWith('expiry:'))).toBe(false);
  });

  it('names counters that parse back to their dimension, even with colons in the value', () => {
    expect(parseCounterName('owner:team:payments')).toEqual({ dimension: 'owner', value: 'team:payments' });
    expect(parseCounterName('shape:round')).toBeUndefined();
    expect(parseCounterName('nothing')).toBeUndefined();
  });
});

describe('summaryDelta', () => {
  it('adds a new identity, moves a changed one, and leaves an unchanged one alone', () => {
    const before = summaryContributionOf(discovered());
    expect(summaryDelta(undefined, before)).toEqual(Object.fromEntries(before.map((c) => [c, 1])));
    expect(summaryDelta(before, before)).toEqual({});
    const after = summaryContributionOf(discovered({ owner: 'payments', status: 'missing', risk: risk('low') }));
    expect(summaryDelta(before, after)).toEqual({
      'owner:payments': 1,
      'status:missing': 1,
      'status:active': -1,
      'risk:low': 1,
      'risk:none': -1,
    });
  });
});

describe('summaryView', () => {
  it('lists every known type, source, status and level (zeros included), and only accounts that have some', () => {
    const view = summaryView(
      {
        counters: {
          'type:iam-role': 2,
          'source:aws-iam': 2,
          'status:active': 2,
          'risk:none': 1,
          'risk:high': 1,
          'account:222233334444': 1,
          'account:111122223333': 1,
          'account:999988887777': 0,
          'owner:gone': 0,
        },
        asOf: '2026-12-01T18:00:00.000Z',
      },
      NOW,
    );
    expect(view.total).toBe(2);
    expect(Object.keys(view.byType)).toEqual([...DISCOVERED_TYPES]);
    expect(Object.keys(view.bySource)).toEqual([...IDENTITY_SOURCES]);
    expect(Object.keys(view.byStatus)).toEqual([...ALL_IDENTITY_STATUSES]);
    expect(Object.keys(view.byRisk)).toEqual([...RISK_LEVELS]);
    expect(view.byType['iam-role']).toBe(2);
    expect(view.byType['kms-key']).toBe(0);
    expect(view.byRisk).toMatchObject({ none: 1, high: 1, low: 0 });
    expect(view.byAccount).toEqual({ '111122223333': 1, '222233334444': 1 });
    expect(Object.keys(view.byAccount)).toEqual(['111122223333', '222233334444']);
    expect(view.topOwners).toEqual([]);
    expect(view.asOf).toBe('2026-12-01T18:00:00.000Z');
    expect('asOf' in summaryView({ counters: {} }, NOW)).toBe(false);
  });

  it(`lists the ${TOP_OWNERS} largest owners, most first, ties by name`, () => {
    const counters: Record<string, number> = {};
    for (let i = 0; i < 30; i++) counters[`owner:team-${String(i).padStart(2, '0')}`] = i % 5;
    const top = summaryView({ counters }, NOW).topOwners;
    expect(top).toHaveLength(TOP_OWNERS);
    expect(top.slice(0, 7)).toEqual([
      { owner: 'team-04', count: 4 },
      { owner: 'team-09', count: 4 },
      { owner: 'team-14', count: 4 },
      { owner: 'team-19', count: 4 },
      { owner: 'team-24', count: 4 },
      { owner: 'team-29', count: 4 },
      { owner: 'team-03', count: 3 },
    ]);
    for (let i = 1; i < top.length; i++) {
      const [a, b] = [top[i - 1], top[i]] as [{ owner: string; count: number }, { owner: string; count: number }];
      expect(a.count > b.count || (a.count === b.count && a.owner < b.owner)).toBe(true);
    }
  });

  it('puts each expiry day in one bucket, by UTC days from today, so buckets move with the clock alone', () => {
    const days = {
      '2026-11-30': 1, // yesterday: expired
      '2026-12-01': 2, // today (even past its notAfter hour): under 7 days
      '2026-12-07': 3, // today + 6
      '2026-12-08': 4, // today + 7
      '2026-12-30': 5, // today + 29
      '2026-12-31': 6, // today + 30
      '2027-02-28': 7, // today + 89
      '2027-03-01': 8, // today + 90
    };
    expect(expiryBuckets(days, NOW)).toEqual({ expired: 1, under7d: 5, under30d: 9, under90d: 13, later: 8 });
    // A day later, with no write: every boundary has moved by one day.
    expect(expiryBuckets(days, new Date('2026-12-02T00:00:00.000Z'))).toEqual({
      expired: 3,
      under7d: 7,
      under30d: 11,
      under90d: 15,
      later: 0,
    });
    const counters = Object.fromEntries(Object.entries(days).map(([day, n]) => [`expiry:${day}`, n]));
    expect(summaryView({ counters }, NOW).expiry).toEqual(expiryBuckets(days, NOW));
  });
});

describe('the API answer', () => {
  it('is what the response schema of the API description says, and the description states it', () => {
    const counters = {
      ...Object.fromEntries(summaryContributionOf(issued()).map((c) => [c, 1])),
      'owner:team:with:colons': 2,
    };
    const view = summaryView({ counters, asOf: NOW.toISOString() }, NOW);
    expect(inventorySummaryResponse.parse(view)).toEqual(view);
    expect(inventorySummaryResponse.parse(summaryView({ counters: {} }, NOW))).toMatchObject({ total: 0 });
    const document = buildOpenApiDocument(ROUTES, 'v1') as { paths: Record<string, Record<string, any>> };
    const operation = document.paths['/v1/inventory/summary']?.get;
    expect(operation?.security).toEqual([{ sigv4: [] }, { bearer: [] }]);
    const schema = operation?.responses['200'].content['application/json'].schema;
    expect(schema.required).toEqual(
      expect.arrayContaining(['total', 'byType', 'bySource', 'byStatus', 'byRisk', 'byAccount', 'topOwners', 'expiry']),
    );
    expect(Object.keys(schema.properties.expiry.properties)).toEqual([
      'expired',
      'under7d',
      'under30d',
      'under90d',
      'later',
    ]);
  });
});

/** An identity's life: a few versions, each changing what it is counted in (or not). */
const states = fc.record({
  owner: fc.option(fc.constantFrom('alpha', 'beta', 'gamma'), { nil: undefined }),
  status: fc.constantFrom('active', 'missing', 'retired' as const),
  level: fc.constantFrom(...RISK_LEVELS),
  account: fc.constantFrom('111122223333', '444455556666'),
  notAfter: fc.option(fc.constantFrom('2026-12-03T00:00:00Z', '2027-06-01T00:00:00Z', 'never'), { nil: undefined }),
  type: fc.constantFrom('x509-certificate', 'iam-role' as const),
});
type State = typeof states extends fc.Arbitrary<infer T> ? T : never;

function version(id: number, v: number, state: State): DiscoveredIdentity {
  return discovered({
    identityId: `d-${String(id).padStart(32, '0')}`,
    version: v,
    type: state.type,
    source: state.type === 'x509-certificate' ? 'aws-acm' : 'aws-iam',
    owner: state.owner,
    status: state.status,
    account: state.account,
    facts: state.notAfter === undefined ? {} : { notAfter: state.notAfter },
    risk: risk(state.level),
  });
}

/** The counters the contributions of these identities add up to (zeros left out). */
function countersOf(contributions: readonly SummaryContribution[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const contribution of contributions) for (const name of contribution) out[name] = (out[name] ?? 0) + 1;
  return out;
}

/** Identities with their versions, interleaved into one stream in a random order that keeps each one's versions in order. */
const streams = fc
  .array(fc.array(states, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 })
  .chain((lives) => {
    const slots = lives.flatMap((life, id) => life.map(() => id));
    return fc.shuffledSubarray(slots, { minLength: slots.length, maxLength: slots.length }).map((order) => {
      const next = lives.map(() => 0);
      const records = order.map((id) => {
        const v = ++(next[id] as number);
        return version(id, v, lives[id]?.[v - 1] as State);
      });
      return { lives, records };
    });
  });

describe('summary deltas (property)', () => {
  it('deltas of any sequence of identity versions, applied in order, sum to the contributions of the final states', () => {
    fc.assert(
      fc.property(streams, ({ lives, records }) => {
        const counted = new Map<string, SummaryContribution>();
        const counters: Record<string, number> = {};
        for (const identity of records) {
          const contribution = summaryContributionOf(identity);
          for (const [name, by] of Object.entries(summaryDelta(counted.get(identity.identityId), contribution))) {
            counters[name] = (counters[name] ?? 0) + by;
          }
          counted.set(identity.identityId, contribution);
        }
        const finals = lives.map((life, id) => summaryContributionOf(version(id, life.length, life.at(-1) as State)));
        expect(Object.fromEntries(Object.entries(counters).filter(([, n]) => n !== 0))).toEqual(countersOf(finals));
        expect(Object.values(counters).every((n) => n >= 0)).toBe(true);
      }),
      runs,
    );
  });

  it('the use case gets there too when the stream redelivers suffixes and applies fail, as long as it resumes where told', async () => {
    await fc.assert(
      fc.asyncProperty(streams, fc.array(fc.nat(), { maxLength: 6 }), async ({ lives, records }, failures) => {
        const store = new InMemoryInventorySummary();
        const stream: StreamedChange[] = records.map((after, i) => ({
          position: String(1000 + i),
          discovered: { before: undefined, after },
        }));
        // Some applies fail once each (by their index in the stream); each failure makes the stream come again.
        const failing = new Set(failures.map((n) => n % stream.length));
        store.failOn = (change) => {
          const index = records.findIndex((r) => r.identityId === change.identityId && r.version === change.version);
          return failing.delete(index);
        };
        let from = 0;
        for (let deliveries = 0; from < stream.length; deliveries++) {
          expect(deliveries).toBeLessThan(stream.length + failures.length + 1);
          const { resumeAt } = await summarizeCommittedChanges({ summary: store }, stream.slice(from));
          from = resumeAt === undefined ? stream.length : stream.findIndex((c) => c.position === resumeAt);
        }
        // And a whole redelivery changes nothing.
        await summarizeCommittedChanges({ summary: store }, stream);
        const finals = lives.map((life, id) => summaryContributionOf(version(id, life.length, life.at(-1) as State)));
        expect((await store.read()).counters).toEqual(countersOf(finals));
      }),
      { ...runs, numRuns: 150 },
    );
  });
});

describe('summarizeCommittedChanges', () => {
  const change = (position: string, identity: IdentityRecord | DiscoveredIdentity): StreamedChange =>
    identity.source === 'issued'
      ? { position, issued: { before: undefined, after: identity as IdentityRecord } }
      : { position, discovered: { before: undefined, after: identity as DiscoveredIdentity } };

  it("applies issued and discovered identities' versions in order, and ignores every other record", async () => {
    const store = new InMemoryInventorySummary();
    const a = issued();
    const b = discovered();
    const { resumeAt, counts } = await summarizeCommittedChanges({ summary: store }, [
      { position: '1' },
      change('2', a),
      change('3', b),
      change('4', { ...a, status: 'revoked', version: 2 }),
      change('5', { ...b, missedRuns: 1, version: 2 }),
      { position: '6', audit: undefined },
    ]);
    expect(resumeAt).toBeUndefined();
    expect(counts).toEqual({ applied: 3, unchanged: 1, stale: 0 });
    expect(store.applied.filter((c) => c.identityId === a.identityId).map((c) => c.version)).toEqual([1, 2]);
    const view = await getInventorySummary({ summary: store, clock: { now: () => NOW } });
    expect(view).toMatchObject({ total: 2, byStatus: { active: 1, revoked: 1 }, byAccount: { '111122223333': 1 } });
    expect(view.expiry).toEqual({ expired: 0, under7d: 0, under30d: 0, under90d: 0, later: 0 });
    // Delivered again: every version is counted already.
    const again = await summarizeCommittedChanges({ summary: store }, [
      change('2', a),
      change('4', { ...a, version: 2 }),
    ]);
    expect(again.counts).toEqual({ applied: 0, unchanged: 0, stale: 2 });
  });

  it('resumes at the first record, in stream order, of an identity whose apply failed; its later versions wait', async () => {
    const store = new InMemoryInventorySummary();
    const a = discovered({ identityId: `d-${'a'.repeat(32)}` });
    const b = discovered({ identityId: `d-${'b'.repeat(32)}` });
    store.failOn = (c) => c.identityId === b.identityId && c.version === 1;
    const { resumeAt, failures } = await summarizeCommittedChanges({ summary: store }, [
      change('10', a),
      change('11', b),
      change('12', { ...a, owner: 'x', version: 2 }),
      change('13', { ...b, owner: 'y', version: 2 }),
    ]);
    expect(resumeAt).toBe('11');
    expect(failures).toEqual([expect.objectContaining({ identityId: b.identityId, version: 1 })]);
    // b's version 2 was not tried before its version 1 succeeded; a went on.
    expect(store.applied.map((c) => `${c.identityId.slice(2, 3)}${c.version}`)).toEqual(['a1', 'b1', 'a2']);
  });

  it('the handler answers with the first record not done, or the first it cannot read', async () => {
    const logger = new Logger({ logLevel: 'SILENT' });
    const store = new InMemoryInventorySummary();
    const records = ['1', '2', '3'].map((n) => ({ eventID: n, dynamodb: { SequenceNumber: n } }) as DynamoDBRecord);
    const readRecord = (record: DynamoDBRecord): StreamedChange => {
      const n = record.dynamodb?.SequenceNumber ?? '';
      if (n === '3') throw new Error('poison');
      return change(n, discovered({ identityId: `d-${n.repeat(32)}` }));
    };
    const handler = makeSummarizeInventoryHandler({ summary: store, readRecord, logger });
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [{ itemIdentifier: '3' }] });
    expect(store.counted.size).toBe(2);
    store.failOn = (c) => c.identityId === `d-${'2'.repeat(32)}`;
    store.counted.clear();
    expect(await handler({ Records: records.slice(0, 2) })).toEqual({ batchItemFailures: [{ itemIdentifier: '2' }] });
    store.failOn = () => false;
    expect(await handler({ Records: records.slice(0, 2) })).toEqual({ batchItemFailures: [] });
  });
});
