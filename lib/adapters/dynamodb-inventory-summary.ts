import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { InternalError } from '#lib/domain/errors.ts';
import { parseCounterName, type StoredSummary, summaryDelta } from '#lib/domain/inventory-summary.ts';
import { type Clock, systemClock } from '#lib/ports/clock.ts';
import type {
  InventorySummaryReader,
  InventorySummaryStore,
  SummaryApplyOutcome,
  SummaryApplyResult,
  SummaryChange,
} from '#lib/ports/inventory-summary.ts';
import { batchGetAll, cancellationCodes, parseItem, queryAllItems } from './dynamodb-items.ts';
import {
  burstShard,
  summaryContributionKey,
  summaryCounterKey,
  summaryCounterPartitions,
  TABLE_KEY,
} from './dynamodb-keys.ts';

type Delta = Readonly<Record<string, number>>;

/** DynamoDB's limit of items in one TransactWriteItems. */
const MAX_TRANSACTION_ITEMS = 100;

/**
 * Packs changes into transactions of at most {@link MAX_TRANSACTION_ITEMS} items: each change's own item, and each
 * counter item once per transaction however many changes move it.
 */
function packTransactions<T>(entries: readonly T[], counterItems: (entry: T) => readonly string[]): T[][] {
  const packs: T[][] = [];
  let pack: T[] = [];
  let items = new Set<string>();
  for (const entry of entries) {
    const own = [...new Set(counterItems(entry))];
    const added = own.filter((id) => !items.has(id));
    if (pack.length > 0 && pack.length + 1 + items.size + added.length > MAX_TRANSACTION_ITEMS) {
      packs.push(pack);
      pack = [];
      items = new Set();
    }
    pack.push(entry);
    for (const id of own) items.add(id);
  }
  if (pack.length > 0) packs.push(pack);
  return packs;
}

/** A table key as one string, to tell items apart. */
function itemIdOf(key: Record<string, string>): string {
  return `${key[TABLE_KEY.partitionKey]}\n${key[TABLE_KEY.sortKey]}`;
}

/** Attempts of one change that keeps losing races (another writer of its counter items, or of its identity). */
const APPLY_ATTEMPTS = 8;
/** The first pause between attempts, in ms; doubled each time, with full jitter. */
const BASE_DELAY_MS = 20;
/** The attribute of a counter item saying when a change last moved it. */
const AS_OF = 'asOf';

const contributionSchema = z.object({
  counters: z.array(z.string().min(1)),
  version: z.number().int().nonnegative(),
});

/** A counter item: its key, when it last moved, and counters (every other attribute, each a number). */
const counterItemSchema = z
  .object({
    [TABLE_KEY.partitionKey]: z.string(),
    [TABLE_KEY.sortKey]: z.string(),
    [AS_OF]: z.iso.datetime().optional(),
  })
  .catchall(z.number().int());

export interface DynamoDbInventorySummaryOptions {
  /** When a change is applied: written beside the counters it moves, read back as the summary's `asOf`. */
  readonly clock?: Clock;
  /** Pauses between attempts (tests pass one that does not wait). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The inventory summary's counters in the inventory table (keys in `dynamodb-keys.ts`). Each identity has an item
 * (`SUMC#<id>`) with the counters it is counted in and the version they come from; a change is applied against that
 * item, not against the stream's image before, so an identity written before the summary existed is counted at its
 * next write, and a redelivered or out-of-date record is recognized by its version. Applying is one transaction: the
 * identity's item, on condition that it is still the one read, and an `ADD` of each moved counter on its identity's
 * burst shard (top-level attributes, the only place `ADD` works). A lost race (the condition, or a transaction
 * conflict on a counter item other writers move too) reads again and retries, a bounded number of times.
 */
export class DynamoDbInventorySummary implements InventorySummaryStore, InventorySummaryReader {
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbInventorySummaryOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async apply(change: SummaryChange): Promise<SummaryApplyOutcome> {
    for (let attempt = 1; attempt <= APPLY_ATTEMPTS; attempt++) {
      if (attempt > 1) await this.sleep(Math.random() * BASE_DELAY_MS * 2 ** (attempt - 1));
      const stored = await this.storedContribution(change.identityId);
      if (stored !== undefined && stored.version >= change.version) return 'stale';
      const delta = summaryDelta(stored?.counters, change.contribution);
      // The same counters as counted already: nothing to move, and nothing to write (see the use case for why a
      // version that is not recorded then is still safe).
      if (Object.keys(delta).length === 0) return 'unchanged';
      try {
        await this.doc.send(
          new TransactWriteCommand({
            TransactItems: [this.contributionPut(change, stored?.version), ...this.counterUpdates([{ change, delta }])],
          }),
        );
        return 'applied';
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = cancellationCodes(error);
        if (!codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) throw error;
      }
    }
    throw new InternalError(
      'SUMMARY_CONTENDED',
      `The inventory summary could not count identity ${change.identityId} v${change.version}: it kept losing races.`,
    );
  }

