import { z } from 'zod';
import { DISCOVERED_TYPES } from '#lib/domain/discovery.ts';
import { ALL_IDENTITY_STATUSES, IDENTITY_SOURCES } from '#lib/domain/identity-catalog.ts';
import { RISK_LEVELS } from '#lib/domain/risk/levels.ts';

const count = z.number().int().nonnegative();

/** Every value of an enumeration, each with its count. */
const everyOf = (values: readonly string[]) =>
  z.strictObject(Object.fromEntries(values.map((value) => [value, count])));

/**
 * The answer of `GET /v1/inventory/summary`, as the API description states it. `summaryView` in
 * `lib/domain/inventory-summary.ts` builds it; a unit test parses what it builds with this schema.
 */
export const inventorySummaryResponse = z
  .strictObject({
    total: count.describe('every identity, issued and discovered, whatever its status'),
    byType: everyOf(DISCOVERED_TYPES).describe('every type, zeros included'),
    bySource: everyOf(IDENTITY_SOURCES).describe('every source, zeros included'),
    byStatus: everyOf(ALL_IDENTITY_STATUSES).describe('every status, zeros included'),
    byRisk: everyOf(RISK_LEVELS).describe('every risk level (none: nothing fired or not assessed), zeros included'),
    byAccount: z
      .record(z.string(), count)
      .describe('discovered identities by AWS account (imported ones under "imported"); accounts with none left out'),
    topOwners: z
      .array(z.strictObject({ owner: z.string(), count }))
      .max(20)
      .describe('the 20 owners with the most identities, most first, ties by name'),
    expiry: z
      .strictObject({
        expired: count.describe('expired on a UTC day before today'),
        under7d: count.describe('expiring today or within the next 6 UTC days'),
        under30d: count.describe('expiring 7 to 29 days from today'),
        under90d: count.describe('expiring 30 to 89 days from today'),
        later: count.describe('expiring 90 days from today or later'),
      })
      .describe('active certificates (issued, and discovered ones whose notAfter is known) by UTC day of expiry'),
    asOf: z.iso.datetime().optional().describe('when the counters last changed; absent when nothing was counted'),
  })
  .describe('counts kept current from committed changes (eventually consistent: a change counts within seconds)');
