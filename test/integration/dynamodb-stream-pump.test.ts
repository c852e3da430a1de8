import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFileCheckpointStore } from '#infra/local/file-checkpoint-store.ts';
import {
  type DeadLetterReason,
  type StreamCheckpoints,
  type StreamPump,
  type StreamPumpErrorSource,
  type StreamPumpOptions,
  startStreamPump,
} from '#infra/local/stream-pump.ts';
import { createDocumentClient, createTableIfMissing, inventoryTableInput } from '#lib/adapters/dynamodb-client.ts';
import { createDynamoDbStreamReader, createStreamsClient } from '#lib/adapters/dynamodb-stream-reader.ts';
import { dynamoDbEndpoint, freshTable } from '../support/dynamodb.ts';

const noCheckpoints: StreamCheckpoints = { load: async () => ({}), save: async () => undefined };

/** What a test pump saw: every event delivered (even those answered with failures), dead letters and errors. */
interface Harness {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly deliveries: DynamoDBRecord[][];
  readonly deadLetters: { records: readonly DynamoDBRecord[]; reason: DeadLetterReason }[];
  readonly errors: { error: unknown; source: StreamPumpErrorSource }[];
  start(options?: Partial<StreamPumpOptions>): Promise<StreamPump>;
  put(pk: string, attributes?: Record<string, AttributeValue>): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Pumps first (they are pushed last), then the clients they read through.
  for (let cleanup = cleanups.pop(); cleanup !== undefined; cleanup = cleanups.pop()) await cleanup();
});

async function harness(table?: { client: DynamoDBClient; tableName: string }): Promise<Harness> {
  const { client, tableName } = table ?? (await freshTable());
  const streams = createStreamsClient({ endpoint: dynamoDbEndpoint() });
  cleanups.push(async () => {
    client.destroy();
    streams.destroy();
  });
  const deliveries: DynamoDBRecord[][] = [];
  const deadLetters: Harness['deadLetters'] = [];
  const errors: Harness['errors'] = [];
  return {
    client,
    tableName,
    deliveries,
    deadLetters,
    errors,
    async start(options = {}) {
      const { deliver, ...rest } = options;
      const pump = await startStreamPump({
        reader: createDynamoDbStreamReader({ dynamodb: client, streams, tableName }),
        checkpoints: noCheckpoints,
        intervalMs: 50,
        retryDelayMs: 1,
        onDeadLetter: (records, reason) => {
          deadLetters.push({ records, reason });
        },
        onError: (error, source) => {
          errors.push({ error, source });
        },
        ...rest,
        deliver: async (event) => {
          deliveries.push(event.Records);
          return deliver?.(event);
        },
      });
      cleanups.push(() => pump.stop());
      return pump;
    },
    async put(pk, attributes = {}) {
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, sk: { S: 'item' }, ...attributes } }),
      );
    },
  };
}

function pkOf(record: DynamoDBRecord): string | undefined {
  return record.dynamodb?.Keys?.pk?.S;
}

function sequenceOf(record: DynamoDBRecord): string {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (sequenceNumber === undefined) throw new Error(`record ${record.eventID} has no sequence number`);
  return sequenceNumber;
}

