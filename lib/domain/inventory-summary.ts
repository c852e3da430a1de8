import { DISCOVERED_TYPES, type DiscoveredIdentity } from './discovery.ts';
import { ALL_IDENTITY_STATUSES, IDENTITY_SOURCES } from './identity-catalog.ts';
import type { IdentityRecord } from './inventory.ts';
import { RISK_LEVELS } from './risk/levels.ts';

/**
 * The inventory summary (`GET /v1/inventory/summary`): counts kept as counters, each identity adding one to a few of
 * them. Pure rules: which counters an identity contributes, what a change of it moves, and how counters read as the
 * answer. The counters themselves are kept by an adapter, current as identities change (from the table's stream).
 *
 * A counter is named `<dimension>:<value>`: `type:iam-role`, `source:aws-iam`, `status:active`, `risk:high`,
 * `account:111122223333`, `owner:payments-team`, and `expiry:2026-12-01` for an active certificate expiring that UTC
 * day. Expiry is kept by day, not by bucket, so that the buckets ("expires within 7 days"…) are computed when read
 * and move with the clock without any write; the price is day granularity (see {@link expiryBuckets}).
 */

/** The dimensions a counter counts by; the adapter stores high-cardinality ones (account, owner, expiry) apart. */
export const SUMMARY_DIMENSIONS = ['type', 'source', 'status', 'risk', 'account', 'owner', 'expiry'] as const;
export type SummaryDimension = (typeof SUMMARY_DIMENSIONS)[number];

/** The counter names one identity contributes (each counted once), sorted. */
export type SummaryContribution = readonly string[];

/** Counter name → count, as read back (summed over the stored shards). */
export type SummaryCounters = Readonly<Record<string, number>>;

/** The counters as stored, and when they last changed (absent when nothing was ever counted). */
export interface StoredSummary {
  readonly counters: SummaryCounters;
  readonly asOf?: string | undefined;
}

/** How many of the largest owners the summary lists. */
export const TOP_OWNERS = 20;

const DAY_MS = 86_400_000;

/** The counter of one value of a dimension. */
export function counterName(dimension: SummaryDimension, value: string): string {
  return `${dimension}:${value}`;
}

/** The dimension and value of a counter name, or undefined when it is not one. */
export function parseCounterName(name: string): { dimension: SummaryDimension; value: string } | undefined {
  const colon = name.indexOf(':');
  if (colon < 0) return undefined;
  const dimension = name.slice(0, colon);
  if (!(SUMMARY_DIMENSIONS as readonly string[]).includes(dimension)) return undefined;
  return { dimension: dimension as SummaryDimension, value: name.slice(colon + 1) };
}

/** The UTC day (`YYYY-MM-DD`) of an instant given as text, or undefined when it does not parse. */
function utcDayOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().slice(0, 10);
}

function isDiscovered(identity: IdentityRecord | DiscoveredIdentity): identity is DiscoveredIdentity {
  return identity.source !== 'issued';
}

/**
 * The counters an identity adds one to: its type, source, status and risk level (`none` when it has no assessment);
 * its account (discovered identities; issued ones have none); its owner when it has one; and, for an `x509-certificate`
 * that is `active`, the UTC day it expires (issued: `expiresAt`; discovered: the `notAfter` fact when it parses).
 */
export function summaryContributionOf(identity: IdentityRecord | DiscoveredIdentity): SummaryContribution {
  const names = new Set<string>([
    counterName('type', identity.type),
    counterName('source', identity.source),
    counterName('status', identity.status),
    counterName('risk', identity.risk?.level ?? 'none'),
  ]);
  if (isDiscovered(identity)) names.add(counterName('account', identity.account));
  if (identity.owner !== undefined && identity.owner !== '') names.add(counterName('owner', identity.owner));
  if (identity.type === 'x509-certificate' && identity.status === 'active') {
    const day = utcDayOf(isDiscovered(identity) ? identity.facts.notAfter : identity.expiresAt);
    if (day !== undefined) names.add(counterName('expiry', day));
  }
  return [...names].sort();
}

/**
 * What moving an identity's contribution from `before` (undefined: it was not counted) to `after` does to the
 * counters: +1 for each counter only `after` has, −1 for each only `before` has. Equal contributions give an empty
 * delta (nothing to write).
 */
export function summaryDelta(
  before: SummaryContribution | undefined,
  after: SummaryContribution,
): Readonly<Record<string, 1 | -1>> {
  const delta: Record<string, 1 | -1> = {};
  const old = new Set(before ?? []);
  const next = new Set(after);
  for (const name of next) if (!old.has(name)) delta[name] = 1;
  for (const name of old) if (!next.has(name)) delta[name] = -1;
  return delta;
}

