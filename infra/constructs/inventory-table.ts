import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type CfnTable,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '#lib/config/env.ts';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';

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

  /** Read access (table and indexes) and the env var naming the table, together, so the two cannot drift. */
  grantRead(fn: LambdaFunction): void {
    this.table.grantReadData(fn);
    this.afterGrant(fn);
  }

  /** Read/write access (table and indexes) and the env var naming the table. */
  grantReadWrite(fn: LambdaFunction): void {
    this.table.grantReadWriteData(fn);
    this.afterGrant(fn);
  }

  private afterGrant(fn: LambdaFunction): void {
    fn.addEnvironment(ENV.tableName, this.table.tableName);
    Validations.of(fn.role ?? fn).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${INVENTORY_TABLE_LOGICAL_ID}.Arn>/index/*]`,
      reason:
        'Queries go through the global secondary indexes (expiry, byType, byOwner), which IAM names as ' +
        '<table ARN>/index/<name>; the wildcard covers the indexes of this one table only.',
    });
  }
}
