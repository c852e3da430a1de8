import { createHash } from 'node:crypto';
import type { IdentityAnnotations } from './identity-annotations.ts';
import type { StoredRisk } from './risk/levels.ts';

/**
 * Discovered machine identities: what the discovery sources observe in AWS accounts, and how the inventory keeps one
 * true record of each. Pure types and rules; the sources and the store are adapters.
 */

/**
 * The sources that read AWS accounts; each is one file under `lib/adapters/discovery/` behind the `DiscoverySource`
 * port, and a run reads each in every configured account (and region, unless global).
 */
export const AWS_DISCOVERY_SOURCES = ['aws-iam', 'aws-acm', 'aws-secrets-manager', 'aws-kms'] as const;
export type AwsDiscoverySourceName = (typeof AWS_DISCOVERY_SOURCES)[number];

/** Every discovery source: the AWS ones, and `tls`, which scans endpoints (see `lib/domain/tls-discovery.ts`). */
export const DISCOVERY_SOURCES = [...AWS_DISCOVERY_SOURCES, 'tls'] as const;
export type DiscoverySourceName = (typeof DISCOVERY_SOURCES)[number];

/** Where an observation comes from: a discovery source, or an import (`POST /v1/identities/import`). */
export const OBSERVATION_SOURCES = [...DISCOVERY_SOURCES, 'import'] as const;
export type ObservationSource = (typeof OBSERVATION_SOURCES)[number];

/** The kinds of machine identity discovery inventories (issued certificates are `x509-certificate` too). */
export const DISCOVERED_TYPES = [
  'x509-certificate',
  'iam-role',
  'iam-user',
  'iam-access-key',
  'secret',
  'kms-key',
  'ai-agent',
  // Kept elsewhere (a CMDB, on premises) and imported.
  'api-key',
  'ssh-key',
  'service-account',
  'password',
] as const;
export type DiscoveredType = (typeof DISCOVERED_TYPES)[number];

/** A JSON value: what facts are made of (sorted keys make their hash stable). */
export type FactValue = string | number | boolean | null | readonly FactValue[] | { readonly [key: string]: FactValue };
export type Facts = { readonly [key: string]: FactValue };

/** The region of sources that are global to an account (IAM). */
export const GLOBAL_REGION = 'global';

/**
 * One identity as a source saw it in one account and region. `facts` are what the source read (never a secret
 * value): everything that, when it changes, is a change of the identity; `lastUsedAt` and the like are facts too, so
 * sources put only what they read, and a use that moves a date is a change (at most daily for IAM's own data).
 */
export interface Observation {
  readonly source: ObservationSource;
  readonly type: DiscoveredType;
  /** The identity's ARN (or, for certificates without one, another stable natural key). */
  readonly arn: string;
  /** A readable name: role or user name, access key id, domain name, secret name, key alias or id. */
  readonly name: string;
  readonly account: string;
  /** The AWS region, or {@link GLOBAL_REGION}. */
  readonly region: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly facts: Facts;
}

/** The stable, URL-safe id of a discovered identity: from its source and ARN, so a run finds it again. */
export function discoveredIdentityId(observation: Pick<Observation, 'source' | 'arn'>): string {
  const digest = createHash('sha256').update(`${observation.source}\n${observation.arn}`).digest('base64url');
  return `d-${digest.slice(0, 32)}`;
}

/** The shape of {@link discoveredIdentityId}'s ids: `d-` and 32 base64url characters. */
export const DISCOVERED_IDENTITY_ID = /^d-[A-Za-z0-9_-]{32}$/;

export function isDiscoveredIdentityId(id: string): boolean {
  return DISCOVERED_IDENTITY_ID.test(id);
}

