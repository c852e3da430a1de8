import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { DISCOVERY_SOURCES, type DiscoveryScopeKey } from '#lib/domain/discovery.ts';
import {
  type DiscoveryRun,
  type DiscoveryRunSummary,
  isFinished,
  PART_STATUSES,
  type PartCounts,
  partKey,
  type RunPart,
  tallyOf,
} from '#lib/domain/discovery-run.ts';
import { ConflictError, NotFoundError } from '#lib/domain/errors.ts';
import { type LocationScan, TLS_ACCOUNT, TLS_ENDPOINT_OUTCOMES } from '#lib/domain/tls-discovery.ts';
import type { DiscoveryRunStore } from '#lib/ports/discovery-runs.ts';
import { batchGetAll, cancellationCodes, MUST_BE_NEW, parseItem, queryAllItems } from './dynamodb-items.ts';
import {
  DISCOVERY_RUN_PARTITION,
  discoveryPartKey,
  discoveryPartsPartition,
  discoveryRunKey,
  scopeReadKey,
  TABLE_KEY,
} from './dynamodb-keys.ts';
import { mapWithConcurrency } from './map-with-concurrency.ts';

const timestamp = z.iso.datetime();
const count = z.number().int().nonnegative();
const COUNT_NAMES = [
  'seen',
  'new',
  'changed',
  'missing',
  'reappeared',
] as const satisfies readonly (keyof PartCounts)[];

const partSchema = z.object({
  source: z.enum(DISCOVERY_SOURCES),
  account: z.string(),
  region: z.string(),
  roleArn: z.string().optional(),
  status: z.enum(PART_STATUSES),
  reason: z.string().optional(),
  counts: z.object({ seen: count, new: count, changed: count, missing: count, reappeared: count }),
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
  resumeFrom: z.string().optional(),
  endpoints: z
    .array(
      z.object({
        location: z.string(),
        address: z.string().optional(),
        outcome: z.enum(TLS_ENDPOINT_OUTCOMES),
        code: z.string().optional(),
        protocol: z.string().optional(),
        fingerprintSha256: z.string().optional(),
        validatesTo: z.enum(['ours', 'system', 'none']).optional(),
        nameMatches: z.boolean().optional(),
      }),
    )
    .optional(),
});

/** A part's item read back; `INVENTORY_CORRUPT` if it is not one. */
export function runPartFromItem(item: Record<string, unknown>): RunPart {
  return parseItem(partSchema, item);
}

/** A run's own record: what it is, and the tally its parts keep as they end (top-level numbers, moved with ADD). */
const runSchema = z.object({
  runId: z.string().min(1),
  startedAt: timestamp,
  startedBy: z.string(),
  trigger: z.enum(['api', 'schedule']),
  partCount: count,
  succeededParts: count,
  failedParts: count,
  skippedParts: count,
  seen: count,
  new: count,
  changed: count,
  missing: count,
  reappeared: count,
  finishedAt: timestamp.optional(),
});

/**
 * A run's record as read back (or as the table's stream carries it): the run and its tally, without its parts.
 * @throws InternalError `INVENTORY_CORRUPT` when the item does not parse.
 */
export function discoveryRunSummaryFromItem(item: Record<string, unknown>): DiscoveryRunSummary {
  const r = parseItem(runSchema, item);
  return {
    runId: r.runId,
    startedAt: r.startedAt,
    startedBy: r.startedBy,
    trigger: r.trigger,
    tally: {
      parts: r.partCount,
      succeeded: r.succeededParts,
      failed: r.failedParts,
      skipped: r.skippedParts,
      counts: { seen: r.seen, new: r.new, changed: r.changed, missing: r.missing, reappeared: r.reappeared },
      finishedAt: r.finishedAt,
    },
  };
}

/** A part as stored: without the optional fields it lacks (DynamoDB stores no undefined). */
function stored(runId: string, part: RunPart): Record<string, unknown> {
  return {
    ...Object.fromEntries(Object.entries(part).filter(([, v]) => v !== undefined)),
    ...discoveryPartKey(runId, partKey(part)),
  };
}

/** A TLS location's scan, kept where its scope's reads are (so its last scan is its scope's last read). */
const locationScanSchema = z
  .object({ location: z.string(), finishedAt: timestamp, identityIds: z.array(z.string()).default([]) })
  .transform(
    (item): LocationScan => ({
      location: item.location,
      scannedAt: item.finishedAt,
      identityIds: item.identityIds,
    }),
  );

