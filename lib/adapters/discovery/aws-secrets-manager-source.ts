import {
  ListSecretsCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { Facts, Observation } from '#lib/domain/discovery.ts';
import type { DiscoveryScope, DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import { assertClientRegion } from './assert-client-region.ts';
import { type DiscoveryReadError, readAws } from './discovery-read-error.ts';
import { checkPageSize, pagedListing, tokenAfter } from './paged-listing.ts';
import { utcDay } from './utc-day.ts';

const SOURCE = 'aws-secrets-manager';

/** Secrets per ListSecrets page: the API's maximum. */
export const SECRETS_MANAGER_PAGE_SIZE = 100;
/**
 * The KMS key Secrets Manager encrypts with when a secret names none; ListSecrets then leaves `KmsKeyId` out. Spelled
 * as the alias KMS lists it, so that it reads like the `aliases` of the `aws-kms` source.
 */
export const SECRETS_MANAGER_DEFAULT_KMS_KEY = 'alias/aws/secretsmanager';

const secretSchema = z.object({
  ARN: z.string().min(1),
  Name: z.string().min(1),
  KmsKeyId: z.string().min(1).optional(),
  RotationEnabled: z.boolean().optional(),
  RotationRules: z
    .object({
      AutomaticallyAfterDays: z.number().int().optional(),
      Duration: z.string().optional(),
      ScheduleExpression: z.string().optional(),
    })
    .optional(),
  LastRotatedDate: z.date().optional(),
  LastAccessedDate: z.date().optional(),
  NextRotationDate: z.date().optional(),
  DeletedDate: z.date().optional(),
  CreatedDate: z.date().optional(),
  OwningService: z.string().min(1).optional(),
  PrimaryRegion: z.string().min(1).optional(),
  Tags: z.array(z.object({ Key: z.string().min(1), Value: z.string().optional() })).default([]),
});
type SecretEntry = z.infer<typeof secretSchema>;

const listSchema = z.object({
  SecretList: z.array(secretSchema).default([]),
  NextToken: z.string().optional(),
});

export interface AwsSecretsManagerSourceOptions {
  /** A Secrets Manager client for the scope's account and region (see {@link createSecretsManagerDiscoveryClient}). */
  readonly client: SecretsManagerClient;
  /** Secrets per page, 1 to 100 (default {@link SECRETS_MANAGER_PAGE_SIZE}). */
  readonly pageSize?: number;
}

/**
 * The `aws-secrets-manager` discovery source: the secrets of one account and region, as `secret` observations of
 * their metadata: rotation, last rotation and access (to the day), owning service, KMS key, replication. One page is
 * one ListSecrets page (tags included, so no call per secret); its marker is the NextToken. Secrets scheduled for
 * deletion are left out (`IncludePlannedDeletion: false`).
 *
 * Calls `secretsmanager:ListSecrets` and nothing else. It never calls GetSecretValue (nor BatchGetSecretValue,
 * DescribeSecret or anything that touches a value): the discovery role must not be able to read a secret, so its
 * policy grants `secretsmanager:ListSecrets` alone. Failures (access denied, throttling past the client's retries)
 * throw a {@link DiscoveryReadError}.
 */
export class AwsSecretsManagerSource implements DiscoverySource {
  readonly name = SOURCE;
  readonly global = false;
  readonly #client: SecretsManagerClient;
  readonly #pageSize: number;

  constructor(options: AwsSecretsManagerSourceOptions) {
    this.#client = options.client;
    this.#pageSize = checkPageSize(options.pageSize ?? SECRETS_MANAGER_PAGE_SIZE, 100);
  }

  async *pages(
    scope: DiscoveryScope,
    options: { readonly resumeFrom?: string | undefined } = {},
  ): AsyncIterable<ObservationPage> {
    await assertClientRegion(SOURCE, this.#client, scope);
    const listing = pagedListing(SOURCE, 'secretsmanager:ListSecrets', options.resumeFrom, async (token) => {
      const listed = await readAws(SOURCE, 'secretsmanager:ListSecrets', listSchema, () =>
        this.#client.send(
          new ListSecretsCommand({
            IncludePlannedDeletion: false,
            MaxResults: this.#pageSize,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        ),
      );
      return { page: listed.SecretList, next: tokenAfter(listed.NextToken) };
    });
    for await (const { page, next } of listing) {
      yield { observations: page.map((secret) => observe(secret, scope)), marker: next };
    }
  }
}

function observe(secret: SecretEntry, scope: DiscoveryScope): Observation {
  return {
    source: SOURCE,
    type: 'secret',
    arn: secret.ARN,
    name: secret.Name,
    account: scope.account,
    region: scope.region,
    tags: Object.fromEntries(secret.Tags.map((tag) => [tag.Key, tag.Value ?? ''])),
    facts: secretFacts(secret),
  };
}

/** Metadata only: ListSecrets carries no secret value, and the schema keeps none of the fields it does not name. */
function secretFacts(secret: SecretEntry): Facts {
  const rules = secret.RotationRules;
  return {
    rotationEnabled: secret.RotationEnabled ?? false,
    rotationRules:
      rules === undefined
        ? null
        : {
            automaticallyAfterDays: rules.AutomaticallyAfterDays ?? null,
            scheduleExpression: rules.ScheduleExpression ?? null,
            duration: rules.Duration ?? null,
          },
    // Last rotated moves with every rotation and last accessed with use: kept to the day (Secrets Manager already
    // rounds the access date to the day), so that a busy secret is not a changed identity on every run.
    lastRotatedDate: secret.LastRotatedDate === undefined ? null : utcDay(secret.LastRotatedDate),
    lastAccessedDate: secret.LastAccessedDate === undefined ? null : utcDay(secret.LastAccessedDate),
    nextRotationDate: secret.NextRotationDate?.toISOString() ?? null,
    owningService: secret.OwningService ?? null,
    kmsKeyId: secret.KmsKeyId ?? SECRETS_MANAGER_DEFAULT_KMS_KEY,
    createdDate: secret.CreatedDate?.toISOString() ?? null,
    ...(secret.DeletedDate ? { deletedDate: secret.DeletedDate.toISOString() } : {}),
    primaryRegion: secret.PrimaryRegion ?? null,
  };
}

/** Builds the `aws-secrets-manager` source for a composition root. */
export function createAwsSecretsManagerSource(options: AwsSecretsManagerSourceOptions): DiscoverySource {
  return new AwsSecretsManagerSource(options);
}

/**
 * The Secrets Manager client a composition root builds for one account and region, with that account's discovery
 * role credentials. Adaptive retry: ListSecrets' rate limit is per account and region, shared with the applications
 * reading their secrets there, so a throttled client also slows its later calls.
 */
export function createSecretsManagerDiscoveryClient(config: {
  readonly region: string;
  readonly credentials?: NonNullable<SecretsManagerClientConfig['credentials']>;
}): SecretsManagerClient {
  return new SecretsManagerClient({
    region: config.region,
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
    retryMode: 'adaptive',
    maxAttempts: 5,
  });
}
