import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { busEventSchema, type CatalogEvent, DETAIL_TYPES, parseCatalogEvent } from '#events/catalog.ts';
import { type EventPattern, matchesPattern } from '#events/pattern.ts';
import { makePublishEventsHandler } from '#functions/publish-events/handler.ts';
import { streamedChangeOf } from '#lib/adapters/dynamodb-stream-changes.ts';
import { type DiscoveryRunSummary, type RunPart, tallyOf, ZERO_COUNTS } from '#lib/domain/discovery-run.ts';
import { AUDIT_ACTIONS, type AuditRecord } from '#lib/domain/inventory.ts';
import type { EventPublisher } from '#lib/ports/event-publisher.ts';
import {
  eventFromAudit,
  eventFromDiscoveryRun,
  publishCommittedChanges,
} from '#lib/use-cases/publish-committed-changes.ts';
import { LocalEventBus } from '../../infra/local/local-bus.ts';

const samplesDir = join(import.meta.dirname, '..', '..', 'events', 'samples');
const AT = '2026-11-29T12:00:00.000Z';
const FINGERPRINT = 'ab'.repeat(32);

function audit(action: AuditRecord['action'], id: string, extra: Partial<AuditRecord> = {}): AuditRecord {
  const base: Record<AuditRecord['action'], Pick<AuditRecord, 'target' | 'details'>> = {
    CertificateIssued: {
      target: 'certificate/0a1b',
      details: {
        identityId: 'idn-1',
        policy: 'p',
        fingerprintSha256: FINGERPRINT,
        names: 'a.test,b.test',
        notAfter: AT,
      },
    },
    CertificateRevoked: {
      target: 'certificate/0a1b',
      details: { identityId: 'idn-1', reason: 'superseded', fingerprintSha256: FINGERPRINT },
    },
    CaBootstrapped: { target: 'ca/default', details: {} },
    PolicyCreated: { target: 'policy/p', details: { version: 1, source: 'config' } },
    PolicyUpdated: { target: 'policy/p', details: { version: 2, source: 'api' } },
    PolicyDeleted: { target: 'policy/p', details: { version: 3, source: 'api' } },
    EnrollmentTokenCreated: {
      target: 'enrollment-token/0123456789abcdef',
      details: { policy: 'devices', names: 'door.devices.test', expiresAt: AT },
    },
    IdentityUpdated: {
      target: 'identity/d-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      details: { fields: 'owner,tags', version: 3 },
    },
    IdentitiesImported: {
      target: 'identities/import',
      details: { lines: 4, created: 3, changed: 1, unchanged: 0 },
    },
  };
  return { eventId: id, at: AT, action, actor: 'local:admin', ...base[action], ...extra };
}

/** A publisher that keeps what it was given and refuses the ids it is told to. */
function recordingPublisher(refuse: ReadonlySet<string> = new Set()): EventPublisher & { put: CatalogEvent[] } {
  const put: CatalogEvent[] = [];
  return {
    put,
    async publish(events) {
      const failedEventIds: string[] = [];
      for (const event of events) {
        if (refuse.has(event.detail.eventId)) failedEventIds.push(event.detail.eventId);
        else put.push(parseCatalogEvent(event));
      }
      return { failedEventIds };
    },
  };
}

