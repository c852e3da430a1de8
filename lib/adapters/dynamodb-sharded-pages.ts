import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { Page } from '#lib/ports/certificate-inventory.ts';
import { decodeCursorText, encodeCursor, invalidCursor } from './dynamodb-cursor.ts';
import { parseItem } from './dynamodb-items.ts';
import type { KeyedIndex } from './dynamodb-keys.ts';

/** One shard of a sharded partition: the (index's) partition key value and optional inclusive sort key bounds. */
export interface ShardQuery {
  readonly index: KeyedIndex;
  readonly partition: string;
  readonly between?: readonly [string, string] | undefined;
}

/**
 * The shards of one logical partition (an audit day, an expiry day): same index, same bounds, and sort keys that are
 * unique across the shards (they end in the item's unique id), so that merging them by sort key is one total order.
 */
export type ShardGroup = readonly ShardQuery[];

/** The largest sort key DynamoDB stores (1,024 bytes); a longer one cannot come from a listing. */
const MAX_SORT_KEY_BYTES = 1024;

const cursorSchema = z.strictObject({
  /** Fingerprint of the listing the cursor continues. */
  f: z.string(),
  /** Which group of the listing's ordered list to continue in. */
  g: z.number().int().nonnegative(),
  /** The sort key of the last item returned from that group; absent to start at its beginning. */
  a: z
    .string()
    .min(1)
    .refine((key) => Buffer.byteLength(key, 'utf8') <= MAX_SORT_KEY_BYTES)
    .optional(),
});
type Cursor = z.infer<typeof cursorSchema>;

/** DynamoDB orders string sort keys by their UTF-8 bytes; so does the merge. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** One shard being read: what it has handed over and not yet merged, and where its next page starts. */
interface ShardReader {
  readonly query: ShardQuery;
  readonly buffer: { readonly sortKey: string; readonly item: Record<string, unknown> }[];
  next: Record<string, unknown> | undefined;
  done: boolean;
}

/**
 * Lists sharded partitions as one: the groups in order, and within a group its shards merged by sort key, so the
 * items come in the order one unsharded partition would give (and, when the groups are consecutive ranges of sort
 * keys, like UTC days of timestamps, in sort key order throughout).
 *
 * The shards of a group are queried in parallel, each for a little more than its share of the page, and a shard is
 * read further only when the merge has used up what it handed over; so a page reads about its own size plus a few
 * items a shard. The cursor names the group and the sort key of the last item returned: the next page reads every
 * shard of that group after it (`sk > :last`, or BETWEEN it and the upper bound, skipping the one item equal to it).
 * It is accepted only for the listing that produced it (same fingerprint) and only within the group's bounds; anything
 * else is `INVALID_CURSOR`. A next cursor is offered while items may follow.
 */
export async function listShardGroups<T>(
  source: { readonly doc: DynamoDBDocumentClient; readonly tableName: string },
  groups: readonly ShardGroup[],
  listingId: string,
  page: { readonly limit: number; readonly cursor?: string | undefined },
  schema: z.ZodType<T>,
): Promise<Page<T>> {
  const start = page.cursor === undefined ? { f: listingId, g: 0 } : decodeCursor(page.cursor, listingId, groups);
  const items: T[] = [];
  let position = start.g;
  let after = start.a;
  while (items.length < page.limit) {
    const group = groups[position];
    if (group === undefined) break;
    const merged = await mergeShards(source, group, after, page.limit - items.length);
    for (const entry of merged.entries) items.push(parseItem(schema, entry.item));
    if (merged.more) {
      after = merged.entries.at(-1)?.sortKey ?? after;
      break;
    }
    position++;
    after = undefined;
  }
  if (position >= groups.length) return { items };
  return {
    items,
    nextCursor: encodeCursor({ f: listingId, g: position, ...(after === undefined ? {} : { a: after }) }),
  };
}

/**
 * Up to `want` items of the group after the sort key `after`, merged by sort key; `more` when some shard may hold
 * more. It stops short of `want` only when every shard is read to its end.
 */
