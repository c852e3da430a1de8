import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import {
  decodeOffsetToken,
  describeIssues,
  encodeOffsetToken,
  epochSecondsOf,
  injectedErrorMessage,
  JsonProtocolError,
  type OperationFailureRule,
  OperationFaults,
  recordRequestsInto,
  startOperationServer,
} from './json-protocol-fake.ts';

/** One secret of the estate the fake serves. Dates are what Secrets Manager would answer; absent ones are left out. */
export interface FakeSecret {
  /** `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`, as Secrets Manager makes them. */
  readonly arn: string;
  readonly name: string;
  readonly description?: string;
  /** Absent when the secret uses the AWS managed key `aws/secretsmanager`: ListSecrets then leaves KmsKeyId out. */
  readonly kmsKeyId?: string;
  readonly rotationEnabled?: boolean;
  readonly rotationLambdaArn?: string;
  readonly rotationRules?: {
    readonly automaticallyAfterDays?: number;
    readonly duration?: string;
    readonly scheduleExpression?: string;
  };
  readonly lastRotatedDate?: Date;
  readonly lastChangedDate?: Date;
  /** Secrets Manager keeps only the day of the last access: give a UTC midnight. */
  readonly lastAccessedDate?: Date;
  readonly nextRotationDate?: Date;
  /** Set when the secret is scheduled for deletion. */
  readonly deletedDate?: Date;
  readonly createdDate?: Date;
  readonly owningService?: string;
  readonly primaryRegion?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** The secret value: only GetSecretValue answers it. */
  readonly secretString: string;
}

/** A request as the fake received it: the operation from `X-Amz-Target`, the parsed body and the status answered. */
export interface RecordedSecretsManagerRequest {
  readonly target: string;
  readonly body: unknown;
  readonly status: number;
}

/** Fails requests to one operation (or any) with an error, `times` times (default once; `Infinity` for always). */
export type SecretsManagerFailureRule = OperationFailureRule;