  async applyMany(changes: readonly SummaryChange[]): Promise<SummaryApplyResult[]> {
    const results: SummaryApplyResult[] = changes.map(() => ({ outcome: 'unchanged' }));
    let stored: Map<string, z.infer<typeof contributionSchema>>;
    try {
      stored = await this.storedContributions(changes.map((c) => c.identityId));
    } catch (error) {
      return changes.map(() => ({ error }));
    }
    const due: Array<{ index: number; change: SummaryChange; storedVersion: number | undefined; delta: Delta }> = [];
    changes.forEach((change, index) => {
      const counted = stored.get(change.identityId);
      if (counted !== undefined && counted.version >= change.version) results[index] = { outcome: 'stale' };
      else {
        const delta = summaryDelta(counted?.counters, change.contribution);
        if (Object.keys(delta).length > 0) due.push({ index, change, storedVersion: counted?.version, delta });
      }
    });
    for (const pack of packTransactions(due, (entry) => this.counterItemIds(entry.change, entry.delta))) {
      try {
        await this.doc.send(
          new TransactWriteCommand({
            TransactItems: [
              ...pack.map((entry) => this.contributionPut(entry.change, entry.storedVersion)),
              ...this.counterUpdates(pack),
            ],
          }),
        );
        for (const entry of pack) results[entry.index] = { outcome: 'applied' };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) {
          for (const entry of pack) results[entry.index] = { error };
          continue;
        }
        // One of them lost a race: each goes alone, reading again.
        for (const entry of pack) {
          try {
            results[entry.index] = { outcome: await this.apply(entry.change) };
          } catch (alone) {
            results[entry.index] = { error: alone };
          }
        }
      }
    }
    return results;
  }

  async read(): Promise<StoredSummary> {
    const counters: Record<string, number> = {};
    let asOf: string | undefined;
    const partitions = await Promise.all(summaryCounterPartitions().map((partition) => this.queryAll(partition)));
    for (const item of partitions.flat()) {
      const parsed = parseItem(counterItemSchema, item);
      for (const [name, value] of Object.entries(parsed)) {
        if (typeof value !== 'number' || parseCounterName(name) === undefined) continue;
        counters[name] = (counters[name] ?? 0) + value;
      }
      const moved = parsed[AS_OF];
      if (typeof moved === 'string' && (asOf === undefined || moved > asOf)) asOf = moved;
    }
    return { counters, ...(asOf === undefined ? {} : { asOf }) };
  }

  /** The counters an identity is counted in, and from which version; undefined when it is not counted yet. */
  private async storedContribution(identityId: string): Promise<z.infer<typeof contributionSchema> | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: summaryContributionKey(identityId), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : parseItem(contributionSchema, out.Item);
  }

  /** What is counted for each of these identities, by id (one BatchGetItem per 100). */
  private async storedContributions(identityIds: readonly string[]) {
    const keys = identityIds.map(summaryContributionKey);
    const items = await batchGetAll(this.doc, this.tableName, keys, this.sleep);
    const byPartition = new Map(items.map((item) => [String(item[TABLE_KEY.partitionKey]), item]));
    const out = new Map<string, z.infer<typeof contributionSchema>>();
    identityIds.forEach((id, i) => {
      const item = byPartition.get(String(keys[i]?.[TABLE_KEY.partitionKey]));
      if (item !== undefined) out.set(id, parseItem(contributionSchema, item));
    });
    return out;
  }

  /** The counter items a change moves (their keys as text), for packing changes into one transaction. */
  private counterItemIds(change: SummaryChange, delta: Delta): string[] {
    const shard = burstShard(change.identityId);
    return Object.keys(delta).map((name) => itemIdOf(summaryCounterKey(shard, name)));
  }

  /** The identity's item at this version, on condition that it is still the one the delta was taken against. */
  private contributionPut(change: SummaryChange, storedVersion: number | undefined) {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          ...summaryContributionKey(change.identityId),
          counters: [...change.contribution],
          version: change.version,
          updatedAt: this.clock.now().toISOString(),
        },
        ...(storedVersion === undefined
          ? {
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
            }
          : {
              ConditionExpression: '#version = :stored',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':stored': storedVersion },
            }),
      },
    };
  }

  /**
   * The counter updates of one or several changes: each counter item once (on its identity's burst shard), each
   * counter moved by the sum of the changes' deltas.
   */
  private counterUpdates(changes: ReadonlyArray<{ readonly change: SummaryChange; readonly delta: Delta }>) {
    const byItem = new Map<string, { key: Record<string, string>; sums: Map<string, number> }>();
    for (const { change, delta } of changes) {
      const shard = burstShard(change.identityId);
      for (const [name, by] of Object.entries(delta)) {
        const key = summaryCounterKey(shard, name);
        const id = itemIdOf(key);
        const entry = byItem.get(id) ?? { key, sums: new Map<string, number>() };
        entry.sums.set(name, (entry.sums.get(name) ?? 0) + by);
        byItem.set(id, entry);
      }
    }
    return [...byItem.values()].map(({ key, sums }) => this.counterUpdate(key, [...sums]));
  }

  /** One counter item's update: `ADD` each counter's move, and when it moved. */
  private counterUpdate(key: Record<string, string>, counters: ReadonlyArray<readonly [string, number]>) {
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        // Counter names hold any owner or account text: always through placeholders.
        UpdateExpression: `SET #asOf = :asOf ADD ${counters.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
        ExpressionAttributeNames: {
          '#asOf': AS_OF,
          ...Object.fromEntries(counters.map(([name], i) => [`#c${i}`, name])),
        },
        ExpressionAttributeValues: {
          ':asOf': this.clock.now().toISOString(),
          ...Object.fromEntries(counters.map(([, by], i) => [`:c${i}`, by])),
        },
      },
    };
  }

  /** Every item of one counter partition (a few dozen small items: one page, as a rule). */
  private queryAll(partition: string): Promise<Record<string, unknown>[]> {
    return queryAllItems(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
      ExpressionAttributeValues: { ':pk': partition },
    });
  }
}