async function mergeShards(
  source: { readonly doc: DynamoDBDocumentClient; readonly tableName: string },
  group: ShardGroup,
  after: string | undefined,
  want: number,
): Promise<{ entries: { sortKey: string; item: Record<string, unknown> }[]; more: boolean }> {
  const batch = Math.min(want, Math.ceil(want / Math.max(1, group.length)) + 1);
  const shards: ShardReader[] = group.map((query) => ({ query, buffer: [], next: undefined, done: false }));
  const entries: { sortKey: string; item: Record<string, unknown> }[] = [];
  while (entries.length < want) {
    const drained = shards.filter((shard) => shard.buffer.length === 0 && !shard.done);
    if (drained.length > 0) await Promise.all(drained.map((shard) => readShard(source, shard, after, batch)));
    let lowest: ShardReader | undefined;
    for (const shard of shards) {
      const head = shard.buffer[0];
      const best = lowest?.buffer[0];
      if (head !== undefined && (best === undefined || compareKeys(head.sortKey, best.sortKey) < 0)) lowest = shard;
    }
    const entry = lowest?.buffer.shift();
    if (entry === undefined) {
      // Nothing buffered: either every shard is done, or a shard's page held only the item `after` names.
      if (shards.every((shard) => shard.done)) break;
      continue;
    }
    entries.push(entry);
  }
  return { entries, more: shards.some((shard) => shard.buffer.length > 0 || !shard.done) };
}

/** Reads the shard's next page into its buffer, leaving out the item `after` names (BETWEEN includes it). */
async function readShard(
  source: { readonly doc: DynamoDBDocumentClient; readonly tableName: string },
  shard: ShardReader,
  after: string | undefined,
  limit: number,
): Promise<void> {
  const { index, partition, between } = shard.query;
  const names: Record<string, string> = { '#ipk': index.partitionKey };
  const values: Record<string, string> = { ':ipk': partition };
  let condition = '#ipk = :ipk';
  if (between !== undefined) {
    names['#isk'] = index.sortKey;
    condition += ' AND #isk BETWEEN :low AND :high';
    values[':low'] = after ?? between[0];
    values[':high'] = between[1];
  } else if (after !== undefined) {
    names['#isk'] = index.sortKey;
    condition += ' AND #isk > :after';
    values[':after'] = after;
  }
  const input: QueryCommandInput = {
    TableName: source.tableName,
    ...(index.name === undefined ? {} : { IndexName: index.name }),
    KeyConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    Limit: limit,
    ...(shard.next === undefined ? {} : { ExclusiveStartKey: shard.next }),
  };
  let out: QueryCommandOutput;
  try {
    out = await source.doc.send(new QueryCommand(input));
  } catch (error) {
    // Only a sort key we were handed back in a cursor can make a well-formed query invalid.
    if (after !== undefined && error instanceof Error && error.name === 'ValidationException') {
      throw invalidCursor(error);
    }
    throw error;
  }
  for (const item of out.Items ?? []) {
    const sortKey = item[index.sortKey];
    if (typeof sortKey !== 'string') throw new Error(`an item of ${partition} without a string ${index.sortKey}`);
    if (sortKey !== after) shard.buffer.push({ sortKey, item });
  }
  shard.next = out.LastEvaluatedKey;
  shard.done = out.LastEvaluatedKey === undefined;
}

function decodeCursor(text: string, listingId: string, groups: readonly ShardGroup[]): Cursor {
  const cursor = decodeCursorText(text, cursorSchema);
  const group = groups[cursor.g];
  if (cursor.f !== listingId || group === undefined) throw invalidCursor();
  const bounds = group[0]?.between;
  if (cursor.a !== undefined && bounds !== undefined) {
    if (compareKeys(cursor.a, bounds[0]) < 0 || compareKeys(cursor.a, bounds[1]) > 0) throw invalidCursor();
  }
  return cursor;
}
