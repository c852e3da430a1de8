/**
 * Names of the environment variables the functions read. Infra sets them through the same grant helpers that give
 * access to the resource they name, so the two cannot drift.
 */
export const ENV = {
  tableName: 'MIM_TABLE_NAME',
  issuingKeyId: 'MIM_ISSUING_KEY_ID',
  rootKeyId: 'MIM_ROOT_KEY_ID',
  caId: 'MIM_CA_ID',
  /** The KMS HMAC_256 key that seals the stored answers of idempotent enrollment token creations. */
  sealKeyId: 'MIM_SEAL_KEY_ID',
  /** The custom EventBridge bus the stream publisher puts catalog events on. */
  eventBusName: 'MIM_EVENT_BUS_NAME',
  /** The SQS queue of discovery units (start-discovery-run sends, discovery-worker consumes). */
  discoveryQueueUrl: 'MIM_DISCOVERY_QUEUE_URL',
  dynamoDbEndpoint: 'MIM_DYNAMODB_ENDPOINT',
} as const;

/** The service name every function logs under (Powertools `service`), in AWS and locally. */
export const SERVICE_NAME = 'machine-identity-control-plane';
