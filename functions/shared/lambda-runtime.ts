import { Logger } from '@aws-lambda-powertools/logger';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { type Authenticator, iamAuthenticator } from '#lib/http/authenticator.ts';

/**
 * What every Lambda composition root shares: the logger, IAM authentication (the HTTP API's IAM authorizer has
 * verified SigV4 before the function runs), and the inventory client. Built once per container, at cold start.
 */
export const logger = new Logger({ serviceName: 'machine-identity-control-plane' });

export const authenticator: Authenticator = iamAuthenticator;

export function inventoryFromEnv(): DynamoDbInventory {
  const env = parseFunctionEnv(process.env, ['tableName']);
  return new DynamoDbInventory(createDocumentClient({}).doc, env.tableName);
}
