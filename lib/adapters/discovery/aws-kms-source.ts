import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  type KMSClientConfig,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { z } from 'zod';
import type { Facts, FactValue, Observation } from '#lib/domain/discovery.ts';
import type { DiscoveryScope, DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import { mapWithConcurrency } from '../map-with-concurrency.ts';
import { assertClientRegion } from './assert-client-region.ts';
import { DiscoveryReadError, INVALID_RESPONSE, readAws } from './discovery-read-error.ts';
import { checkPageSize, pagedListing, skipIfGone } from './paged-listing.ts';

const SOURCE = 'aws-kms';

/** Keys per ListKeys page (the API allows 1,000). Each customer key costs up to three more calls. */
export const KMS_PAGE_SIZE = 100;
/** ListAliases' maximum page. */
const ALIAS_PAGE_SIZE = 100;
/** ListResourceTags' maximum page; a key has at most 50 tags, so one page is the rule. */
const TAG_PAGE_SIZE = 50;
const DESCRIBE_CONCURRENCY = 4;
/** A key has at most 50 tags: a tag listing of more pages than this is not KMS's. */
const MAX_TAG_PAGES = 10;
/** How KMS says a key is gone (its deletion completed since it was listed). */
const NOT_FOUND = 'NotFoundException';

/** What `rotationEnabled` says of a key KMS cannot rotate (asymmetric, HMAC, custom key store, imported material). */
export const ROTATION_NOT_APPLICABLE = 'not-applicable';

const listKeysSchema = z.object({
  Keys: z.array(z.object({ KeyId: z.string().min(1) })).default([]),
  NextMarker: z.string().optional(),
  Truncated: z.boolean().default(false),
});

const listAliasesSchema = z.object({
  Aliases: z.array(z.object({ AliasName: z.string().min(1), TargetKeyId: z.string().min(1).optional() })).default([]),
  NextMarker: z.string().optional(),
  Truncated: z.boolean().default(false),
});

const describeKeySchema = z.object({
  KeyMetadata: z.object({
    KeyId: z.string().min(1),
    Arn: z.string().min(1),
    KeyManager: z.string().min(1),
    KeySpec: z.string().min(1).optional(),
    CustomerMasterKeySpec: z.string().min(1).optional(),
    KeyUsage: z.string().min(1),
    KeyState: z.string().min(1),
    Origin: z.string().min(1),
    MultiRegion: z.boolean().default(false),
    CreationDate: z.date(),
    DeletionDate: z.date().optional(),
    Description: z.string().default(''),
  }),
});
type KeyMetadata = z.infer<typeof describeKeySchema>['KeyMetadata'];

const rotationSchema = z.object({ KeyRotationEnabled: z.boolean() });

const tagsSchema = z.object({
  Tags: z.array(z.object({ TagKey: z.string().min(1), TagValue: z.string() })).default([]),
  NextMarker: z.string().optional(),
  Truncated: z.boolean().default(false),
});

export interface AwsKmsSourceOptions {
  /** A KMS client for the scope's account and region (see {@link createKmsDiscoveryClient}). */
  readonly client: KMSClient;
  /** Keys per ListKeys page, 1 to 1,000 (default {@link KMS_PAGE_SIZE}). */
  readonly pageSize?: number;
}

/**
 * The `aws-kms` discovery source: the customer managed KMS keys of one account and region, as `kms-key`
 * observations. AWS managed keys (`KeyManager: AWS`) are not identities anyone manages and are left out.
 *
 * A run first lists every alias of the region (ListAliases, paged) to name keys by alias; then one page is one ListKeys
 * page, its marker KMS's NextMarker. Each key is described (DescribeKey, four at a time); for a customer key, its tags
 * (ListResourceTags) and, for a symmetric encryption key only, its rotation (GetKeyRotationStatus): KMS rotates
 * symmetric encryption keys only, so every other key's `rotationEnabled` is {@link ROTATION_NOT_APPLICABLE}. A key
 * deleted since it was listed is left out. Other failures (access denied, throttling past the client's retries) throw a
 * {@link DiscoveryReadError} naming the action.
 *
 * Calls: `kms:ListAliases`, `kms:ListKeys`, `kms:DescribeKey`, `kms:GetKeyRotationStatus`, `kms:ListResourceTags`.
 */
export class AwsKmsSource implements DiscoverySource {
  readonly name = SOURCE;
  readonly global = false;
  readonly #client: KMSClient;
  readonly #pageSize: number;

  constructor(options: AwsKmsSourceOptions) {
    this.#client = options.client;
    this.#pageSize = checkPageSize(options.pageSize ?? KMS_PAGE_SIZE, 1000);
  }

  async *pages(
    scope: DiscoveryScope,
    options: { readonly resumeFrom?: string | undefined } = {},
  ): AsyncIterable<ObservationPage> {
    await assertClientRegion(SOURCE, this.#client, scope);
    const aliases = await this.#aliasesByKey();
    const listing = pagedListing(SOURCE, 'kms:ListKeys', options.resumeFrom, async (marker) => {
      const listed = await readAws(SOURCE, 'kms:ListKeys', listKeysSchema, () =>
        this.#client.send(
          new ListKeysCommand({ Limit: this.#pageSize, ...(marker === undefined ? {} : { Marker: marker }) }),
        ),
      );
      return { page: listed.Keys, next: nextMarker(listed, 'kms:ListKeys') };
    });
    for await (const { page, next } of listing) {
      const observed = await mapWithConcurrency(page, DESCRIBE_CONCURRENCY, (key) =>
        this.#observe(key.KeyId, aliases, scope),
      );
      yield {
        observations: observed.filter((observation): observation is Observation => observation !== undefined),
        marker: next,
      };
    }
  }

  /** Every alias of the region that points at a key, by key id, sorted. */
  async #aliasesByKey(): Promise<ReadonlyMap<string, readonly string[]>> {
    const byKey = new Map<string, string[]>();
    const listing = pagedListing(SOURCE, 'kms:ListAliases', undefined, async (marker) => {
      const listed = await readAws(SOURCE, 'kms:ListAliases', listAliasesSchema, () =>
        this.#client.send(
          new ListAliasesCommand({ Limit: ALIAS_PAGE_SIZE, ...(marker === undefined ? {} : { Marker: marker }) }),
        ),
      );
      return { page: listed.Aliases, next: nextMarker(listed, 'kms:ListAliases') };
    });
    for await (const { page } of listing) {
      for (const alias of page) {
        // AWS's predefined aliases (alias/aws/…) exist before the key they name does; those have no target yet.
        if (alias.TargetKeyId === undefined) continue;
        const names = byKey.get(alias.TargetKeyId) ?? [];
        names.push(alias.AliasName);
        byKey.set(alias.TargetKeyId, names);
      }
    }
    for (const names of byKey.values()) names.sort();
    return byKey;
  }

  async #observe(
    keyId: string,
    aliases: ReadonlyMap<string, readonly string[]>,
    scope: DiscoveryScope,
  ): Promise<Observation | undefined> {
    const described = await skipIfGone(
      readAws(SOURCE, 'kms:DescribeKey', describeKeySchema, () =>
        this.#client.send(new DescribeKeyCommand({ KeyId: keyId })),
      ),
      NOT_FOUND,
    );
    // AWS managed keys belong to the services that made them: not identities anyone here manages.
    if (described?.KeyMetadata.KeyManager !== 'CUSTOMER') return undefined;
    const key = described.KeyMetadata;
    const rotation = await skipIfGone(this.#rotation(key), NOT_FOUND);
    if (rotation === undefined) return undefined;
    const tags = await skipIfGone(this.#tags(key.KeyId), NOT_FOUND);
    if (!tags) return undefined;
    const keyAliases = aliases.get(key.KeyId) ?? [];
    return {
      source: SOURCE,
      type: 'kms-key',
      arn: key.Arn,
      name: keyAliases[0] ?? key.KeyId,
      account: scope.account,
      region: scope.region,
      tags,
      facts: keyFacts(key, rotation, keyAliases),
    };
  }

  /**
   * `true`/`false` for a symmetric encryption key, {@link ROTATION_NOT_APPLICABLE} for any other; `null` when KMS
   * cannot tell in the key's current state (PendingImport, or a disconnected custom key store).
   */
  async #rotation(key: KeyMetadata): Promise<FactValue> {
    const spec = key.KeySpec ?? key.CustomerMasterKeySpec;
    if (spec !== 'SYMMETRIC_DEFAULT' || key.KeyUsage !== 'ENCRYPT_DECRYPT') return ROTATION_NOT_APPLICABLE;
    try {
      const status = await readAws(SOURCE, 'kms:GetKeyRotationStatus', rotationSchema, () =>
        this.#client.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId })),
      );
      return status.KeyRotationEnabled;
    } catch (error) {
      if (!(error instanceof DiscoveryReadError)) throw error;
      // Symmetric keys in a custom key store or with imported key material cannot be rotated automatically.
      if (error.reason === 'UnsupportedOperationException') return ROTATION_NOT_APPLICABLE;
      if (error.reason === 'KMSInvalidStateException') return null;
      throw error;
    }
  }

  async #tags(keyId: string): Promise<Record<string, string>> {
    const tags: Record<string, string> = {};
    const listing = pagedListing(
      SOURCE,
      'kms:ListResourceTags',
      undefined,
      async (marker) => {
        const listed = await readAws(SOURCE, 'kms:ListResourceTags', tagsSchema, () =>
          this.#client.send(
            new ListResourceTagsCommand({
              KeyId: keyId,
              Limit: TAG_PAGE_SIZE,
              ...(marker === undefined ? {} : { Marker: marker }),
            }),
          ),
        );
        return { page: listed.Tags, next: nextMarker(listed, 'kms:ListResourceTags') };
      },
      MAX_TAG_PAGES,
    );
    for await (const { page } of listing) for (const tag of page) tags[tag.TagKey] = tag.TagValue;
    return tags;
  }
}

