import { createDocumentClient, type DynamoDbClients } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DynamoDbEnrollmentTokens } from '#lib/adapters/dynamodb-enrollment-tokens.ts';
import { createDynamoDbIdempotencyStore } from '#lib/adapters/dynamodb-idempotency.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { DynamoDbInventorySummary } from '#lib/adapters/dynamodb-inventory-summary.ts';
import { DynamoDbPolicyStore } from '#lib/adapters/dynamodb-policy-store.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { createIdempotencyGuard, type IdempotencyGuard } from '#lib/http/idempotency.ts';
import type { SecretMac } from '#lib/ports/secret-mac.ts';

/**
 * The stores in the table named by MIM_TABLE_NAME, sharing one client. Kept apart from `lambda-runtime.ts` so
 * functions that never touch the table (health, route-not-found) do not bundle the DynamoDB client.
 */
let shared: (DynamoDbClients & { tableName: string }) | undefined;

function table(): DynamoDbClients & { tableName: string } {
  shared ??= { ...createDocumentClient({}), tableName: parseFunctionEnv(process.env, ['tableName']).tableName };
  return shared;
}

export function inventoryFromEnv(): DynamoDbInventory {
  const { doc, tableName } = table();
  return new DynamoDbInventory(doc, tableName);
}

export function policyStoreFromEnv(): DynamoDbPolicyStore {
  const { doc, tableName } = table();
  return new DynamoDbPolicyStore(doc, tableName);
}

export function discoveryRunsFromEnv(): DynamoDbDiscoveryRuns {
  const { doc, tableName } = table();
  return new DynamoDbDiscoveryRuns(doc, tableName);
}

export function discoveredInventoryFromEnv(): DynamoDbDiscoveredInventory {
  const { doc, tableName } = table();
  return new DynamoDbDiscoveredInventory(doc, tableName);
}

/** The inventory summary's counters (and what each identity is counted in). */
export function inventorySummaryFromEnv(): DynamoDbInventorySummary {
  const { doc, tableName } = table();
  return new DynamoDbInventorySummary(doc, tableName);
}

export function enrollmentTokensFromEnv(): DynamoDbEnrollmentTokens {
  const { doc, tableName } = table();
  return new DynamoDbEnrollmentTokens(doc, tableName);
}

/**
 * Idempotency records live in the same table (partitions `IDEMPOTENCY#<shard>`), expiring through its `ttl`
 * attribute. Only a function whose route seals fields passes a `sealingSecret`; without one such a route refuses keyed
 * requests.
 */
export function idempotencyFromEnv(options: { sealingSecret?: SecretMac } = {}): IdempotencyGuard {
  const { client, tableName } = table();
  return createIdempotencyGuard(createDynamoDbIdempotencyStore({ client, tableName }), options);
}
