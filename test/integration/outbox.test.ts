import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePublishEventsHandler } from '#functions/publish-events/handler.ts';
import { createFileCheckpointStore } from '#infra/local/file-checkpoint-store.ts';
import { type StreamPump, startStreamPump } from '#infra/local/stream-pump.ts';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { auditKey } from '#lib/adapters/dynamodb-keys.ts';
import { DynamoDbPolicyStore } from '#lib/adapters/dynamodb-policy-store.ts';
import { streamedChangeOf } from '#lib/adapters/dynamodb-stream-changes.ts';
import { createDynamoDbStreamReader, createStreamsClient } from '#lib/adapters/dynamodb-stream-reader.ts';
import { EventBridgePublisher } from '#lib/adapters/eventbridge-publisher.ts';
import type { Observation } from '#lib/domain/discovery.ts';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import { policyDocumentSchema } from '#lib/domain/policy.ts';
import type { DiscoveryUnit } from '#lib/ports/discovery-runs.ts';
import { discoverScope } from '#lib/use-cases/discover-scope.ts';
import { runDiscoveryUnit, startDiscoveryRun } from '#lib/use-cases/run-discovery.ts';
import { dynamoDbEndpoint, type FreshTable, freshTable } from '../support/dynamodb.ts';
import {
  type FakeEventBridge,
  fakeEventBridgeClient,
  startFakeEventBridge,
} from '../support/fake-eventbridge-server.ts';
import { tempDir } from '../support/pki-fixtures.ts';

/**
 * The transactional outbox end to end, with the real parts: writes committed to DynamoDB Local, its stream read by the
 * local pump (the stand-in for Lambda's event source mapping), the very publisher handler the Lambda runs, and the
 * EventBridge adapter putting events on a loopback server that speaks EventBridge's protocol.
 */

const BUS = 'mim-outbox-test';
let table: FreshTable;
let bus: FakeEventBridge;
let pump: StreamPump;
let cleanup: () => Promise<void>;
const deadLetters: DynamoDBRecord[][] = [];

const quiet = { info: () => undefined, error: () => undefined } as never;

function audit(action: AuditRecord['action'], name: string, version: number): AuditRecord {
  return {
    eventId: randomUUID(),
    at: new Date().toISOString(),
    action,
    actor: 'local:admin',
    target: `policy/${name}`,
    details: { version, source: 'api' },
  };
}

beforeAll(async () => {
  table = await freshTable();
  bus = await startFakeEventBridge();
  const dir = await tempDir();
  cleanup = dir.remove;
  const publisher = new EventBridgePublisher(fakeEventBridgeClient(bus.endpoint), BUS, {
    sleep: async () => undefined,
  });
  const options = { endpoint: dynamoDbEndpoint() };
  pump = await startStreamPump({
    reader: createDynamoDbStreamReader({
      dynamodb: createDocumentClient(options).client,
      streams: createStreamsClient(options),
      tableName: table.tableName,
    }),
    checkpoints: createFileCheckpointStore(`${dir.path}/checkpoints.json`),
    deliver: makePublishEventsHandler({ publisher, readRecord: streamedChangeOf, logger: quiet }),
    onDeadLetter: (records) => {
      deadLetters.push([...records]);
    },
    onError: () => undefined,
    maxRetries: 2,
    retryDelayMs: 1,
  });
});

afterAll(async () => {
  await pump?.stop();
  await bus?.close();
  await cleanup?.();
});