export interface FakeSecretsManager {
  /** `http://127.0.0.1:<port>`, for `new SecretsManagerClient({ endpoint })`. */
  readonly endpoint: string;
  /** The estate, in listing order; tests may change it between calls. */
  readonly secrets: FakeSecret[];
  /** Every request received, oldest first. */
  readonly requests: RecordedSecretsManagerRequest[];
  failRequests(rule: SecretsManagerFailureRule): void;
  /** Answers the next `times` calls of `target` with ThrottlingException, as the service does past its rate limit. */
  throttle(target: string, times?: number): void;
  /** Answers every later call of `target` with AccessDeniedException, as for a role whose policy lacks the action. */
  deny(target: string): void;
  /** Forgets recorded requests and failure rules (not the estate). */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeSecretsManagerOptions {
  readonly secrets?: readonly FakeSecret[];
  /**
   * Serve at most this many secrets a page whatever MaxResults says, with a NextToken while more remain: Secrets
   * Manager documents that it may answer fewer results than the maximum even when more exist.
   */
  readonly maxPageSize?: number;
}

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
/** ListSecrets' page when MaxResults is absent. */
const DEFAULT_MAX_RESULTS = 100;

/**
 * The request members the fake implements; `strictObject` refuses any other, so that a member the client sends and
 * the fake would silently ignore (a filter it does not apply) fails the test instead.
 */
const schemas = {
  ListSecrets: z.strictObject({
    IncludePlannedDeletion: z.boolean().optional(),
    MaxResults: z.number().int().min(1).max(100).optional(),
    NextToken: z.string().min(1).max(4096).optional(),
  }),
  GetSecretValue: z.strictObject({
    SecretId: z.string().min(1).max(2048),
    VersionId: z.string().optional(),
    VersionStage: z.string().optional(),
  }),
};

/**
 * Starts an AWS Secrets Manager stand-in on 127.0.0.1 speaking the JSON 1.1 protocol the SDK uses (`POST /`,
 * `X-Amz-Target: secretsmanager.<Operation>`, timestamps as epoch seconds, errors as `{"__type", "message"}` with
 * status 400). ListSecrets serves a test-given estate with its tags, paged by MaxResults and NextToken (short pages
 * on request), leaving out secrets scheduled for deletion unless `IncludePlannedDeletion` is true, as the service
 * does. GetSecretValue answers the value, so that a test can prove a client never asks for it (see `requests`).
 * Tests inject throttling and access denial per operation. The SigV4 `Authorization` header is checked for shape only.
 */
export async function startFakeSecretsManager(options: FakeSecretsManagerOptions = {}): Promise<FakeSecretsManager> {
  const secrets = [...(options.secrets ?? [])];
  const requests: RecordedSecretsManagerRequest[] = [];
  const faults = new OperationFaults(defaultMessage);

  function listSecrets(request: z.infer<typeof schemas.ListSecrets>): unknown {
    const listed = secrets.filter((secret) => request.IncludePlannedDeletion === true || !secret.deletedDate);
    const offset = request.NextToken === undefined ? 0 : decodeToken(request.NextToken);
    const size = Math.min(request.MaxResults ?? DEFAULT_MAX_RESULTS, options.maxPageSize ?? Number.POSITIVE_INFINITY);
    const page = listed.slice(offset, offset + size);
    const end = offset + page.length;
    return {
      SecretList: page.map(entryOf),
      ...(end < listed.length ? { NextToken: encodeOffsetToken(end) } : {}),
    };
  }

  function getSecretValue(request: z.infer<typeof schemas.GetSecretValue>): unknown {
    const secret = secrets.find(
      (candidate) => candidate.arn === request.SecretId || candidate.name === request.SecretId,
    );
    if (!secret) {
      throw new JsonProtocolError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    if (secret.deletedDate) {
      throw new JsonProtocolError(
        'InvalidRequestException',
        'You tried to perform the operation on a secret that is currently marked deleted.',
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: versionIdOf(secret),
      SecretString: secret.secretString,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: (secret.lastChangedDate ?? secret.createdDate ?? new Date(0)).getTime() / 1000,
    };
  }

  function handle(operation: string, body: unknown): unknown {
    switch (operation) {
      case 'ListSecrets':
        return listSecrets(parse(schemas.ListSecrets, body));
      case 'GetSecretValue':
        return getSecretValue(parse(schemas.GetSecretValue, body));
      default:
        throw new JsonProtocolError('UnknownOperationException', `This fake does not implement ${operation}.`);
    }
  }

  const server = await startOperationServer({
    targetPrefix: 'secretsmanager',
    signingName: 'secretsmanager',
    internalErrorType: 'InternalServiceError',
    record: recordRequestsInto(requests),
    faults,
    handle,
  });

  return {
    endpoint: server.endpoint,
    secrets,
    requests,
    failRequests: faults.failRequests,
    throttle: faults.throttle,
    deny: faults.deny,
    reset: () => {
      requests.length = 0;
      faults.clear();
    },
    close: server.close,
  };
}

/** A stable version id per secret, so that SecretVersionsToStages looks like the service's. */
function versionIdOf(secret: FakeSecret): string {
  const hex = Buffer.from(secret.arn).toString('hex').padEnd(32, '0').slice(-32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A SecretListEntry: metadata, tags and version stages, never the value. */
function entryOf(secret: FakeSecret): unknown {
  const rules = secret.rotationRules;
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description === undefined ? {} : { Description: secret.description }),
    ...(secret.kmsKeyId === undefined ? {} : { KmsKeyId: secret.kmsKeyId }),
    ...(secret.rotationEnabled === undefined ? {} : { RotationEnabled: secret.rotationEnabled }),
    ...(secret.rotationLambdaArn === undefined ? {} : { RotationLambdaARN: secret.rotationLambdaArn }),
    ...(rules === undefined
      ? {}
      : {
          RotationRules: {
            ...(rules.automaticallyAfterDays === undefined
              ? {}
              : { AutomaticallyAfterDays: rules.automaticallyAfterDays }),
            ...(rules.duration === undefined ? {} : { Duration: rules.duration }),
            ...(rules.scheduleExpression === undefined ? {} : { ScheduleExpression: rules.scheduleExpression }),
          },
        }),
    ...epochSecondsOf({
      LastRotatedDate: secret.lastRotatedDate,
      LastChangedDate: secret.lastChangedDate,
      LastAccessedDate: secret.lastAccessedDate,
      DeletedDate: secret.deletedDate,
      NextRotationDate: secret.nextRotationDate,
      CreatedDate: secret.createdDate,
    }),
    Tags: Object.entries(secret.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    SecretVersionsToStages: { [versionIdOf(secret)]: ['AWSCURRENT'] },
    ...(secret.owningService === undefined ? {} : { OwningService: secret.owningService }),
    ...(secret.primaryRegion === undefined ? {} : { PrimaryRegion: secret.primaryRegion }),
  };
}

/** NextToken: opaque to the client, here the offset of the next page. */
function decodeToken(token: string): number {
  const offset = decodeOffsetToken(token);
  if (offset === undefined) throw new JsonProtocolError('InvalidNextTokenException', 'The NextToken value is invalid.');
  return offset;
}

function defaultMessage(errorType: string, target: string): string {
  return injectedErrorMessage(errorType, ACCOUNT, `secretsmanager:${target}`);
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new JsonProtocolError('InvalidParameterException', describeIssues(result.error));
  return result.data;
}

/** Credentials the SDK signs requests to the fake with: any will do, and none is real. */
export const FAKE_SECRETS_MANAGER_CREDENTIALS = {
  accessKeyId: 'AKIAFAKESECRETSTEST0',
  secretAccessKey: 'fake-secrets-manager-test-secret',
} as const;

/**
 * The real SDK client aimed at the fake, in the fake's region. One attempt unless a `retryStrategy` is given, so that
 * a failure is asserted on at once.
 */
export function fakeSecretsManagerClient(
  endpoint: string,
  config: Pick<SecretsManagerClientConfig, 'retryStrategy'> = {},
): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint,
    region: REGION,
    credentials: FAKE_SECRETS_MANAGER_CREDENTIALS,
    ...(config.retryStrategy === undefined ? { maxAttempts: 1 } : { retryStrategy: config.retryStrategy }),
  });
}
