import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';
import { type ResolvedTableGrant, tableAccessAllows } from '#lib/config/table-grants.ts';

/** What the guard refused; it reads like the AccessDeniedException DynamoDB answers when IAM refuses. */
export class TableAccessDeniedError extends Error {
  override readonly name = 'AccessDeniedException';
}

/** One item operation as IAM authorizes it: the action, the index (if any) and the partition key value. */
export interface TableRequest {
  readonly action: string;
  readonly index: string | undefined;
  readonly partition: string;
}

const attributeValue = z.object({ S: z.string() });
const keyed = z.object({ Key: z.record(z.string(), z.unknown()) });
const itemBody = z.object({ Item: z.record(z.string(), z.unknown()) });
const queryBody = z.object({
  IndexName: z.string().optional(),
  KeyConditionExpression: z.string(),
  ExpressionAttributeNames: z.record(z.string(), z.string()).optional(),
  ExpressionAttributeValues: z.record(z.string(), z.unknown()).optional(),
});
const transactWriteBody = z.object({
  TransactItems: z.array(
    z.object({
      Put: itemBody.optional(),
      Update: keyed.optional(),
      Delete: keyed.optional(),
      ConditionCheck: keyed.optional(),
    }),
  ),
});
const transactGetBody = z.object({ TransactItems: z.array(z.object({ Get: keyed })) });
const batchGetBody = z.object({
  RequestItems: z.record(z.string(), z.object({ Keys: z.array(z.record(z.string(), z.unknown())) })),
});

function partitionOf(attributes: Record<string, unknown>): string {
  return attributeValue.parse(attributes[INVENTORY_TABLE.partitionKey]).S;
}

/** The partition a Query reads: the value its key condition sets the (index's) partition key to. */
function queriedPartition(body: z.infer<typeof queryBody>): TableRequest {
  const index = INVENTORY_TABLE.indexes.find((i) => i.name === body.IndexName);
  if (body.IndexName !== undefined && index === undefined) throw new Error(`unknown index ${body.IndexName}`);
  const partitionKey = index?.partitionKey ?? INVENTORY_TABLE.partitionKey;
  for (const term of body.KeyConditionExpression.split(/\s+AND\s+/i)) {
    const match = /^\s*(#?\w+)\s*=\s*(:\w+)\s*$/.exec(term);
    if (!match?.[1] || !match[2]) continue;
    const name = match[1].startsWith('#') ? body.ExpressionAttributeNames?.[match[1]] : match[1];
    if (name !== partitionKey) continue;
    return {
      action: 'Query',
      index: body.IndexName,
      partition: attributeValue.parse(body.ExpressionAttributeValues?.[match[2]]).S,
    };
  }
  throw new Error('a Query without an equality condition on the partition key');
}

/**
 * The item operations one DynamoDB request performs, read from the request as it goes on the wire (the JSON protocol:
 * `X-Amz-Target: DynamoDB_20120810.<Operation>`), the way IAM authorizes it: a transaction is one authorization per
 * item. Any operation outside the item API (Scan, batches, PartiQL, table management) yields itself with no partition,
 * which no grant allows.
 */
export function tableRequestsOf(operation: string, body: unknown): TableRequest[] {
  switch (operation) {
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [{ action: operation, index: undefined, partition: partitionOf(keyed.parse(body).Key) }];
    case 'PutItem':
      return [{ action: operation, index: undefined, partition: partitionOf(itemBody.parse(body).Item) }];
    case 'Query':
      return [queriedPartition(queryBody.parse(body))];
    case 'BatchGetItem':
      return Object.values(batchGetBody.parse(body).RequestItems).flatMap((request) =>
        request.Keys.map((key) => ({ action: 'BatchGetItem', index: undefined, partition: partitionOf(key) })),
      );
    case 'TransactGetItems':
      return transactGetBody
        .parse(body)
        .TransactItems.map((t) => ({ action: 'GetItem', index: undefined, partition: partitionOf(t.Get.Key) }));
    case 'TransactWriteItems':
      return transactWriteBody.parse(body).TransactItems.map((t) => {
        if (t.Put) return { action: 'PutItem', index: undefined, partition: partitionOf(t.Put.Item) };
        const [action, target] = t.Update
          ? ['UpdateItem', t.Update]
          : t.Delete
            ? ['DeleteItem', t.Delete]
            : ['ConditionCheckItem', t.ConditionCheck];
        if (!target) throw new Error('an empty transaction item');
        return { action, index: undefined, partition: partitionOf(target.Key) };
      });
    default:
      return [{ action: operation, index: undefined, partition: '' }];
  }
}

/** The serialized request; the SDK's JSON codec may hand the body over as bytes rather than a string. */
const wireRequest = z.object({
  headers: z.record(z.string(), z.string()),
  body: z.union([z.string(), z.instanceof(Uint8Array).transform((bytes) => new TextDecoder().decode(bytes))]),
});

/**
 * Makes a DynamoDB client refuse every request its function's grants do not allow, before it is sent: the local
 * runtime's stand-in for the IAM statements the CDK stack writes from the same grants. Each local handler gets its own
 * guarded client, so a handler that touches a partition its Lambda could not is a failed request in every local and
 * end-to-end test instead of an AccessDeniedException after deployment.
 */
export function guardTableAccess(
  client: DynamoDBClient,
  functionName: string,
  grants: readonly ResolvedTableGrant[],
): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = wireRequest.parse(args.request);
      const target = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1];
      const operation = /^DynamoDB_\d+\.(\w+)$/.exec(target ?? '')?.[1] ?? 'unknown';
      let requests: TableRequest[];
      try {
        requests = tableRequestsOf(operation, JSON.parse(request.body));
      } catch (cause) {
        throw new TableAccessDeniedError(`${functionName}: cannot tell which partitions ${operation} touches`, {
          cause,
        });
      }
      const refused = requests.find((r) => !tableAccessAllows(grants, r));
      if (refused) {
        throw new TableAccessDeniedError(
          `${functionName} may not ${refused.action} ${refused.index ? `on index ${refused.index} ` : ''}in partition ` +
            `"${refused.partition}": declare it in FUNCTION_TABLE_ACCESS (functions/function-access.ts) if it should.`,
        );
      }
      return next(args);
    },
    { step: 'build', name: 'tableAccessGuard', priority: 'low' },
  );
}
