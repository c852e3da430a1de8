import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  ResourceNotFoundException,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, AttributeValue as LambdaAttributeValue } from 'aws-lambda';
import { z } from 'zod';
import { clientConfig, type DocumentClientOptions } from './dynamodb-client.ts';

/**
 * The DynamoDB Streams client, built once per process by a composition root from the same options as
 * `createDocumentClient` builds the table's client, and the same way. Give both the same options: without
 * `-sharedDb`, DynamoDB Local keeps one database per access key id and region, so a streams client signed with
 * another key id than the table's client would not find the table's stream.
 */
export function createStreamsClient(options: DocumentClientOptions = {}): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(clientConfig(options));
}

/** The last sequence number handed on, by shard id: where each shard is read on from. */
export type ShardPositions = Readonly<Record<string, string>>;

/** New records of one shard, in sequence order, in the shape Lambda delivers them. */
export interface ShardRecords {
  readonly shardId: string;
  readonly records: readonly DynamoDBRecord[];
}

/** Bounds of one read. */
export interface StreamReadOptions {
  /** Stop once this many records are read (at most 10,000); the rest comes with the next read. Default 1,000. */
  readonly maxRecords?: number | undefined;
  /** Aborts the requests in flight (the read then rejects). */
  readonly abortSignal?: AbortSignal | undefined;
}

/** What one read found. */
export interface StreamRead {
  /** The stream read: the table's `LatestStreamArn`, the `eventSourceARN` of every record. */
  readonly streamArn: string;
  /** Every shard the stream lists now, read or not: positions of shards not listed any more can be forgotten. */
  readonly shardIds: readonly string[];
  /** The records after `positions`, parents' shards before their children's, each shard in sequence order. */
  readonly shards: readonly ShardRecords[];
  /**
   * True when every shard was read up to what the stream holds now, so that nothing committed before the read began
   * was left for a later one; false when `maxRecords` or a bound on empty pages cut the read short.
   */
  readonly caughtUp: boolean;
}

/** Reads a table's DynamoDB stream the way Lambda's event source mapping does, from positions the caller keeps. */
export interface StreamReader {
  /**
   * The records committed after `positions` (a shard without a position is read from its oldest record). A child
   * shard is read only once its parent is read to its end, so the records of one key keep their order.
   * @throws when the table has no stream, or DynamoDB cannot be reached: nothing was consumed, read again later.
   */
  read(positions: ShardPositions, options?: StreamReadOptions): Promise<StreamRead>;
}

/** The clients a reader reads through (built by the composition root, see `createStreamsClient`) and its table. */
export interface DynamoDbStreamReaderOptions {
  /** For DescribeTable, which names the stream. */
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tableName: string;
}

const DEFAULT_MAX_RECORDS = 1_000;
const MAX_RECORDS_LIMIT = 10_000;
/** GetRecords returns at most 1,000 records per call. */
const GET_RECORDS_LIMIT = 1_000;
/** DescribeStream lists at most 100 shards a page; a stream of a day's shards of a large table stays far below this. */
const MAX_SHARD_LIST_PAGES = 1_000;
/**
 * A closed shard may answer empty pages before its remaining records (AWS documents this for GetRecords): read on, but
 * only so many per read, so that one read stays short; the next read continues from the same iterator.
 */
const MAX_EMPTY_PAGES_OF_CLOSED_SHARD = 10;

const sequenceNumber = z.string().regex(/^\d+$/);

const describeTableOutput = z.object({
  Table: z.object({ LatestStreamArn: z.string().min(1).optional() }),
});

const describeStreamOutput = z.object({
  StreamDescription: z.object({
    Shards: z
      .array(
        z.object({
          ShardId: z.string().min(1),
          ParentShardId: z.string().min(1).optional(),
          SequenceNumberRange: z
            .object({
              StartingSequenceNumber: sequenceNumber.optional(),
              EndingSequenceNumber: sequenceNumber.optional(),
            })
            .optional(),
        }),
      )
      .default([]),
    LastEvaluatedShardId: z.string().min(1).optional(),
  }),
});

