import { RemovalPolicy } from 'aws-cdk-lib';
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

/** Fixed: renaming or moving the construct must never replace the table. */
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
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // AWS owned keys would hide the table's key from CloudTrail; a customer managed key adds a key policy to keep
      // right for no gain here (nothing secret is stored). The AWS managed key is audited and needs no upkeep.
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
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

  /** Read access and the env var naming the table, together, so the two cannot drift. */
  grantRead(fn: LambdaFunction): void {
    this.table.grantReadData(fn);
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }

  /** Read/write access and the env var naming the table. */
  grantReadWrite(fn: LambdaFunction): void {
    this.table.grantReadWriteData(fn);
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }
}