/** Counts of the active certificates by when they expire; each certificate is in exactly one bucket. */
export interface ExpiryBuckets {
  /** Expired on a UTC day before today. */
  readonly expired: number;
  /** Expiring today or in the next 6 days (UTC days). */
  readonly under7d: number;
  /** Expiring 7 to 29 days from today. */
  readonly under30d: number;
  /** Expiring 30 to 89 days from today. */
  readonly under90d: number;
  /** Expiring 90 days from today or later. */
  readonly later: number;
}

/** The answer of `GET /v1/inventory/summary`. */
export interface InventorySummaryView {
  /** Every identity, issued and discovered, whatever its status. */
  readonly total: number;
  /** By type, source, status and risk level: every known value, zeros included, in the catalog's order. */
  readonly byType: Readonly<Record<string, number>>;
  readonly bySource: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byRisk: Readonly<Record<string, number>>;
  /** Discovered identities by AWS account (imported ones under `imported`); only accounts that have some. */
  readonly byAccount: Readonly<Record<string, number>>;
  /** The {@link TOP_OWNERS} owners with the most identities, most first, ties by name. */
  readonly topOwners: ReadonlyArray<{ readonly owner: string; readonly count: number }>;
  /** Active certificates by expiry, at UTC day granularity. */
  readonly expiry: ExpiryBuckets;
  /** When the counters last changed (absent when nothing was ever counted). */
  readonly asOf?: string;
}

/**
 * The expiry buckets of a per-day histogram, as of `now`. Day granularity: a certificate counts as expired from the
 * UTC day after its `notAfter` day (on its last day it is in `under7d`), and "within 7 days" means its day is one of
 * today and the next six; so a bucket boundary moves at UTC midnight, with no write.
 */
export function expiryBuckets(days: Readonly<Record<string, number>>, now: Date): ExpiryBuckets {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const counts = { expired: 0, under7d: 0, under30d: 0, under90d: 0, later: 0 };
  for (const [day, count] of Object.entries(days)) {
    const at = Date.parse(`${day}T00:00:00.000Z`);
    if (Number.isNaN(at) || count <= 0) continue;
    const ahead = Math.round((at - today) / DAY_MS);
    if (ahead < 0) counts.expired += count;
    else if (ahead < 7) counts.under7d += count;
    else if (ahead < 30) counts.under30d += count;
    else if (ahead < 90) counts.under90d += count;
    else counts.later += count;
  }
  return counts;
}

/**
 * The summary's answer from the counters, as of `now` (which only the expiry buckets depend on). Counters at zero or
 * below (a value no identity has any more) are left out of `byAccount` and `topOwners`.
 */
export function summaryView(stored: StoredSummary, now: Date): InventorySummaryView {
  const { counters, asOf } = stored;
  const values: Record<SummaryDimension, Record<string, number>> = {
    type: {},
    source: {},
    status: {},
    risk: {},
    account: {},
    owner: {},
    expiry: {},
  };
  for (const [name, count] of Object.entries(counters)) {
    const parsed = parseCounterName(name);
    if (parsed === undefined || count <= 0) continue;
    const slot = values[parsed.dimension];
    slot[parsed.value] = (slot[parsed.value] ?? 0) + count;
  }
  const every = (known: readonly string[], counts: Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const value of known) out[value] = counts[value] ?? 0;
    // A value the catalog does not know (yet) is still shown rather than silently dropped.
    for (const [value, count] of Object.entries(counts)) if (!(value in out)) out[value] = count;
    return out;
  };
  const byType = every(DISCOVERED_TYPES, values.type);
  const sortedAccounts = Object.keys(values.account).sort();
  return {
    total: Object.values(byType).reduce((sum, count) => sum + count, 0),
    byType,
    bySource: every(IDENTITY_SOURCES, values.source),
    byStatus: every(ALL_IDENTITY_STATUSES, values.status),
    byRisk: every(RISK_LEVELS, values.risk),
    byAccount: Object.fromEntries(sortedAccounts.map((account) => [account, values.account[account] ?? 0])),
    topOwners: Object.entries(values.owner)
      .map(([owner, count]) => ({ owner, count }))
      .sort((a, b) => b.count - a.count || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0))
      .slice(0, TOP_OWNERS),
    expiry: expiryBuckets(values.expiry, now),
    ...(asOf === undefined ? {} : { asOf }),
  };
}
