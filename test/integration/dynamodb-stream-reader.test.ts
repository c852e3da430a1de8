import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import {
  createDynamoDbStreamReader,
  createStreamsClient,
  type StreamRead,
  type StreamReader,
} from '#lib/adapters/dynamodb-stream-reader.ts';

/**
 * DynamoDB Local never rolls a stream's shard over (its rollover job exists only in the embedded, in-JVM mode), so the
 * shard walk is checked here against a loopback stand-in speaking the DynamoDB and DynamoDB Streams JSON 1.0 protocol:
 * DescribeTable, DescribeStream (one shard a page, to force pagination), GetShardIterator and GetRecords.
 */

const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:111122223333:table/inventory/stream/2030-01-01T00:00:00.000';

interface FakeShard {
  readonly id: string;
  readonly parent?: string;
  closed: boolean;
  /** Sequence numbers of its records, ascending. */
  readonly records: { sequence: string; raw: Record<string, unknown> }[];
}

interface FakeStreams {
  readonly endpoint: string;
  /** Every request: its operation, body, and the access key id and region its SigV4 header names. */
  readonly requests: { target: string; body: Record<string, unknown>; signedBy: string }[];
  /** Shards in the order DescribeStream lists them. */
  readonly shards: FakeShard[];
  streamArn: string | undefined;
  /** Answers ExpiredIteratorException to every iterator handed out so far. */
  expireIterators(): void;
  close(): Promise<void>;
}

function sequence(n: number): string {
  return String(n).padStart(21, '0');
}

