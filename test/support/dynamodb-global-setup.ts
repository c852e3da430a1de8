import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '#infra/local/dynamodb-local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the DynamoDB Local process shared by the whole run (in memory, `-sharedDb`). */
    dynamoDbEndpoint: string;
  }
}

/**
 * Starts one in-memory DynamoDB Local for the whole run; tests isolate themselves with their own tables
 * (`freshTable()` in `dynamodb.ts`). The returned teardown stops it, and its `exit` hook covers an aborted run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
