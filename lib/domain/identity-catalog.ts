import { DISCOVERED_TYPES, type DiscoveredType, OBSERVATION_SOURCES } from './discovery.ts';
import type { RiskLevel } from './risk/levels.ts';

/**
 * The one inventory of every machine identity, issued or discovered: which sources feed it, which types each source
 * yields, which statuses an identity can be in, and how a listing's filter reads. Pure data and rules.
 */

/** Where an identity comes from: this plane's own issuance, or a discovery source. */
export const IDENTITY_SOURCES = ['issued', ...OBSERVATION_SOURCES] as const;
export type IdentitySource = (typeof IDENTITY_SOURCES)[number];

/** Every type of identity the inventory holds. */
export const ALL_IDENTITY_TYPES = DISCOVERED_TYPES;
export type AnyIdentityType = DiscoveredType;

/** Every status: issued certificates are `active` or `revoked`; discovered identities `active`, `missing`, `retired`. */
export const ALL_IDENTITY_STATUSES = ['active', 'revoked', 'missing', 'retired'] as const;
export type AnyIdentityStatus = (typeof ALL_IDENTITY_STATUSES)[number];

/** The types each source yields: a filter on source becomes a few (type, source) key prefixes. */
export const SOURCE_TYPES: { readonly [S in IdentitySource]: readonly AnyIdentityType[] } = {
  issued: ['x509-certificate'],
  'aws-iam': ['iam-role', 'iam-user', 'iam-access-key', 'ai-agent'],
  'aws-acm': ['x509-certificate'],
  'aws-secrets-manager': ['secret'],
  'aws-kms': ['kms-key'],
  tls: ['x509-certificate'],
  import: ['x509-certificate', 'secret', 'api-key', 'ssh-key', 'service-account', 'password'],
};

/** The statuses an identity of each origin can be in. */
export function statusesOf(source: IdentitySource): readonly AnyIdentityStatus[] {
  return source === 'issued' ? ['active', 'revoked'] : ['active', 'missing', 'retired'];
}

/** A listing's filter: each given field narrows it, and each is served by a key condition (see the key builders). */
export interface IdentityListFilter {
  readonly type?: AnyIdentityType | undefined;
  readonly source?: IdentitySource | undefined;
  readonly status?: AnyIdentityStatus | undefined;
  readonly owner?: string | undefined;
  readonly account?: string | undefined;
  /** That risk level or worse. */
  readonly risk?: Exclude<RiskLevel, 'none'> | undefined;
  /** Identities a risk rule fires for, by its code. */
  readonly rule?: string | undefined;
}

/** A (type, source) pair some identity can have. */
export interface TypeAndSource {
  readonly type: AnyIdentityType;
  readonly source: IdentitySource;
}

/**
 * The (type, source) pairs a filter admits, in a fixed order (types as listed, then sources as listed): at most one
 * per source and type, fourteen in all. With an `account`, only discovered sources (issued identities have no account);
 * with a `status`, only the sources whose identities can be in it.
 */
export function typeSourcePairs(filter: IdentityListFilter): TypeAndSource[] {
  const pairs: TypeAndSource[] = [];
  for (const type of ALL_IDENTITY_TYPES) {
    if (filter.type !== undefined && filter.type !== type) continue;
    for (const source of IDENTITY_SOURCES) {
      if (filter.source !== undefined && filter.source !== source) continue;
      if (filter.account !== undefined && source === 'issued') continue;
      if (filter.status !== undefined && !statusesOf(source).includes(filter.status)) continue;
      if (SOURCE_TYPES[source].includes(type)) pairs.push({ type, source });
    }
  }
  return pairs;
}