const getShardIteratorOutput = z.object({ ShardIterator: z.string().min(1) });

/**
 * An attribute value as the SDK returns it (binary as bytes), turned into the JSON form Lambda delivers (binary as
 * base64). Objects strip what they do not declare, so the SDK's absent union members do not travel along; a member
 * the SDK did not know (`$unknown`) matches nothing and fails the record.
 */
const attributeValue: z.ZodType<LambdaAttributeValue> = z.lazy(() =>
  z.union([
    z.object({ S: z.string() }),
    z.object({ N: z.string() }),
    z.object({ M: z.record(z.string(), attributeValue) }),
    z.object({ L: z.array(attributeValue) }),
    z.object({ BOOL: z.boolean() }),
    z.object({ NULL: z.literal(true) }),
    z.object({ SS: z.array(z.string()) }),
    z.object({ NS: z.array(z.string()) }),
    z.object({ B: z.instanceof(Uint8Array).transform(base64) }),
    z.object({ BS: z.array(z.instanceof(Uint8Array).transform(base64)) }),
    // The SDK (3.1141) deserializes an empty map, `{"M": {}}` on the wire, as an attribute value with no member at
    // all: the only value that comes back empty, so it is read back as the empty map it was.
    z.strictObject({}).transform((): LambdaAttributeValue => ({ M: {} })),
  ]),
);
const image = z.record(z.string(), attributeValue);

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const sdkRecord = z.object({
  eventID: z.string().min(1),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  eventVersion: z.string().optional(),
  awsRegion: z.string().optional(),
  dynamodb: z.object({
    ApproximateCreationDateTime: z.date().optional(),
    Keys: image,
    NewImage: image.optional(),
    OldImage: image.optional(),
    SequenceNumber: sequenceNumber,
    SizeBytes: z.number().int().nonnegative().optional(),
    StreamViewType: z.enum(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES']).optional(),
  }),
  // Present on deletions by Time To Live: the publisher tells them from deletions by a request.
  userIdentity: z.object({ PrincipalId: z.string().optional(), Type: z.string().optional() }).optional(),
});
const getRecordsOutput = z.object({
  Records: z.array(sdkRecord).default([]),
  NextShardIterator: z.string().min(1).optional(),
});

/** The record as a Lambda event source mapping delivers it (see `DynamoDBRecord` of aws-lambda). */
function lambdaRecord(record: z.infer<typeof sdkRecord>, streamArn: string): DynamoDBRecord {
  const stream = record.dynamodb;
  const out: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventSource: 'aws:dynamodb',
    eventSourceARN: streamArn,
    dynamodb: {
      Keys: stream.Keys,
      SequenceNumber: stream.SequenceNumber,
      ...(stream.NewImage !== undefined && { NewImage: stream.NewImage }),
      ...(stream.OldImage !== undefined && { OldImage: stream.OldImage }),
      ...(stream.SizeBytes !== undefined && { SizeBytes: stream.SizeBytes }),
      ...(stream.StreamViewType !== undefined && { StreamViewType: stream.StreamViewType }),
      // Lambda delivers epoch seconds; the SDK parsed them into a Date.
      ...(stream.ApproximateCreationDateTime !== undefined && {
        ApproximateCreationDateTime: stream.ApproximateCreationDateTime.getTime() / 1000,
      }),
    },
    ...(record.eventVersion !== undefined && { eventVersion: record.eventVersion }),
    ...(record.awsRegion !== undefined && { awsRegion: record.awsRegion }),
  };
  if (record.userIdentity !== undefined) {
    // Lambda spells the identity's fields in lower camel case, unlike the Streams API.
    out.userIdentity = { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId };
  }
  return out;
}

/** Per-request options of the SDK's `send`: the caller's abort signal, when it gave one. */
interface SendOptions {
  readonly abortSignal?: AbortSignal;
}