describe('event catalog', () => {
  it('has one sample per detail-type, each a valid bus event whose detail matches its schema', () => {
    const files = readdirSync(samplesDir).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([...DETAIL_TYPES].sort());
    for (const file of files) {
      const envelope = busEventSchema.parse(JSON.parse(readFileSync(join(samplesDir, file), 'utf8')));
      const event = parseCatalogEvent({
        source: envelope.source,
        detailType: envelope['detail-type'],
        detail: envelope.detail,
      });
      expect(`${event.detailType}.json`).toBe(file);
      expect(event.detail.version).toBe(1);
    }
  });

  it('turns every audited action into its event, detail checked, keyed by the audit entry id', () => {
    for (const action of AUDIT_ACTIONS) {
      const event = eventFromAudit(audit(action, `id-${action}`));
      expect(parseCatalogEvent(event)).toEqual(event);
      expect(event.detail.eventId).toBe(`id-${action}`);
    }
    expect(eventFromAudit(audit('PolicyDeleted', 'x')).detail).toMatchObject({ change: 'deleted', policyVersion: 3 });
    expect(eventFromAudit(audit('CertificateIssued', 'x')).detail).toMatchObject({
      serialNumber: '0a1b',
      names: ['a.test', 'b.test'],
    });
  });

  it('refuses a detail that does not match its schema, and unknown detail-types or sources', () => {
    expect(() => eventFromAudit(audit('CertificateIssued', 'x', { details: { policy: 'p' } }))).toThrow();
    expect(() => parseCatalogEvent({ source: 'mim.control-plane', detailType: 'Nope', detail: {} })).toThrow(/unknown/);
    expect(() => parseCatalogEvent({ source: 'other', detailType: 'PolicyChanged', detail: {} })).toThrow(/source/);
  });
});

