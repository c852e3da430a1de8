import { INDEX_PARTITIONS, type InventoryIndexName, TABLE_PARTITIONS, type TablePartition } from './inventory-table.ts';

/**
 * Least-privilege access to the inventory table, as plain data and pure functions: which item operations a function
 * may run on which partitions. The CDK stack writes these grants as IAM statements with `dynamodb:LeadingKeys`
 * conditions; the local runtime enforces the very same grants on each handler's DynamoDB client.
 */

/** The DynamoDB item operations the functions use; IAM checks each item of a TransactWriteItems as one of these. */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

/**
 * Permission to run `actions` on items whose partition key matches one of `partitions`: the table's own partitions,
 * or with `index`, that index's partitions (Query only). Scan is never granted.
 */
export type TableGrant =
  | { readonly actions: readonly TableAction[]; readonly partitions: readonly TablePartition[] }
  | { readonly actions: readonly ['Query']; readonly index: InventoryIndexName };

/** A grant with its partitions spelled out as `dynamodb:LeadingKeys` patterns (`*` at the end only). */
export interface ResolvedTableGrant {
  readonly actions: readonly TableAction[];
  readonly index: InventoryIndexName | undefined;
  readonly partitionPatterns: readonly string[];
}

/** The grants of one function with `{caId}` filled in. */
export function resolveTableGrants(grants: readonly TableGrant[], caId: string): ResolvedTableGrant[] {
  return grants.map((grant) =>
    'index' in grant
      ? { actions: grant.actions, index: grant.index, partitionPatterns: [INDEX_PARTITIONS[grant.index]] }
      : {
          actions: grant.actions,
          index: undefined,
          partitionPatterns: grant.partitions.map((p) => TABLE_PARTITIONS[p].replace('{caId}', caId)),
        },
  );
}

/** Whether a partition key value matches a pattern: exact, or `<prefix>*` for any value starting with the prefix. */
export function partitionMatches(pattern: string, value: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/** Whether the resolved grants allow `action` on the partition `partition` of the table (or of `index`). */
export function tableAccessAllows(
  grants: readonly ResolvedTableGrant[],
  request: { readonly action: string; readonly index: string | undefined; readonly partition: string },
): boolean {
  return grants.some(
    (grant) =>
      grant.index === request.index &&
      (grant.actions as readonly string[]).includes(request.action) &&
      grant.partitionPatterns.some((pattern) => partitionMatches(pattern, request.partition)),
  );
}