/** The scope a TLS location's scans are recorded under. */
export function locationScope(location: string): DiscoveryScopeKey {
  return { source: 'tls', account: TLS_ACCOUNT, region: location };
}

/** Parts written at once when a run starts. */
const CONCURRENCY = 8;
/** A part update that lost a race (another delivery, or a transaction on the run's record) is tried again. */
const UPDATE_ATTEMPTS = 8;

/**
 * Discovery runs in the inventory table: each run's record under `DRUN / <runId>` (run ids sort by start time), each
 * of its parts an item under `DRUNP#<runId> / <part key>`, and per scope the time it was last read to its end under
 * `SCOPEREAD#…` (keys in `dynamodb-keys.ts`). A part that ends (or is reopened) moves the run's tally in the same
 * transaction, so the run's record says when the run is done without reading its parts, and its stream record is
 * where `DiscoveryRunCompleted` comes from. Reading one run reads its parts (a Query); listing runs reads records only.
 */
export class DynamoDbDiscoveryRuns implements DiscoveryRunStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** The parts first, then the run's record: a run is visible only once every part of it is there. */
  async createRun(run: DiscoveryRun): Promise<void> {
    const existing = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: discoveryRunKey(run.runId), ConsistentRead: true }),
    );
    if (existing.Item !== undefined) throw runExists(run.runId);
    await mapWithConcurrency(run.parts, CONCURRENCY, (part) =>
      this.doc.send(new PutCommand({ TableName: this.tableName, Item: stored(run.runId, part) })),
    );
    const tally = tallyOf(run.parts);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...discoveryRunKey(run.runId),
            runId: run.runId,
            startedAt: run.startedAt,
            startedBy: run.startedBy,
            trigger: run.trigger,
            partCount: tally.parts,
            succeededParts: tally.succeeded,
            failedParts: tally.failed,
            skippedParts: tally.skipped,
            ...tally.counts,
            ...(tally.finishedAt === undefined ? {} : { finishedAt: tally.finishedAt }),
          },
          ...MUST_BE_NEW,
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw runExists(run.runId, error);
    }
  }

  async updatePart(runId: string, part: RunPart): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const previous = await this.getPart(runId, part);
      if (previous === undefined) throw runNotFound(runId);
      try {
        await this.replacePart(runId, previous, part);
        break;
      } catch (error) {
        // Another write to the part came in between, or a transaction on the run's record: read again and retry.
        if (!(error instanceof ConditionalCheckFailedException || isLostRace(error))) throw error;
        if (attempt >= UPDATE_ATTEMPTS) {
          throw new ConflictError(
            'CONCURRENT_UPDATE',
            `Part ${partKey(part)} of run ${runId} kept changing under this update; the unit is retried.`,
            { cause: error },
          );
        }
        await this.sleep(10 * 2 ** attempt * Math.random());
      }
    }
    // A tls part is a slice of a run's endpoints, not a scope: its locations' scans are recorded one by one.
    if (part.status === 'succeeded' && part.finishedAt !== undefined && part.source !== 'tls') {
      await this.recordScopeRead(part, part.finishedAt);
    }
  }

  async recordProgress(runId: string, part: RunPart): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: stored(runId, { ...part, status: 'running' }),
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'running' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getRun(runId: string): Promise<DiscoveryRun | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: discoveryRunKey(runId), ConsistentRead: true }),
    );
    if (out.Item === undefined) return undefined;
    const { tally: _tally, ...run } = discoveryRunSummaryFromItem(out.Item);
    const items = await queryAllItems(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
      ExpressionAttributeValues: { ':pk': discoveryPartsPartition(runId) },
      ConsistentRead: true,
    });
    return { ...run, parts: items.map(runPartFromItem) };
  }

  async listRuns(limit: number): Promise<DiscoveryRunSummary[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
        ExpressionAttributeValues: { ':pk': DISCOVERY_RUN_PARTITION },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(discoveryRunSummaryFromItem);
  }

  async lastScopeRead(scope: DiscoveryScopeKey): Promise<string | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: scopeReadKey(scope), ConsistentRead: true }),
    );
    if (out.Item === undefined) return undefined;
    return parseItem(z.object({ finishedAt: timestamp }), out.Item).finishedAt;
  }

  async locationScans(locations: readonly string[]): Promise<ReadonlyMap<string, LocationScan>> {
    const keys = [...new Set(locations)].map((location) => scopeReadKey(locationScope(location)));
    const items = await batchGetAll(this.doc, this.tableName, keys, this.sleep);
    const scans = items.map((item) => parseItem(locationScanSchema, item));
    return new Map(scans.map((scan) => [scan.location, scan]));
  }

  async recordLocationScans(scans: readonly LocationScan[]): Promise<void> {
    await mapWithConcurrency(scans, CONCURRENCY, async (scan) => {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...scopeReadKey(locationScope(scan.location)),
            finishedAt: scan.scannedAt,
            location: scan.location,
            identityIds: [...scan.identityIds],
          },
        }),
      );
    });
  }

  async getPart(runId: string, part: Pick<RunPart, 'source' | 'account' | 'region'>): Promise<RunPart | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: discoveryPartKey(runId, partKey(part)), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : runPartFromItem(out.Item);
  }

  /**
   * Puts the part on condition that it is still as read. When it ends, or an ended part is reopened, the run's tally
   * moves by the difference in the same transaction (the counts of what ended are added, those of what reopened
   * taken back).
   */
  private async replacePart(runId: string, previous: RunPart, part: RunPart): Promise<void> {
    const put = {
      TableName: this.tableName,
      Item: stored(runId, part),
      ConditionExpression: '#status = :previous',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':previous': previous.status },
    };
    if (!isFinished(previous.status) && !isFinished(part.status)) {
      await this.doc.send(new PutCommand(put));
      return;
    }
    const delta = new Map<string, number>();
    const move = (p: RunPart, sign: 1 | -1) => {
      if (!isFinished(p.status)) return;
      const bucket = `${p.status}Parts`;
      delta.set(bucket, (delta.get(bucket) ?? 0) + sign);
      for (const name of COUNT_NAMES) delta.set(name, (delta.get(name) ?? 0) + sign * p.counts[name]);
    };
    move(previous, -1);
    move(part, 1);
    const changes = [...delta.entries()].filter(([, n]) => n !== 0);
    const names = Object.fromEntries(changes.map(([name], i) => [`#t${i}`, name]));
    const values = Object.fromEntries(changes.map(([, n], i) => [`:t${i}`, n]));
    const add = changes.length === 0 ? '' : ` ADD ${changes.map((_, i) => `#t${i} :t${i}`).join(', ')}`;
    const ended = isFinished(part.status) && part.finishedAt !== undefined;
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: put },
            {
              Update: {
                TableName: this.tableName,
                Key: discoveryRunKey(runId),
                // Every update sets something, so that the record's stream image shows each move of the tally.
                UpdateExpression: `SET #updated = :updated${ended ? ', #finishedAt = :finishedAt' : ''}${add}`,
                ConditionExpression: 'attribute_exists(#pk)',
                ExpressionAttributeNames: {
                  ...names,
                  '#pk': TABLE_KEY.partitionKey,
                  '#updated': 'updatedAt',
                  ...(ended ? { '#finishedAt': 'finishedAt' } : {}),
                },
                ExpressionAttributeValues: {
                  ...values,
                  ':updated': part.finishedAt ?? part.startedAt ?? new Date().toISOString(),
                  ...(ended ? { ':finishedAt': part.finishedAt } : {}),
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [partCode, runCode] = cancellationCodes(error);
      if (runCode === 'ConditionalCheckFailed') throw runNotFound(runId, error);
      if (partCode === 'ConditionalCheckFailed') {
        throw new ConditionalCheckFailedException({ message: 'part changed', $metadata: {} });
      }
      throw error;
    }
  }

  /** Records that a scope was read to its end, unless a later read is recorded already. */
  private async recordScopeRead(scope: DiscoveryScopeKey, finishedAt: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...scopeReadKey(scope), finishedAt },
          ConditionExpression: 'attribute_not_exists(#pk) OR finishedAt < :at',
          ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
          ExpressionAttributeValues: { ':at': finishedAt },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

function isLostRace(error: unknown): boolean {
  return error instanceof TransactionCanceledException && cancellationCodes(error).includes('TransactionConflict');
}

function runExists(runId: string, cause?: unknown): ConflictError {
  return new ConflictError(
    'RUN_EXISTS',
    `A discovery run ${runId} exists already. Start another.`,
    cause === undefined ? undefined : { cause },
  );
}

function runNotFound(runId: string, cause?: unknown): NotFoundError {
  return new NotFoundError(
    'RUN_NOT_FOUND',
    `There is no discovery run ${runId} (or no such part of it).`,
    cause === undefined ? undefined : { cause },
  );
}