interface ListedShard {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  readonly startingSequenceNumber: bigint;
  readonly closed: boolean;
}

/** Shards in an order where every parent comes before its children; siblings by their first sequence number. */
function parentsFirst(shards: readonly ListedShard[]): ListedShard[] {
  const byId = new Map(shards.map((shard) => [shard.shardId, shard]));
  const children = new Map<string, ListedShard[]>();
  const roots: ListedShard[] = [];
  for (const shard of shards) {
    const parent = shard.parentShardId;
    // A parent older than the stream's retention is no longer listed: its child is where the stream begins.
    if (parent === undefined || !byId.has(parent)) roots.push(shard);
    else children.set(parent, [...(children.get(parent) ?? []), shard]);
  }
  const byStart = (a: ListedShard, b: ListedShard) =>
    a.startingSequenceNumber < b.startingSequenceNumber
      ? -1
      : a.startingSequenceNumber > b.startingSequenceNumber
        ? 1
        : 0;
  const ordered: ListedShard[] = [];
  const queue = roots.sort(byStart);
  // Breadth first: a shard is queued only when its parent was, and listing ids are unique, so this ends.
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    ordered.push(next);
    queue.push(...(children.get(next.shardId) ?? []).sort(byStart));
  }
  return ordered;
}

/**
 * Reads the stream of `tableName` with the DynamoDB Streams API: the local stand-in for Lambda's event source mapping
 * (in AWS, Lambda reads the stream itself). Stateless towards the caller, who owns the positions; it remembers only
 * what spares requests: the next iterator of each shard (valid for the position it was read up to) and which closed
 * shards were read to their end.
 */
