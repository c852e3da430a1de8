import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';

/**
 * The inventory named by MIM_TABLE_NAME. Kept apart from `lambda-runtime.ts` so functions that never touch the table
 * (health, route-not-found) do not bundle the DynamoDB client.
 */
export function inventoryFromEnv(): DynamoDbInventory {
  const env = parseFunctionEnv(process.env, ['tableName']);
  return new DynamoDbInventory(createDocumentClient({}).doc, env.tableName);
}