describe('transactional outbox', () => {
  it('publishes what was committed, once per audit entry, and nothing for a write that failed', async () => {
    const store = new DynamoDbPolicyStore(table.doc, table.tableName);
    const document = policyDocumentSchema.parse({
      name: 'apps',
      principals: ['local:*'],
      allow: { dnsSuffixes: ['a.test'] },
    });
    const created = audit('PolicyCreated', 'apps', 1);
    await store.putPolicy({
      document,
      expectedVersion: 0,
      source: 'api',
      at: created.at,
      by: 'local:admin',
      audit: created,
    });
    // A stale version: the transaction is cancelled, nothing is written, so nothing may be published.
    const refused = audit('PolicyUpdated', 'apps', 5);
    await expect(
      store.putPolicy({
        document,
        expectedVersion: 4,
        source: 'api',
        at: refused.at,
        by: 'local:admin',
        audit: refused,
      }),
    ).rejects.toBeInstanceOf(ControlPlaneError);
    const updated = audit('PolicyUpdated', 'apps', 2);
    await store.putPolicy({
      document,
      expectedVersion: 1,
      source: 'api',
      at: updated.at,
      by: 'local:admin',
      audit: updated,
    });

    await pump.drain();
    const put = bus.accepted.map((e) => ({
      bus: e.eventBusName,
      type: e.detailType,
      id: e.detail.eventId,
      v: e.detail.policyVersion,
    }));
    expect(put).toEqual([
      { bus: BUS, type: 'PolicyChanged', id: created.eventId, v: 1 },
      { bus: BUS, type: 'PolicyChanged', id: updated.eventId, v: 2 },
    ]);
    expect(bus.accepted.every((e) => e.source === 'mim.control-plane')).toBe(true);
  });

  it('retries an event the bus refused, and dead-letters a record that cannot become an event, then goes on', async () => {
    bus.reset();
    const store = new DynamoDbPolicyStore(table.doc, table.tableName);
    const document = policyDocumentSchema.parse({
      name: 'web',
      principals: ['local:*'],
      allow: { dnsSuffixes: ['w.test'] },
    });
    const throttled = audit('PolicyCreated', 'web', 1);
    bus.failEntries({ eventIds: [throttled.eventId], errorCode: 'ThrottlingException', times: 2 });
    await store.putPolicy({
      document,
      expectedVersion: 0,
      source: 'api',
      at: throttled.at,
      by: 'local:admin',
      audit: throttled,
    });
    // An audit entry whose event cannot be made (a policy change without its version): a poison record.
    const at = new Date().toISOString();
    const poison = randomUUID();
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...auditKey(at, poison),
          eventId: poison,
          at,
          action: 'PolicyUpdated',
          actor: 'x',
          target: 'policy/web',
          details: {},
        },
      }),
    );
    const after = audit('PolicyDeleted', 'web', 2);
    await store.deletePolicy({ name: 'web', expectedVersion: 1, audit: after });

    await pump.drain();
    expect(bus.accepted.map((e) => e.detail.eventId)).toEqual([throttled.eventId, after.eventId]);
    expect(deadLetters.flat().map((r) => r.dynamodb?.NewImage?.eventId?.S)).toEqual([poison]);
  });

  it('publishes what discovery changed: new, changed, missing and back; nothing for an unchanged estate or a missed run', async () => {
    bus.reset();
    const inventory = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
    const secret = (name: string, rotation: boolean): Observation => ({
      source: 'aws-secrets-manager',
      type: 'secret',
      arn: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:${name}`,
      name,
      account: '111122223333',
      region: 'eu-west-1',
      tags: {},
      facts: { rotationEnabled: rotation },
    });
    const scope = { source: 'aws-secrets-manager', account: '111122223333', region: 'eu-west-1' } as const;
    const run = (estate: Observation[]) =>
      discoverScope(
        {
          source: {
            name: 'aws-secrets-manager',
            global: false,
            pages: async function* () {
              yield { observations: estate };
            },
          },
          inventory,
          clock: { now: () => new Date() },
        },
        scope,
        { missingAfterRuns: 2 },
      );
    const types = async () => {
      await pump.drain();
      const out = bus.accepted.map((e) =>
        e.detailType === 'IdentityRiskChanged'
          ? `${e.detailType} ${e.detail.previousLevel}→${e.detail.level}`
          : `${e.detailType} ${e.detail.name}`,
      );
      bus.reset();
      return out.sort();
    };
    // New, unowned: also their risk moves from none to low (OWNER_MISSING).
    await run([secret('db', true), secret('api', true)]);
    expect(await types()).toEqual([
      'IdentityDiscovered api',
      'IdentityDiscovered db',
      'IdentityRiskChanged none→low',
      'IdentityRiskChanged none→low',
    ]);
    await run([secret('db', true), secret('api', true)]);
    expect(await types()).toEqual([]);
    // Rotation turned off: a change, and a medium risk (SECRET_ROTATION_DISABLED).
    await run([secret('db', false)]);
    expect(await types()).toEqual(['IdentityChanged db', 'IdentityRiskChanged low→medium']);
    // Missing: no rule judges what is not there any more.
    await run([secret('db', false)]);
    expect(await types()).toEqual(['IdentityMissing api', 'IdentityRiskChanged low→none']);
    await run([secret('db', false), secret('api', true)]);
    expect(await types()).toEqual(['IdentityReappeared api', 'IdentityRiskChanged none→low']);
  });

  it("publishes IdentityRiskChanged when a write moves an issued identity's level, and nothing when it does not", async () => {
    bus.reset();
    const inventory = new DynamoDbInventory(table.doc, table.tableName);
    const identityId = randomUUID();
    const serialNumber = randomUUID().replaceAll('-', '');
    const at = new Date().toISOString();
    const identity = {
      identityId,
      type: 'x509-certificate' as const,
      status: 'active' as const,
      owner: 'local:admin',
      policy: 'server',
      tags: {},
      name: 'risk.local.test',
      source: 'issued' as const,
      currentSerialNumber: serialNumber,
      expiresAt: at,
      createdAt: at,
      updatedAt: at,
      version: 1,
      risk: { score: 0, level: 'none' as const, rules: [] },
    };
    await inventory.recordIssuance({
      certificate: {
        serialNumber,
        identityId,
        policy: 'server',
        subject: 'CN=risk.local.test',
        subjectAltNames: [{ type: 'dns', value: 'risk.local.test' }],
        keyAlgorithm: 'EC_P256',
        keySize: 256,
        notBefore: at,
        notAfter: at,
        renewAfter: at,
        fingerprintSha256: 'ab'.repeat(32),
        issuedAt: at,
        issuedBy: 'local:admin',
        status: 'active',
        certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        tags: {},
      },
      identity,
      audit: { eventId: randomUUID(), at, action: 'CertificateIssued', actor: 'local:admin', target: 'x', details: {} },
    });
    expect(
      await inventory.recordRiskUpdate({
        ...identity,
        version: 2,
        risk: { score: 50, level: 'high', rules: ['CERT_EXPIRED'] },
      }),
    ).toBe(true);
    // A stale version writes nothing.
    expect(await inventory.recordRiskUpdate({ ...identity, version: 2 })).toBe(false);
    await pump.drain();
    const risk = bus.accepted.filter((e) => e.detailType === 'IdentityRiskChanged');
    expect(risk.map((e) => e.detail)).toEqual([
      expect.objectContaining({
        eventId: `${identityId}:v2:risk`,
        identityId,
        previousLevel: 'none',
        level: 'high',
        findings: [{ rule: 'CERT_EXPIRED', severity: 'high' }],
      }),
    ]);
  });

  it('publishes DiscoveryRunCompleted once, when the last part of a run finishes, and not for a later write', async () => {
    bus.reset();
    const runs = new DynamoDbDiscoveryRuns(table.doc, table.tableName);
    const inventory = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
    const clock = { now: () => new Date() };
    const account = '444455556666';
    const units: DiscoveryUnit[] = [];
    const run = await startDiscoveryRun(
      {
        runs,
        queue: { enqueue: async (queued) => void units.push(...queued) },
        clock,
        plan: async () => ({ accounts: [{ accountId: account, roleArn: undefined }], regions: ['eu-west-1'] }),
        randomId: () => randomUUID().slice(0, 12),
        tls: { targets: [], allowedRanges: [], resolve: async () => new Map() },
      },
      { by: 'local:admin', trigger: 'api', sources: ['aws-secrets-manager', 'aws-kms'] },
    );
    const secret = (name: string): Observation => ({
      source: 'aws-secrets-manager',
      type: 'secret',
      arn: `arn:aws:secretsmanager:eu-west-1:${account}:secret:${name}`,
      name,
      account,
      region: 'eu-west-1',
      tags: {},
      facts: { rotationEnabled: true },
    });
    const deps = {
      runs,
      inventory,
      clock,
      missingAfterRuns: 2,
      sourceFor: async (unit: DiscoveryUnit) => {
        if (unit.source === 'aws-kms') throw new Error('AccessDeniedException: kms:ListKeys');
        return {
          name: unit.source,
          global: false,
          pages: async function* () {
            yield { observations: [secret('billing'), secret('ledger')] };
          },
        };
      },
    };
    const completions = async () => {
      await pump.drain();
      return bus.accepted.filter((e) => e.detailType === 'DiscoveryRunCompleted');
    };
    const secrets = units.find((u) => u.source === 'aws-secrets-manager');
    const kms = units.find((u) => u.source === 'aws-kms');
    if (!secrets || !kms) throw new Error('the run lacks a part');
    const deadLettered = deadLetters.flat().length;

    await runDiscoveryUnit(deps, secrets);
    expect(await completions()).toEqual([]);
    const failedPart = await runDiscoveryUnit(deps, kms);
    const completed = await completions();
    expect(completed).toHaveLength(1);
    expect(completed[0]?.detail).toEqual({
      version: 1,
      eventId: `${run.runId}:completed`,
      occurredAt: failedPart.finishedAt,
      actor: 'local:admin',
      runId: run.runId,
      status: 'partial',
      trigger: 'api',
      startedAt: run.startedAt,
      completedAt: failedPart.finishedAt,
      parts: { succeeded: 1, failed: 1, skipped: 0 },
      counts: { seen: 2, new: 2, changed: 0, missing: 0, reappeared: 0 },
    });
    expect(bus.accepted.filter((e) => e.detailType === 'IdentityDiscovered')).toHaveLength(2);

    // A write to the run after it finished (a part recorded again) is no new completion.
    await runs.updatePart(run.runId, failedPart);
    expect(await completions()).toHaveLength(1);
    expect(deadLetters.flat()).toHaveLength(deadLettered);
  });
});