describe('DynamoDB stream pump over DynamoDB Local', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stream-pump-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers puts, updates, deletes and transactions in order, as Lambda shapes them', async () => {
    const h = await harness();
    const pump = await h.start();
    const key = { pk: { S: 'ITEM#1' }, sk: { S: 'item' } };
    const before = Date.now();
    const item: Record<string, AttributeValue> = {
      ...key,
      count: { N: '42' },
      ratio: { N: '-0.25' },
      details: { M: { name: { S: 'api' }, ports: { L: [{ N: '443' }, { N: '8443' }] } } },
      steps: { L: [{ S: 'issue' }, { BOOL: false }, { NULL: true }, { M: { at: { N: '1' } } }] },
      // The SDK reads an empty map back as an attribute value without members; it must arrive as {"M": {}}.
      empty: { M: {} },
      emptyInList: { L: [{ M: {} }] },
      active: { BOOL: true },
      nothing: { NULL: true },
      blob: { B: new Uint8Array([0, 1, 2, 250, 255]) },
      names: { SS: ['a', 'b'] },
      sizes: { NS: ['1', '2'] },
      blobs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
    };
    await h.client.send(new PutItemCommand({ TableName: h.tableName, Item: item }));
    await h.client.send(
      new UpdateItemCommand({
        TableName: h.tableName,
        Key: key,
        UpdateExpression: 'SET #count = #count + :one, active = :false REMOVE nothing',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':one': { N: '1' }, ':false': { BOOL: false } },
      }),
    );
    await h.client.send(new DeleteItemCommand({ TableName: h.tableName, Key: key }));
    await h.client.send(
      new TransactWriteItemsCommand({
        TransactItems: [1, 2, 3].map((n) => ({
          Put: { TableName: h.tableName, Item: { pk: { S: `TX#${n}` }, sk: { S: 'item' }, n: { N: String(n) } } },
        })),
      }),
    );
    await pump.drain();

    const records = h.deliveries.flat();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE', 'INSERT', 'INSERT', 'INSERT']);
    expect(records.slice(0, 3).map(pkOf)).toEqual(['ITEM#1', 'ITEM#1', 'ITEM#1']);
    // A transaction's records follow the writes committed before it; their order among themselves is not promised.
    expect(new Set(records.slice(3).map(pkOf))).toEqual(new Set(['TX#1', 'TX#2', 'TX#3']));

    const lambdaItem = {
      ...key,
      count: { N: '42' },
      ratio: { N: '-0.25' },
      details: { M: { name: { S: 'api' }, ports: { L: [{ N: '443' }, { N: '8443' }] } } },
      steps: { L: [{ S: 'issue' }, { BOOL: false }, { NULL: true }, { M: { at: { N: '1' } } }] },
      // The SDK reads an empty map back as an attribute value without members; it must arrive as {"M": {}}.
      empty: { M: {} },
      emptyInList: { L: [{ M: {} }] },
      active: { BOOL: true },
      nothing: { NULL: true },
      blob: { B: 'AAEC+v8=' },
      names: { SS: ['a', 'b'] },
      sizes: { NS: ['1', '2'] },
      blobs: { BS: ['AQ==', 'AgM='] },
    };
    const { nothing: _removed, ...updated } = { ...lambdaItem, count: { N: '43' }, active: { BOOL: false } };
    const [inserted, modified, removed] = records;
    expect(inserted?.dynamodb?.Keys).toEqual(key);
    expect(inserted?.dynamodb?.NewImage).toEqual(lambdaItem);
    expect(inserted?.dynamodb).not.toHaveProperty('OldImage');
    expect(modified?.dynamodb?.OldImage).toEqual(lambdaItem);
    expect(modified?.dynamodb?.NewImage).toEqual(updated);
    expect(removed?.dynamodb?.OldImage).toEqual(updated);
    expect(removed?.dynamodb).not.toHaveProperty('NewImage');
    expect(records[3]?.dynamodb?.NewImage).toEqual({ ...records[3]?.dynamodb?.Keys, n: expect.any(Object) });

    const streamArn = (await h.client.send(new DescribeTableCommand({ TableName: h.tableName }))).Table
      ?.LatestStreamArn;
    for (const record of records) {
      expect(record).toMatchObject({
        eventID: expect.any(String),
        eventSource: 'aws:dynamodb',
        eventSourceARN: streamArn,
        eventVersion: expect.any(String),
        awsRegion: expect.any(String),
        dynamodb: { StreamViewType: 'NEW_AND_OLD_IMAGES', SizeBytes: expect.any(Number) },
      });
      // Epoch seconds, as Lambda delivers them (DynamoDB Local rounds down to the minute).
      expect(record.dynamodb?.ApproximateCreationDateTime).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 60);
      expect(record.dynamodb?.ApproximateCreationDateTime).toBeLessThanOrEqual(Date.now() / 1000);
    }
    // Plain JSON all the way down (no bytes, no dates): what Lambda hands a handler.
    expect(JSON.parse(JSON.stringify(h.deliveries))).toEqual(h.deliveries);
    const sequence = records.map((r) => BigInt(sequenceOf(r)));
    expect(sequence).toEqual([...sequence].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(sequence).size).toBe(records.length);
    expect(h.deadLetters).toEqual([]);
    expect(h.errors).toEqual([]);
  });

  it('delivers a batch again from the record reported as failed, and not the records before it', async () => {
    const h = await harness();
    for (const pk of ['p0', 'p1', 'p2', 'p3', 'p4']) await h.put(pk);
    let failed = false;
    const pump = await h.start({
      deliver: async (event) => {
        const third = event.Records[2];
        if (failed || third === undefined) return { batchItemFailures: [] };
        failed = true;
        return { batchItemFailures: [{ itemIdentifier: sequenceOf(third) }] };
      },
    });
    await pump.drain();
    expect(h.deliveries.map((batch) => batch.map(pkOf))).toEqual([
      ['p0', 'p1', 'p2', 'p3', 'p4'],
      ['p2', 'p3', 'p4'],
    ]);
    expect(h.deadLetters).toEqual([]);
  });

  it('dead-letters exactly a record that keeps failing, after the retries, and delivers the records after it', async () => {
    const h = await harness();
    for (const pk of ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']) await h.put(pk);
    const pump = await h.start({
      batchSize: 4,
      maxRetries: 2,
      deliver: async (event) => {
        const poison = event.Records.find((record) => pkOf(record) === 'p2');
        return { batchItemFailures: poison === undefined ? [] : [{ itemIdentifier: sequenceOf(poison) }] };
      },
    });
    await pump.drain();
    expect(h.deliveries.map((batch) => batch.map(pkOf))).toEqual([
      ['p0', 'p1', 'p2', 'p3'],
      ['p2', 'p3'],
      ['p2', 'p3'],
      ['p3'],
      ['p4', 'p5'],
    ]);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]?.records.map(pkOf)).toEqual(['p2']);
    expect(h.deadLetters[0]?.reason).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      failure: 'batchItemFailure',
      attempts: 3,
      streamArn: h.deliveries[0]?.[0]?.eventSourceARN,
      shardId: expect.any(String),
    });

    await h.put('p6');
    await pump.drain();
    expect(h.deliveries.at(-1)?.map(pkOf)).toEqual(['p6']);
  });

  it('retries a whole batch when deliver throws or answers nonsense, then dead-letters it and goes on', async () => {
    const h = await harness();
    for (const pk of ['a0', 'a1', 'a2', 'a3']) await h.put(pk);
    const answers: (() => unknown)[] = [
      () => {
        throw new Error('bus unreachable');
      },
      () => ({ batchItemFailures: [{ itemIdentifier: '999999999999999999999' }] }),
      () => 'not a batch response',
    ];
    const pump = await h.start({
      batchSize: 2,
      maxRetries: 2,
      deliver: async (event) => {
        if (pkOf(event.Records[0] ?? {}) !== 'a0') return undefined;
        return answers.shift()?.() as any;
      },
    });
    await pump.drain();
    expect(h.deliveries.map((batch) => batch.map(pkOf))).toEqual([
      ['a0', 'a1'],
      ['a0', 'a1'],
      ['a0', 'a1'],
      ['a2', 'a3'],
    ]);
    expect(h.deadLetters.map((letter) => letter.records.map(pkOf))).toEqual([['a0', 'a1']]);
    expect(h.deadLetters[0]?.reason).toMatchObject({ failure: 'error', attempts: 3 });
    expect(String(h.deadLetters[0]?.reason.error)).toMatch(/batch response/);
  });

  it('goes on after a restart from its checkpoint file: nothing twice, nothing lost', async () => {
    const table = await freshTable();
    const h = await harness(table);
    const path = join(dir, 'restart', 'stream-checkpoints.json');
    const first = await h.start({ checkpoints: createFileCheckpointStore(path) });
    for (const pk of ['r0', 'r1', 'r2']) await h.put(pk);
    await first.drain();
    await first.stop();
    const firstRecords = h.deliveries.flat();
    expect(firstRecords.map(pkOf)).toEqual(['r0', 'r1', 'r2']);

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const saved: unknown = JSON.parse(await readFile(path, 'utf8'));
    expect(Object.values(saved as Record<string, string>)).toEqual([sequenceOf(firstRecords[2] ?? {})]);
    expect((await readdir(join(dir, 'restart'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    // Written while no pump runs, as while `npm start` is down.
    for (const pk of ['r3', 'r4']) await h.put(pk);
    const again = await harness(freshClientsFor(table.tableName));
    const second = await again.start({ checkpoints: createFileCheckpointStore(path) });
    await second.drain();
    await h.put('r5');
    await second.drain();
    expect(again.deliveries.flat().map(pkOf)).toEqual(['r3', 'r4', 'r5']);
    const ids = [...firstRecords, ...again.deliveries.flat()].map((record) => record.eventID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses to start from a corrupt checkpoint file, and says what to do', async () => {
    const h = await harness();
    const path = join(dir, 'corrupt.json');
    await writeFile(path, '{"shardId-1": 12', { mode: 0o600 });
    await expect(h.start({ checkpoints: createFileCheckpointStore(path) })).rejects.toThrow(
      /corrupt\.json is not a map of shard ids to sequence numbers\. Delete it/,
    );
  });

  it('reports reader errors, keeps polling, and fails a drain clearly when it cannot catch up', async () => {
    const { client } = createDocumentClient({ endpoint: dynamoDbEndpoint() });
    const tableName = `inventory-missing-${Date.now()}`;
    const h = await harness({ client, tableName });
    const pump = await h.start({ intervalMs: 20 });
    await expect(pump.drain(300)).rejects.toThrow(
      /did not catch up with the stream within 300 ms\. The last error reading the stream: .*non-existent table/,
    );
    expect(h.errors.length).toBeGreaterThan(0);
    expect(h.errors.every(({ source }) => source === 'read')).toBe(true);

    // The table appears (as when DynamoDB Local comes back): the next polls read it.
    await createTableIfMissing(client, tableName);
    await h.put('late');
    await pump.drain();
    expect(h.deliveries.flat().map(pkOf)).toEqual(['late']);
  });

  it('rejects a drain once stopped, and delivers nothing after stop()', async () => {
    const h = await harness();
    const pump = await h.start();
    await pump.drain();
    await pump.stop();
    await pump.stop();
    await h.put('after-stop');
    await expect(pump.drain()).rejects.toThrow(/stopped/);
    expect(h.deliveries).toEqual([]);
  });

  it('leaves nothing running after stop(): the process exits by itself', async () => {
    const child = resolve('test/support/stream-pump-child.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, dynamoDbEndpoint()], {
      cwd: process.cwd(),
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      // Bounds the test: a timer or socket left behind keeps the child alive until this kills it.
      timeout: 25_000,
    });
    const report: unknown = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
    expect(report).toEqual({ delivered: 1, attempts: 1, stoppedFirst: true, afterIdleStop: [], afterRetryStop: [] });
  }, 30_000);

  it('createTableIfMissing turns the stream on for a table created without one, and the pump reads it', async () => {
    const { client } = createDocumentClient({ endpoint: dynamoDbEndpoint() });
    const tableName = `inventory-nostream-${Date.now()}`;
    const { StreamSpecification: _stream, ...withoutStream } = inventoryTableInput(tableName);
    await client.send(new CreateTableCommand(withoutStream));
    await waitUntilTableExists({ client, minDelay: 1, maxDelay: 2, maxWaitTime: 60 }, { TableName: tableName });
    const before = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    expect(before?.StreamSpecification?.StreamEnabled).not.toBe(true);
    expect(before?.LatestStreamArn).toBeUndefined();

    await createTableIfMissing(client, tableName);
    const after = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    expect(after?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(after?.LatestStreamArn).toMatch(/^arn:aws:dynamodb:.*:table\/inventory-nostream-.*\/stream\//);

    const h = await harness({ client, tableName });
    const pump = await h.start();
    await h.put('streamed');
    await pump.drain();
    expect(h.deliveries.flat().map(pkOf)).toEqual(['streamed']);
  });
});

/** New clients for an existing table, as a restarted process has. */
function freshClientsFor(tableName: string): { client: DynamoDBClient; tableName: string } {
  const { client } = createDocumentClient({ endpoint: dynamoDbEndpoint() });
  return { client, tableName };
}