function keyFacts(key: KeyMetadata, rotationEnabled: FactValue, aliases: readonly string[]): Facts {
  return {
    keySpec: key.KeySpec ?? key.CustomerMasterKeySpec ?? null,
    keyUsage: key.KeyUsage,
    keyState: key.KeyState,
    origin: key.Origin,
    keyManager: key.KeyManager,
    multiRegion: key.MultiRegion,
    creationDate: key.CreationDate.toISOString(),
    ...(key.DeletionDate ? { deletionDate: key.DeletionDate.toISOString() } : {}),
    rotationEnabled,
    aliases: [...aliases],
    description: key.Description,
  };
}

/**
 * The marker of the next page, or undefined after the last. KMS pages say `Truncated: true` with a `NextMarker`
 * while more remain; a truncated page without a marker would end the listing early. (A marker handed back unchanged
 * is refused by {@link pagedListing}.)
 */
function nextMarker(
  page: { readonly Truncated: boolean; readonly NextMarker?: string | undefined },
  action: string,
): string | undefined {
  if (!page.Truncated) return undefined;
  if (page.NextMarker === undefined || page.NextMarker === '') {
    throw new DiscoveryReadError(SOURCE, action, INVALID_RESPONSE);
  }
  return page.NextMarker;
}

/** Builds the `aws-kms` source for a composition root. */
export function createAwsKmsSource(options: AwsKmsSourceOptions): DiscoverySource {
  return new AwsKmsSource(options);
}

/**
 * The KMS client a composition root builds for one account and region, with that account's discovery role
 * credentials. Adaptive retry: KMS's request quotas are per account and region, shared with every workload using its
 * keys there, so a throttled client also slows its later calls rather than only retrying the one that failed.
 */
export function createKmsDiscoveryClient(config: {
  readonly region: string;
  readonly credentials?: NonNullable<KMSClientConfig['credentials']>;
}): KMSClient {
  return new KMSClient({
    region: config.region,
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
    retryMode: 'adaptive',
    maxAttempts: 5,
  });
}