/** JSON with object keys sorted at every depth: equal facts always serialize alike. */
export function canonicalJson(value: FactValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Facts)[key] ?? null)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What decides whether an identity changed: its name, tags and facts, hashed. */
export function observationHash(observation: Observation): string {
  const content: FactValue = { name: observation.name, tags: observation.tags, facts: observation.facts };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** The owner a discovered identity's tags give: the `owner` tag, then `team`; else none. A manual owner wins. */
export function ownerFromTags(tags: Readonly<Record<string, string>>): string | undefined {
  return tags.owner ?? tags.Owner ?? tags.team ?? tags.Team;
}

/** Where a discovered identity stands. `missing`: not seen for `missingAfterRuns` completed runs of its scope. */
export const DISCOVERED_STATUSES = ['active', 'missing', 'retired'] as const;
export type DiscoveredStatus = (typeof DISCOVERED_STATUSES)[number];

/** The part of an estate one unit of discovery work reads: a source in one account and region. */
export interface DiscoveryScopeKey {
  readonly source: DiscoverySourceName;
  readonly account: string;
  readonly region: string;
}

/**
 * A discovered identity as the inventory keeps it. Written only when something changed: its observation (hash), its
 * status, or its streak of missed runs; when it was last seen is the completion time of its scope's last run, kept
 * with the run, not here, so an unchanged estate costs no writes.
 */
export interface DiscoveredIdentity extends Observation {
  readonly identityId: string;
  /** The manual owner when one is set, else the one its tags give ({@link ownerFromTags}). */
  readonly owner: string | undefined;
  /** Owner, purpose and tags people set with `PATCH /v1/identities/{id}`; discovery keeps them. */
  readonly annotations?: IdentityAnnotations;
  readonly observationHash: string;
  readonly status: DiscoveredStatus;
  /** Completed runs of its scope in a row that did not see it; 0 while it is seen. */
  readonly missedRuns: number;
  readonly firstSeenAt: string;
  /** When its observation or status last changed. */
  readonly changedAt: string;
  /**
   * While it is being missed: when its scope was last read to its end before the first miss, i.e. when it was last
   * seen (absent when no earlier read is known). A seen identity has none: its scope's last success is when.
   */
  readonly lastSeenAt?: string;
  /** Incremented by every write: optimistic concurrency, and the event id of the change it made. */
  readonly version: number;
  /** Its risk as last assessed (when it was written): what listings filter by and events report. */
  readonly risk?: StoredRisk;
  /**
   * A certificate: how many other certificates in the inventory carry its public key (see
   * `lib/use-cases/shared-keys.ts`); absent when none do or it is not known.
   */
  readonly sharedKeyCount?: number;
}

/** What a write did to an identity, for counts and events. */
export type DiscoveryChange = 'new' | 'changed' | 'missing' | 'reappeared' | 'missed';

/**
 * The identity after a run saw it, or undefined when nothing changed (no write). New: active, version 1. Seen again
 * while missing: active again (`reappeared`). A changed observation: `changed`. A seen identity's missed-run streak
 * ends (a write only if it had one).
 */
export function afterSeen(
  existing: DiscoveredIdentity | undefined,
  observation: Observation,
  at: string,
): { identity: DiscoveredIdentity; change: DiscoveryChange | undefined } | undefined {
  const hash = observationHash(observation);
  const owner = existing?.annotations?.owner ?? ownerFromTags(observation.tags);
  if (existing === undefined) {
    return {
      change: 'new',
      identity: {
        ...observation,
        identityId: discoveredIdentityId(observation),
        owner,
        observationHash: hash,
        status: 'active',
        missedRuns: 0,
        firstSeenAt: at,
        changedAt: at,
        version: 1,
      },
    };
  }
  const changed = existing.observationHash !== hash;
  const reappeared = existing.status !== 'active';
  if (!changed && !reappeared && existing.missedRuns === 0 && existing.owner === owner) return undefined;
  const { lastSeenAt: _missedSince, ...seen } = existing;
  return {
    change: reappeared ? 'reappeared' : changed ? 'changed' : undefined,
    identity: {
      ...seen,
      ...observation,
      owner,
      observationHash: hash,
      status: 'active',
      missedRuns: 0,
      changedAt: changed || reappeared ? at : existing.changedAt,
      version: existing.version + 1,
    },
  };
}

/**
 * When an identity no read has missed since was last seen: the later of its scope's last read to its end and its own
 * last change (a sighting, while no read has missed it). Instants are canonical ISO strings, so they compare as text.
 */
export function lastSeenOf(
  identity: Pick<DiscoveredIdentity, 'changedAt'>,
  scopeLastReadAt: string | undefined,
): string {
  return scopeLastReadAt !== undefined && scopeLastReadAt > identity.changedAt ? scopeLastReadAt : identity.changedAt;
}

/**
 * The identity after a completed run of its scope did not see it, or undefined when nothing changes: the streak
 * grows, and reaching `missingAfterRuns` makes it `missing` (once: a missing identity is not written again until it
 * is seen). `scopeLastReadAt` is when its scope was last read to its end before this run. Never called for a run whose part failed: an identity that could not be read is not missing.
 */
export function afterMissed(
  existing: DiscoveredIdentity,
  missingAfterRuns: number,
  at: string,
  scopeLastReadAt?: string,
): { identity: DiscoveredIdentity; change: DiscoveryChange } | undefined {
  if (existing.status !== 'active') return undefined;
  const missedRuns = existing.missedRuns + 1;
  const missing = missedRuns >= missingAfterRuns;
  // The first miss remembers when it was last seen: the scope's previous read, or its own sighting if later.
  const lastSeenAt = existing.missedRuns > 0 ? existing.lastSeenAt : lastSeenOf(existing, scopeLastReadAt);
  return {
    change: missing ? 'missing' : 'missed',
    identity: {
      ...existing,
      ...(lastSeenAt === undefined ? {} : { lastSeenAt }),
      missedRuns,
      status: missing ? 'missing' : 'active',
      changedAt: missing ? at : existing.changedAt,
      version: existing.version + 1,
    },
  };
}