describe('event patterns (EventBridge semantics, as the local bus matches them)', () => {
  const event = JSON.parse(readFileSync(join(samplesDir, 'CertificateIssued.json'), 'utf8'));
  it.each<[string, EventPattern, boolean]>([
    ['source and detail-type', { source: ['mim.control-plane'], 'detail-type': ['CertificateIssued'] }, true],
    ['another detail-type', { 'detail-type': ['CertificateRevoked'] }, false],
    ['one of several values', { 'detail-type': ['CertificateRevoked', 'CertificateIssued'] }, true],
    ['a nested detail field', { detail: { policy: ['service-by-role'] } }, true],
    ['a prefix', { detail: { actor: [{ prefix: 'arn:aws:iam::123456789012:' }] } }, true],
    ['anything-but', { detail: { policy: [{ 'anything-but': ['service-by-role'] }] } }, false],
    ['a value in an array field', { detail: { names: ['payments-api.svc.example.internal'] } }, true],
    ['exists: true on a missing field', { detail: { enrollmentTokenId: [{ exists: true }] } }, false],
    ['exists: false', { detail: { enrollmentTokenId: [{ exists: false }] } }, true],
    ['a missing nested object', { nothing: { here: ['x'] } }, false],
  ])('%s', (_name, pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
});

describe('publishing committed changes', () => {
  const changes = [
    { position: '100', audit: audit('PolicyCreated', 'e1') },
    { position: '101', audit: undefined },
    { position: '102', audit: audit('CertificateIssued', 'e2') },
    { position: '103', audit: audit('CertificateRevoked', 'e3') },
  ];

  it('publishes the events of the audit entries, in stream order, and skips other records', async () => {
    const publisher = recordingPublisher();
    expect(await publishCommittedChanges({ publisher }, changes)).toEqual({ resumeAt: undefined, published: 3 });
    expect(publisher.put.map((e) => e.detail.eventId)).toEqual(['e1', 'e2', 'e3']);
  });

  it('resumes at the first record whose event was not put', async () => {
    const publisher = recordingPublisher(new Set(['e2']));
    expect((await publishCommittedChanges({ publisher }, changes)).resumeAt).toBe('102');
  });

  it('resumes at an audit entry that cannot become an event, after publishing those before it', async () => {
    const publisher = recordingPublisher();
    const broken = [...changes];
    broken[2] = { position: '102', audit: audit('CertificateIssued', 'e2', { details: {} }) };
    expect((await publishCommittedChanges({ publisher }, broken)).resumeAt).toBe('102');
    expect(publisher.put.map((e) => e.detail.eventId)).toEqual(['e1']);
  });
});

/** A stream record as Lambda delivers it for an audit entry written by a transaction. */
function auditRecord(entry: AuditRecord, sequence: string): DynamoDBRecord {
  const details = Object.fromEntries(
    Object.entries(entry.details).map(([k, v]) => [
      k,
      typeof v === 'number' ? { N: String(v) } : typeof v === 'boolean' ? { BOOL: v } : { S: v },
    ]),
  );
  const keys = { pk: { S: `AUDIT#${entry.at.slice(0, 10)}` }, sk: { S: `${entry.at}#${entry.eventId}` } };
  return {
    eventID: `ev-${sequence}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: sequence,
      Keys: keys,
      NewImage: {
        ...keys,
        eventId: { S: entry.eventId },
        at: { S: entry.at },
        action: { S: entry.action },
        actor: { S: entry.actor },
        target: { S: entry.target },
        details: { M: details },
      },
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

describe('the stream publisher handler', () => {
  const logger = { info: () => undefined, error: () => undefined } as never;
  const certificateRecord: DynamoDBRecord = {
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: '2',
      Keys: { pk: { S: 'CERT#0a1b' }, sk: { S: 'CERT' } },
      NewImage: { pk: { S: 'CERT#0a1b' } },
    },
  };

  it('reads audit entries from stream records and ignores other items', () => {
    const entry = audit('PolicyUpdated', 'e9');
    expect(streamedChangeOf(auditRecord(entry, '1'))).toEqual({ position: '1', audit: entry });
    expect(streamedChangeOf(certificateRecord)).toEqual({ position: '2', audit: undefined });
    expect(() => streamedChangeOf({ eventName: 'INSERT', dynamodb: { Keys: {} } })).toThrow();
  });

  it('publishes a batch and reports nothing failed, or the first record not done', async () => {
    const publisher = recordingPublisher();
    const handler = makePublishEventsHandler({ publisher, readRecord: streamedChangeOf, logger });
    const records = [
      auditRecord(audit('PolicyCreated', 'a'), '1'),
      certificateRecord,
      auditRecord(audit('CertificateIssued', 'b'), '3'),
    ];
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
    expect(publisher.put.map((e) => e.detailType)).toEqual(['PolicyChanged', 'CertificateIssued']);

    const poisoned = [
      records[0],
      { eventName: 'INSERT', dynamodb: { SequenceNumber: '2', Keys: {} } },
      records[2],
    ] as DynamoDBRecord[];
    const again = recordingPublisher();
    const response = await makePublishEventsHandler({ publisher: again, readRecord: streamedChangeOf, logger })({
      Records: poisoned,
    });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '2' }] });
    expect(again.put.map((e) => e.detail.eventId)).toEqual(['a']);
  });
});

describe('discovery run completion', () => {
  const RUN_ID = '20261129T120000Z-5f1c0a9e7b2d';
  const part = (source: RunPart['source'], status: RunPart['status'], extra: Partial<RunPart> = {}): RunPart => ({
    source,
    account: '111122223333',
    region: source === 'aws-iam' ? 'global' : 'eu-west-1',
    status,
    counts: ZERO_COUNTS,
    ...extra,
  });
  /** A run's record with the tally these parts keep. */
  const run = (...parts: RunPart[]): DiscoveryRunSummary => ({
    runId: RUN_ID,
    startedAt: AT,
    startedBy: 'local:admin',
    trigger: 'api',
    tally: tallyOf(parts),
  });
  const iamDone = part('aws-iam', 'succeeded', {
    counts: { seen: 12, new: 3, changed: 1, missing: 0, reappeared: 1 },
    finishedAt: '2026-11-29T12:00:09.000Z',
  });
  const kmsRunning = part('aws-kms', 'running', { startedAt: AT });
  const kmsDone = part('aws-kms', 'succeeded', {
    counts: { seen: 5, new: 0, changed: 2, missing: 1, reappeared: 0 },
    finishedAt: '2026-11-29T12:00:07.000Z',
  });
  const kmsFailed = part('aws-kms', 'failed', { reason: 'AccessDenied', finishedAt: '2026-11-29T12:00:30.000Z' });

  it('is published by the write that finishes the run, with its totals, keyed by the run', () => {
    const event = eventFromDiscoveryRun(run(iamDone, kmsRunning), run(iamDone, kmsDone));
    expect(event && parseCatalogEvent(event)).toEqual(event);
    expect(event).toEqual({
      source: 'mim.control-plane',
      detailType: 'DiscoveryRunCompleted',
      detail: {
        version: 1,
        eventId: `${RUN_ID}:completed`,
        occurredAt: '2026-11-29T12:00:09.000Z',
        actor: 'local:admin',
        runId: RUN_ID,
        status: 'completed',
        trigger: 'api',
        startedAt: AT,
        completedAt: '2026-11-29T12:00:09.000Z',
        parts: { succeeded: 2, failed: 0, skipped: 0 },
        counts: { seen: 17, new: 3, changed: 3, missing: 1, reappeared: 1 },
      },
    });
  });

  it('says partial or failed as the run status does', () => {
    const partial = eventFromDiscoveryRun(run(iamDone, kmsRunning), run(iamDone, kmsFailed));
    expect(partial?.detail).toMatchObject({
      status: 'partial',
      completedAt: '2026-11-29T12:00:30.000Z',
      parts: { succeeded: 1, failed: 1, skipped: 0 },
    });
    const failed = eventFromDiscoveryRun(run(kmsRunning), run(kmsFailed));
    expect(failed?.detail).toMatchObject({ status: 'failed', parts: { succeeded: 0, failed: 1, skipped: 0 } });
  });

  it('is published for a run created finished (every part skipped), dated at its start', () => {
    const skipped = part('aws-iam', 'skipped', { reason: 'no credentials' });
    const event = eventFromDiscoveryRun(undefined, { ...run(skipped), trigger: 'schedule', startedBy: 'schedule' });
    expect(event?.detail).toMatchObject({
      status: 'completed',
      actor: 'schedule',
      trigger: 'schedule',
      completedAt: AT,
      parts: { succeeded: 0, failed: 0, skipped: 1 },
    });
  });

  it('is not published for progress, a run created pending, or a write to a run already finished', () => {
    expect(eventFromDiscoveryRun(undefined, run(part('aws-iam', 'pending'), part('aws-kms', 'pending')))).toBe(
      undefined,
    );
    expect(eventFromDiscoveryRun(run(iamDone, part('aws-kms', 'pending')), run(iamDone, kmsRunning))).toBe(undefined);
    expect(eventFromDiscoveryRun(run(iamDone, kmsDone), run(iamDone, kmsFailed))).toBe(undefined);
    expect(eventFromDiscoveryRun(run(iamDone, kmsDone), run(iamDone, kmsDone))).toBe(undefined);
  });

  /** A stream record of the run's record, its tally in top-level numbers, as the runs adapter writes it. */
  function runRecord(sequence: string, after: DiscoveryRunSummary, before?: DiscoveryRunSummary): DynamoDBRecord {
    const attr = (value: unknown): Record<string, unknown> =>
      typeof value === 'string'
        ? { S: value }
        : typeof value === 'number'
          ? { N: String(value) }
          : { M: Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, attr(v)])) };
    const keys = { pk: { S: 'DRUN' }, sk: { S: after.runId } };
    const image = (r: DiscoveryRunSummary) => ({
      ...keys,
      runId: attr(r.runId),
      startedAt: attr(r.startedAt),
      startedBy: attr(r.startedBy),
      trigger: attr(r.trigger),
      partCount: attr(r.tally.parts),
      succeededParts: attr(r.tally.succeeded),
      failedParts: attr(r.tally.failed),
      skippedParts: attr(r.tally.skipped),
      ...Object.fromEntries(Object.entries(r.tally.counts).map(([k, v]) => [k, attr(v)])),
      ...(r.tally.finishedAt === undefined ? {} : { finishedAt: attr(r.tally.finishedAt) }),
    });
    return {
      eventName: before ? 'MODIFY' : 'INSERT',
      dynamodb: {
        SequenceNumber: sequence,
        Keys: keys,
        NewImage: image(after) as never,
        ...(before ? { OldImage: image(before) as never } : {}),
      },
    };
  }

  it('reads run items from stream records with the runs adapter parser, and refuses a corrupt one', () => {
    const change = streamedChangeOf(runRecord('7', run(iamDone, kmsDone), run(iamDone, kmsRunning)));
    expect(change).toEqual({
      position: '7',
      discoveryRun: { before: run(iamDone, kmsRunning), after: run(iamDone, kmsDone) },
    });
    expect(streamedChangeOf(runRecord('8', run(kmsRunning)))).toMatchObject({ discoveryRun: { before: undefined } });
    const corrupt = runRecord('9', run(iamDone, kmsDone), run(iamDone, kmsRunning));
    (corrupt.dynamodb?.NewImage as Record<string, unknown>).trigger = { S: 'cron' };
    expect(() => streamedChangeOf(corrupt)).toThrow(/inventory item could not be read/);
  });

  it('publishes once per finish, the same event id when a record comes again, and stops at a corrupt record', async () => {
    const logger = { info: () => undefined, error: () => undefined } as never;
    const publisher = recordingPublisher();
    const handler = makePublishEventsHandler({ publisher, readRecord: streamedChangeOf, logger });
    const finishing = runRecord('3', run(iamDone, kmsDone), run(iamDone, kmsRunning));
    const records = [
      runRecord('1', run(part('aws-iam', 'pending'), part('aws-kms', 'pending'))),
      runRecord('2', run(iamDone, kmsRunning), run(part('aws-iam', 'pending'), kmsRunning)),
      finishing,
      runRecord('4', run(iamDone, kmsFailed), run(iamDone, kmsDone)),
    ];
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
    expect(await handler({ Records: [finishing] })).toEqual({ batchItemFailures: [] });
    expect(publisher.put.map((e) => `${e.detailType} ${e.detail.eventId}`)).toEqual([
      `DiscoveryRunCompleted ${RUN_ID}:completed`,
      `DiscoveryRunCompleted ${RUN_ID}:completed`,
    ]);

    const corrupt = runRecord('6', run(iamDone, kmsDone), run(iamDone, kmsRunning));
    (corrupt.dynamodb?.OldImage as Record<string, unknown>).startedAt = { S: 'yesterday' };
    const again = recordingPublisher();
    const response = await makePublishEventsHandler({ publisher: again, readRecord: streamedChangeOf, logger })({
      Records: [auditRecord(audit('PolicyCreated', 'a'), '5'), corrupt, finishing],
    });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '6' }] });
    expect(again.put.map((e) => e.detail.eventId)).toEqual(['a']);
  });

  it('resumes at a run change whose event cannot be made, after publishing those before it', async () => {
    const publisher = recordingPublisher();
    const broken = { ...run(iamDone, kmsDone), startedBy: 'x', startedAt: 'not a time', tally: tallyOf([iamDone]) };
    const result = await publishCommittedChanges({ publisher }, [
      { position: '1', audit: audit('PolicyCreated', 'e1') },
      { position: '2', discoveryRun: { before: run(iamDone, kmsRunning), after: broken } },
      { position: '3', discoveryRun: { before: run(iamDone, kmsRunning), after: run(iamDone, kmsDone) } },
    ]);
    expect(result).toEqual({ resumeAt: '2', published: 1 });
    expect(publisher.put.map((e) => e.detail.eventId)).toEqual(['e1']);
  });
});

describe('the local bus', () => {
  it('delivers each event, in the envelope EventBridge uses, to the consumers of matching rules only', async () => {
    const seen: string[] = [];
    const printed: string[] = [];
    const bus = new LocalEventBus({
      routes: [
        {
          rule: {
            name: 'Revocations',
            description: 'd',
            pattern: { 'detail-type': ['CertificateRevoked'] },
            target: 'health',
          },
          consumer: async (event) => {
            seen.push(`revocations:${busEventSchema.parse(event)['detail-type']}`);
          },
        },
        {
          rule: { name: 'Failing', description: 'd', pattern: { source: ['mim.control-plane'] }, target: 'health' },
          consumer: async () => {
            throw new Error('consumer down');
          },
        },
      ],
      onEvent: (event) => printed.push(event['detail-type']),
      onConsumerError: (rule) => seen.push(`error:${rule.name}`),
    });
    const result = await bus.publish([
      eventFromAudit(audit('CertificateIssued', 'x')),
      eventFromAudit(audit('CertificateRevoked', 'y')),
    ]);
    expect(result).toEqual({ failedEventIds: [] });
    expect(printed).toEqual(['CertificateIssued', 'CertificateRevoked']);
    expect(seen).toEqual(['error:Failing', 'revocations:CertificateRevoked', 'error:Failing']);
  });
});