export function createDynamoDbStreamReader(options: DynamoDbStreamReaderOptions): StreamReader {
  const { dynamodb, streams, tableName } = options;
  const nextIterators = new Map<string, { readonly after: string | undefined; readonly iterator: string }>();
  /** Closed shards read to their end, with the position they end at (undefined: a shard that never held a record). */
  const ended = new Map<string, string | undefined>();

  async function streamArnOf(sendOptions: SendOptions): Promise<string> {
    const out = describeTableOutput.parse(
      await dynamodb.send(new DescribeTableCommand({ TableName: tableName }), sendOptions),
    );
    const arn = out.Table.LatestStreamArn;
    if (arn === undefined) {
      throw new Error(`Table ${tableName} has no stream: createTableIfMissing turns it on (NEW_AND_OLD_IMAGES).`);
    }
    return arn;
  }

  async function listShards(streamArn: string, sendOptions: SendOptions): Promise<ListedShard[]> {
    const shards: ListedShard[] = [];
    let start: string | undefined;
    for (let page = 0; page < MAX_SHARD_LIST_PAGES; page++) {
      const out = describeStreamOutput.parse(
        await streams.send(
          new DescribeStreamCommand({
            StreamArn: streamArn,
            ...(start !== undefined && { ExclusiveStartShardId: start }),
          }),
          sendOptions,
        ),
      );
      for (const shard of out.StreamDescription.Shards) {
        shards.push({
          shardId: shard.ShardId,
          parentShardId: shard.ParentShardId,
          startingSequenceNumber: BigInt(shard.SequenceNumberRange?.StartingSequenceNumber ?? '0'),
          closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined,
        });
      }
      start = out.StreamDescription.LastEvaluatedShardId;
      if (start === undefined) return shards;
    }
    throw new Error(`Stream ${streamArn} lists more than ${MAX_SHARD_LIST_PAGES} pages of shards.`);
  }

  async function iteratorAfter(
    streamArn: string,
    shardId: string,
    after: string | undefined,
    sendOptions: SendOptions,
  ): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput =
      after === undefined
        ? { StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }
        : { StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after };
    try {
      return getShardIteratorOutput.parse(await streams.send(new GetShardIteratorCommand(input), sendOptions))
        .ShardIterator;
    } catch (error) {
      // Trimmed since it was listed (older than the 24 h retention): nothing left to read there.
      if (error instanceof ResourceNotFoundException) return undefined;
      // The position is older than the retention: what followed it is gone; go on from the oldest record kept.
      if (error instanceof TrimmedDataAccessException && after !== undefined) {
        return iteratorAfter(streamArn, shardId, undefined, sendOptions);
      }
      throw error;
    }
  }

  return {
    async read(positions, readOptions = {}) {
      const sendOptions: SendOptions =
        readOptions.abortSignal === undefined ? {} : { abortSignal: readOptions.abortSignal };
      const maxRecords = readOptions.maxRecords ?? DEFAULT_MAX_RECORDS;
      if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > MAX_RECORDS_LIMIT) {
        throw new RangeError(`maxRecords must be an integer from 1 to ${MAX_RECORDS_LIMIT}.`);
      }
      const streamArn = await streamArnOf(sendOptions);
      const listed = parentsFirst(await listShards(streamArn, sendOptions));
      const listedIds = new Set(listed.map((shard) => shard.shardId));
      for (const shardId of [...nextIterators.keys(), ...ended.keys()]) {
        if (!listedIds.has(shardId)) {
          nextIterators.delete(shardId);
          ended.delete(shardId);
        }
      }

      const exhausted = new Set<string>();
      const result: ShardRecords[] = [];
      let remaining = maxRecords;
      let caughtUp = true;
      for (const shard of listed) {
        const { shardId, parentShardId } = shard;
        if (parentShardId !== undefined && listedIds.has(parentShardId) && !exhausted.has(parentShardId)) {
          caughtUp = false;
          continue;
        }
        let position = positions[shardId];
        if (ended.has(shardId) && ended.get(shardId) === position) {
          exhausted.add(shardId);
          continue;
        }
        if (remaining === 0) {
          caughtUp = false;
          break;
        }
        const cached = nextIterators.get(shardId);
        let iterator =
          cached !== undefined && cached.after === position
            ? cached.iterator
            : await iteratorAfter(streamArn, shardId, position, sendOptions);
        let fresh = cached === undefined || cached.after !== position;
        const records: DynamoDBRecord[] = [];
        let emptyPages = 0;
        while (iterator !== undefined) {
          let out: z.infer<typeof getRecordsOutput>;
          try {
            out = getRecordsOutput.parse(
              await streams.send(
                new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(remaining, GET_RECORDS_LIMIT) }),
                sendOptions,
              ),
            );
          } catch (error) {
            // Iterators expire after 15 minutes: a remembered one may have; ask once for a new one at the same place.
            if (!(error instanceof ExpiredIteratorException) || fresh) throw error;
            nextIterators.delete(shardId);
            iterator = await iteratorAfter(streamArn, shardId, position, sendOptions);
            fresh = true;
            continue;
          }
          for (const record of out.Records) records.push(lambdaRecord(record, streamArn));
          position = out.Records.at(-1)?.dynamodb.SequenceNumber ?? position;
          remaining -= out.Records.length;
          iterator = out.NextShardIterator;
          if (iterator === undefined) {
            // No next iterator: the shard is closed and read to its end; its children may be read now.
            nextIterators.delete(shardId);
            ended.set(shardId, position);
            exhausted.add(shardId);
            break;
          }
          nextIterators.set(shardId, { after: position, iterator });
          if (out.Records.length === 0) {
            // An open shard answers an empty page when it holds nothing newer for now.
            if (!shard.closed) break;
            emptyPages += 1;
            if (emptyPages >= MAX_EMPTY_PAGES_OF_CLOSED_SHARD) {
              caughtUp = false;
              break;
            }
          }
          if (remaining === 0) {
            caughtUp = false;
            break;
          }
        }
        if (records.length > 0) result.push({ shardId, records });
      }
      return { streamArn, shardIds: listed.map((shard) => shard.shardId), shards: result, caughtUp };
    },
  };
}
