import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type CfnTable,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '#lib/config/env.ts';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';
import type { ResolvedTableGrant } from '#lib/config/table-grants.ts';

/** The inventory table's fixed CloudFormation logical id. */
export const INVENTORY_TABLE_LOGICAL_ID = 'InventoryTable';

/**
 * The inventory table, built from the same key schema the local runtime creates DynamoDB Local's table from.
 * Stateful: fixed logical id, retained on stack deletion, deletion protection and point-in-time recovery on.
 */
export class InventoryTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: INVENTORY_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: INVENTORY_TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: INVENTORY_TABLE.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // The AWS managed key (aws/dynamodb): every use is in CloudTrail, unlike an AWS owned key, and there is no key
      // policy of our own to keep right. A customer managed key would only pay off for cross-account access or
      // crypto-shredding, and the table holds certificates and metadata, no private keys.
      encryption: TableEncryption.AWS_MANAGED,
      // The transactional outbox: events are derived from what this stream says was committed.
      stream: StreamViewType[INVENTORY_TABLE.streamViewType],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Renaming or moving this construct must never replace the table.
    (this.table.node.defaultChild as CfnTable).overrideLogicalId(INVENTORY_TABLE_LOGICAL_ID);
    for (const index of INVENTORY_TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }
  }

  /**
   * Exactly the item operations and partitions of `grants` (see `lib/config/table-grants.ts`), and the env var naming
   * the table, together, so the two cannot drift. Each grant is one statement:
   * - on the table: `ForAllValues:StringLike` on `dynamodb:LeadingKeys` (the partition key of every item the request
   *   touches must match a pattern), with a `Null` check so that a request without a partition key, such as a Scan,
   *   never qualifies;
   * - on one index (`<table ARN>/index/<name>`, Query only): the same LeadingKeys patterns, for the index's partition
   *   key. No `Null` check there: if DynamoDB evaluates no leading key for an index query, the statement still only
   *   opens Query on that one index.
   */
  grant(fn: LambdaFunction, grants: readonly ResolvedTableGrant[]): void {
    if (grants.length === 0) return;
    for (const grant of grants) {
      const leadingKeys = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.partitionPatterns] } };
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: grant.actions.map((action) => `dynamodb:${action}`),
          resources: [grant.index === undefined ? this.table.tableArn : `${this.table.tableArn}/index/${grant.index}`],
          conditions:
            grant.index === undefined ? { ...leadingKeys, Null: { 'dynamodb:LeadingKeys': 'false' } } : leadingKeys,
        }),
      );
    }
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }
}