function insertRecord(n: number, pk: string): { sequence: string; raw: Record<string, unknown> } {
  return {
    sequence: sequence(n),
    raw: {
      eventID: `event-${n}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: 1_893_456_000 + n,
        Keys: { pk: { S: pk }, sk: { S: 'item' } },
        NewImage: { pk: { S: pk }, sk: { S: 'item' }, blob: { B: Buffer.from([n, 255]).toString('base64') } },
        SequenceNumber: sequence(n),
        SizeBytes: 20,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    },
  };
}

const body = z.record(z.string(), z.unknown());

async function startFakeStreams(): Promise<FakeStreams> {
  const requests: FakeStreams['requests'] = [];
  const shards: FakeShard[] = [];
  const issued = new Set<string>();
  const expired = new Set<string>();
  let issuedCount = 0;

  function iteratorFor(shardId: string, index: number): string {
    issuedCount += 1;
    const iterator = Buffer.from(JSON.stringify([shardId, index, issuedCount])).toString('base64');
    issued.add(iterator);
    return iterator;
  }

  function answer(target: string, input: Record<string, unknown>): { status: number; json: unknown } {
    const error = (type: string, message: string) => ({
      status: 400,
      json: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message },
    });
    switch (target) {
      case 'DynamoDB_20120810.DescribeTable':
        return {
          status: 200,
          json: {
            Table: {
              TableName: input.TableName,
              TableStatus: 'ACTIVE',
              ...(fake.streamArn && { LatestStreamArn: fake.streamArn }),
            },
          },
        };
      case 'DynamoDBStreams_20120810.DescribeStream': {
        const after = input.ExclusiveStartShardId;
        const start = after === undefined ? 0 : shards.findIndex((shard) => shard.id === after) + 1;
        const page = shards.slice(start, start + 1);
        return {
          status: 200,
          json: {
            StreamDescription: {
              StreamArn: input.StreamArn,
              StreamStatus: 'ENABLED',
              Shards: page.map((shard) => ({
                ShardId: shard.id,
                ...(shard.parent !== undefined && { ParentShardId: shard.parent }),
                SequenceNumberRange: {
                  StartingSequenceNumber: shard.records[0]?.sequence ?? sequence(0),
                  ...(shard.closed && { EndingSequenceNumber: shard.records.at(-1)?.sequence ?? sequence(0) }),
                },
              })),
              ...(start + 1 < shards.length && { LastEvaluatedShardId: page[0]?.id }),
            },
          },
        };
      }
      case 'DynamoDBStreams_20120810.GetShardIterator': {
        const shard = shards.find((s) => s.id === input.ShardId);
        if (shard === undefined) return error('ResourceNotFoundException', 'Shard does not exist');
        if (input.ShardIteratorType === 'TRIM_HORIZON')
          return { status: 200, json: { ShardIterator: iteratorFor(shard.id, 0) } };
        const at = shard.records.findIndex((record) => record.sequence === input.SequenceNumber);
        if (input.ShardIteratorType !== 'AFTER_SEQUENCE_NUMBER' || at === -1) {
          return error('ValidationException', 'unexpected iterator request');
        }
        return { status: 200, json: { ShardIterator: iteratorFor(shard.id, at + 1) } };
      }
      case 'DynamoDBStreams_20120810.GetRecords': {
        const iterator = String(input.ShardIterator);
        if (expired.has(iterator)) return error('ExpiredIteratorException', 'Iterator expired');
        if (!issued.has(iterator)) return error('ValidationException', 'Invalid ShardIterator');
        const [shardId, index] = z
          .tuple([z.string(), z.number(), z.number()])
          .parse(JSON.parse(Buffer.from(iterator, 'base64').toString('utf8')));
        const shard = shards.find((s) => s.id === shardId);
        if (shard === undefined) return error('ResourceNotFoundException', 'Shard does not exist');
        const limit = typeof input.Limit === 'number' ? input.Limit : 1000;
        const page = shard.records.slice(index, index + limit);
        const next = index + page.length;
        const ended = shard.closed && next >= shard.records.length;
        return {
          status: 200,
          json: {
            Records: page.map((record) => record.raw),
            ...(!ended && { NextShardIterator: iteratorFor(shard.id, next) }),
          },
        };
      }
      default:
        return error('UnknownOperationException', target);
    }
  }

  const server: Server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const input = body.parse(JSON.parse(text || '{}'));
      const credential = /Credential=([^/]+)\/\d{8}\/([^/]+)\/dynamodb\/aws4_request/.exec(
        String(request.headers.authorization),
      );
      const signedBy = credential ? `${credential[1]}@${credential[2]}` : 'unsigned';
      requests.push({ target: target.split('.').at(-1) ?? target, body: input, signedBy });
      const { status, json } = answer(target, input);
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeStreams = {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    shards,
    streamArn: STREAM_ARN,
    expireIterators() {
      for (const iterator of issued) expired.add(iterator);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return fake;
}

function summary(read: StreamRead): Record<string, string[]> {
  return Object.fromEntries(
    read.shards.map((shard) => [shard.shardId, shard.records.map((record) => record.dynamodb?.Keys?.pk?.S ?? '?')]),
  );
}

describe('DynamoDB stream reader: the shard walk (loopback DynamoDB Streams)', () => {
  let fake: FakeStreams;
  let dynamodb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let reader: StreamReader;

  beforeEach(async () => {
    fake = await startFakeStreams();
    dynamodb = createDocumentClient({ endpoint: fake.endpoint }).client;
    streams = createStreamsClient({ endpoint: fake.endpoint });
    reader = createDynamoDbStreamReader({ dynamodb, streams, tableName: 'inventory' });
    // A rolled-over stream: the parent's own parent is past retention; listed children first, one shard a page.
    fake.shards.push(
      {
        id: 'shardId-3-grandchild',
        parent: 'shardId-2-child',
        closed: false,
        records: [insertRecord(6, 'g6'), insertRecord(7, 'g7')],
      },
      {
        id: 'shardId-1-parent',
        parent: 'shardId-0-trimmed',
        closed: true,
        records: [1, 2, 3].map((n) => insertRecord(n, `p${n}`)),
      },
      {
        id: 'shardId-2-child',
        parent: 'shardId-1-parent',
        closed: true,
        records: [insertRecord(4, 'c4'), insertRecord(5, 'c5')],
      },
    );
  });
  afterEach(async () => {
    dynamodb.destroy();
    streams.destroy();
    await fake.close();
  });

  it('lists every page of shards and reads parents before children', async () => {
    const read = await reader.read({});
    expect(read.streamArn).toBe(STREAM_ARN);
    expect(read.shards.map((shard) => shard.shardId)).toEqual([
      'shardId-1-parent',
      'shardId-2-child',
      'shardId-3-grandchild',
    ]);
    expect(summary(read)).toEqual({
      'shardId-1-parent': ['p1', 'p2', 'p3'],
      'shardId-2-child': ['c4', 'c5'],
      'shardId-3-grandchild': ['g6', 'g7'],
    });
    expect(read.caughtUp).toBe(true);
    expect(new Set(read.shardIds)).toEqual(new Set(fake.shards.map((shard) => shard.id)));
    expect(fake.requests.filter((r) => r.target === 'DescribeStream').map((r) => r.body.ExclusiveStartShardId)).toEqual(
      [undefined, 'shardId-3-grandchild', 'shardId-1-parent'],
    );
    // TRIM_HORIZON where there is no position; the Lambda form of binary attributes and timestamps.
    expect(fake.requests.filter((r) => r.target === 'GetShardIterator').map((r) => r.body.ShardIteratorType)).toEqual([
      'TRIM_HORIZON',
      'TRIM_HORIZON',
      'TRIM_HORIZON',
    ]);
    const first = read.shards[0]?.records[0];
    expect(first).toEqual({
      eventID: 'event-1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      eventSourceARN: STREAM_ARN,
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: 1_893_456_001,
        Keys: { pk: { S: 'p1' }, sk: { S: 'item' } },
        NewImage: { pk: { S: 'p1' }, sk: { S: 'item' }, blob: { B: Buffer.from([1, 255]).toString('base64') } },
        SequenceNumber: sequence(1),
        SizeBytes: 20,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  });

  it('reads a child only once its parent is read to its end, when a read is cut short', async () => {
    const seen: Record<string, string[]>[] = [];
    const positions: Record<string, string> = {};
    let read: StreamRead | undefined;
    for (let round = 0; round < 10 && read?.caughtUp !== true; round++) {
      read = await reader.read(positions, { maxRecords: 2 });
      seen.push(summary(read));
      for (const shard of read.shards) {
        const last = shard.records.at(-1)?.dynamodb?.SequenceNumber;
        if (last !== undefined) positions[shard.shardId] = last;
      }
    }
    expect(seen).toEqual([
      { 'shardId-1-parent': ['p1', 'p2'] },
      { 'shardId-1-parent': ['p3'], 'shardId-2-child': ['c4'] },
      { 'shardId-2-child': ['c5'], 'shardId-3-grandchild': ['g6'] },
      { 'shardId-3-grandchild': ['g7'] },
    ]);
    expect(read?.caughtUp).toBe(true);
  });

  it('starts after the given positions, and does not ask again for closed shards read to their end', async () => {
    const positions = { 'shardId-1-parent': sequence(3), 'shardId-2-child': sequence(5) };
    expect(summary(await reader.read(positions))).toEqual({ 'shardId-3-grandchild': ['g6', 'g7'] });
    const iteratorRequests = fake.requests.filter((r) => r.target === 'GetShardIterator').map((r) => r.body);
    expect(iteratorRequests).toEqual([
      {
        StreamArn: STREAM_ARN,
        ShardId: 'shardId-1-parent',
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        SequenceNumber: sequence(3),
      },
      {
        StreamArn: STREAM_ARN,
        ShardId: 'shardId-2-child',
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        SequenceNumber: sequence(5),
      },
      { StreamArn: STREAM_ARN, ShardId: 'shardId-3-grandchild', ShardIteratorType: 'TRIM_HORIZON' },
    ]);

    fake.requests.length = 0;
    fake.shards[0]?.records.push(insertRecord(8, 'g8'));
    const next = await reader.read({ ...positions, 'shardId-3-grandchild': sequence(7) });
    expect(summary(next)).toEqual({ 'shardId-3-grandchild': ['g8'] });
    // Only the open shard is read, through the iterator the last read ended with.
    expect(fake.requests.map((r) => r.target)).toEqual([
      'DescribeTable',
      'DescribeStream',
      'DescribeStream',
      'DescribeStream',
      'GetRecords',
      'GetRecords',
    ]);
  });

  it('replaces an expired iterator at the same position', async () => {
    const positions = {
      'shardId-1-parent': sequence(3),
      'shardId-2-child': sequence(5),
      'shardId-3-grandchild': sequence(7),
    };
    await reader.read(positions);
    fake.expireIterators();
    fake.shards[0]?.records.push(insertRecord(8, 'g8'));
    fake.requests.length = 0;
    expect(summary(await reader.read(positions))).toEqual({ 'shardId-3-grandchild': ['g8'] });
    expect(fake.requests.filter((r) => r.target === 'GetShardIterator').map((r) => r.body)).toEqual([
      {
        StreamArn: STREAM_ARN,
        ShardId: 'shardId-3-grandchild',
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        SequenceNumber: sequence(7),
      },
    ]);
  });

  it('delivers the identity of Time To Live deletions as Lambda spells it', async () => {
    fake.shards.length = 0;
    fake.shards.push({
      id: 'shardId-ttl',
      closed: false,
      records: [
        {
          sequence: sequence(1),
          raw: {
            eventID: 'ttl-1',
            eventName: 'REMOVE',
            eventVersion: '1.1',
            eventSource: 'aws:dynamodb',
            awsRegion: 'us-east-1',
            dynamodb: {
              Keys: { pk: { S: 'IDEMPOTENCY#3' }, sk: { S: 'k' } },
              OldImage: { pk: { S: 'IDEMPOTENCY#3' }, sk: { S: 'k' }, ttl: { N: '1893456000' } },
              SequenceNumber: sequence(1),
              SizeBytes: 30,
              StreamViewType: 'NEW_AND_OLD_IMAGES',
            },
            userIdentity: { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' },
          },
        },
      ],
    });
    const record = (await reader.read({})).shards[0]?.records[0];
    expect(record?.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(record?.dynamodb?.OldImage?.ttl).toEqual({ N: '1893456000' });
  });

  it('signs stream requests like the table client: same key id and region (one DynamoDB Local database each)', async () => {
    await reader.read({});
    expect(new Set(fake.requests.map((r) => r.signedBy))).toEqual(new Set(['local@local']));

    const credentials = { accessKeyId: 'mim0123456789abcdef', secretAccessKey: 'mim0123456789abcdef' };
    const keyed = createDocumentClient({ endpoint: fake.endpoint, credentials }).client;
    const keyedStreams = createStreamsClient({ endpoint: fake.endpoint, credentials });
    try {
      fake.requests.length = 0;
      await createDynamoDbStreamReader({ dynamodb: keyed, streams: keyedStreams, tableName: 'inventory' }).read({});
      expect(new Set(fake.requests.map((r) => r.signedBy))).toEqual(new Set(['mim0123456789abcdef@local']));
    } finally {
      keyed.destroy();
      keyedStreams.destroy();
    }
  });

  it('fails clearly on a table without a stream, and on a record it cannot read', async () => {
    fake.streamArn = undefined;
    await expect(reader.read({})).rejects.toThrow(/Table inventory has no stream: createTableIfMissing turns it on/);

    fake.streamArn = STREAM_ARN;
    const broken = fake.shards[1]?.records[0]?.raw;
    if (broken) broken.eventName = 'UPSERT';
    await expect(reader.read({})).rejects.toThrow(/eventName/);
  });
});
