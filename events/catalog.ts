import { z } from 'zod';

/**
 * The event catalog: every event the control plane puts on its bus, with a versioned schema for each detail-type.
 * Events are derived from committed writes (the inventory table's stream), never sent from a request path, and are
 * delivered at least once: consumers deduplicate by `detail.eventId`, which is the id of the audit entry or inventory
 * change the event was derived from (EventBridge's own envelope `id` differs on every delivery attempt).
 */

/** The `source` of every event of this control plane. */
export const EVENT_SOURCE = 'mim.control-plane';

const timestamp = z.iso.datetime();
const serial = z.string().regex(/^[0-9a-f]+$/);
const fingerprint = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().nonnegative();

/** What every detail carries: its schema version, the id consumers deduplicate by, when and who. */
const common = {
  version: z.literal(1),
  eventId: z.string().min(1),
  occurredAt: timestamp,
  actor: z.string(),
};

/** What every event about a discovered identity says of it (never its facts: read them from the inventory). */
const discovered = {
  identityId: z.string().min(1),
  type: z.string(),
  source: z.string(),
  arn: z.string(),
  name: z.string(),
  account: z.string(),
  region: z.string(),
  owner: z.string().optional(),
};

/** Detail schemas by detail-type; a detail-type is a past-tense fact. A breaking change is a new `version`. */
export const EVENT_DETAIL_SCHEMAS = {
  CertificateIssued: z.strictObject({
    ...common,
    serialNumber: serial,
    identityId: z.string().min(1),
    policy: z.string(),
    fingerprintSha256: fingerprint,
    names: z.array(z.string()),
    notAfter: timestamp,
    enrollmentTokenId: z.string().optional(),
  }),
  CertificateRevoked: z.strictObject({
    ...common,
    serialNumber: serial,
    identityId: z.string().min(1),
    reason: z.string(),
    fingerprintSha256: fingerprint,
  }),
  PolicyChanged: z.strictObject({
    ...common,
    policy: z.string(),
    change: z.enum(['created', 'updated', 'deleted']),
    policyVersion: z.number().int().positive(),
    /** `config` when the deployment seeded it from the configuration file, `api` when an admin changed it. */
    source: z.string(),
  }),
  EnrollmentTokenCreated: z.strictObject({
    ...common,
    tokenId: z.string().regex(/^[0-9a-f]{16}$/),
    policy: z.string(),
    names: z.array(z.string()),
    expiresAt: timestamp,
  }),
  CaBootstrapped: z.strictObject({ ...common, caId: z.string().min(1) }),
  /** Someone set an identity's owner, purpose or tags (`PATCH /v1/identities/{id}`). */
  IdentityUpdated: z.strictObject({
    ...common,
    identityId: z.string().min(1),
    /** The fields the change named: some of `owner`, `purpose`, `tags`. */
    fields: z.array(z.enum(['owner', 'purpose', 'tags'])),
    /** The identity's version after the change. */
    identityVersion: z.number().int().positive(),
  }),
  /**
   * An admin imported identities kept elsewhere (`POST /v1/identities/import`) and it changed the inventory: the
   * counts of the import (each identity it created or changed also publishes its own `IdentityDiscovered` or
   * `IdentityChanged`).
   */
  IdentitiesImported: z.strictObject({
    ...common,
    lines: count,
    created: count,
    changed: count,
    unchanged: count,
  }),
  /** An identity's risk level moved (a write changed its facts, its status, its owner, or time crossed a threshold). */
  IdentityRiskChanged: z.strictObject({
    ...common,
    identityId: z.string().min(1),
    type: z.string(),
    source: z.string(),
    previousLevel: z.enum(['none', 'low', 'medium', 'high', 'critical']),
    level: z.enum(['none', 'low', 'medium', 'high', 'critical']),
    score: z.number().int().min(0).max(100),
    /** The rules that fire now, by code and severity; `GET /v1/identities/{id}` explains each. */
    findings: z.array(z.strictObject({ rule: z.string(), severity: z.enum(['low', 'medium', 'high', 'critical']) })),
  }),
  IdentityDiscovered: z.strictObject({ ...common, ...discovered }),
  IdentityChanged: z.strictObject({
    ...common,
    ...discovered,
    /** Top-level facts that differ, and whether the name or tags changed. */
    changedFacts: z.array(z.string()),
    nameChanged: z.boolean(),
    tagsChanged: z.boolean(),
  }),
  IdentityMissing: z.strictObject({ ...common, ...discovered, missedRuns: z.number().int().positive() }),
  IdentityReappeared: z.strictObject({ ...common, ...discovered }),
  /**
   * A discovery run finished: its last part to finish did (or it had nothing to run). `actor` is who started it;
   * `eventId` is `<runId>:completed`. Totals only: each part's outcome and reason are in `GET /v1/discovery/runs/{id}`.
   */
  DiscoveryRunCompleted: z.strictObject({
    ...common,
    runId: z.string().min(1),
    status: z.enum(['completed', 'partial', 'failed']),
    trigger: z.enum(['api', 'schedule']),
    startedAt: timestamp,
    /** When its last part finished (its start, when every part was skipped). */
    completedAt: timestamp,
    /** The parts by how they ended. */
    parts: z.strictObject({ succeeded: count, failed: count, skipped: count }),
    /** The parts' counts, summed. */
    counts: z.strictObject({ seen: count, new: count, changed: count, missing: count, reappeared: count }),
  }),
} as const;

export type DetailType = keyof typeof EVENT_DETAIL_SCHEMAS;
export const DETAIL_TYPES = Object.keys(EVENT_DETAIL_SCHEMAS) as DetailType[];
export type EventDetail<T extends DetailType = DetailType> = z.output<(typeof EVENT_DETAIL_SCHEMAS)[T]>;

/** An event as the control plane publishes it, before the bus adds its envelope. */
export type CatalogEvent = {
  [T in DetailType]: { readonly source: typeof EVENT_SOURCE; readonly detailType: T; readonly detail: EventDetail<T> };
}[DetailType];

/** Validates an event against the catalog: the detail must match its detail-type's schema exactly. */
export function parseCatalogEvent(input: { source: string; detailType: string; detail: unknown }): CatalogEvent {
  if (input.source !== EVENT_SOURCE) throw new Error(`not an event of this control plane: source ${input.source}`);
  if (!(input.detailType in EVENT_DETAIL_SCHEMAS)) throw new Error(`unknown detail-type ${input.detailType}`);
  const detailType = input.detailType as DetailType;
  const detail = EVENT_DETAIL_SCHEMAS[detailType].parse(input.detail);
  return { source: EVENT_SOURCE, detailType, detail } as CatalogEvent;
}

/**
 * An event as a consumer receives it from EventBridge (or from the local bus, which builds the same envelope). Parse
 * with this, then with {@link parseCatalogEvent}: the detail is checked against its detail-type's schema.
 */
export const busEventSchema = z.object({
  version: z.string(),
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: timestamp,
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.unknown(),
});
export type BusEvent = z.infer<typeof busEventSchema>;
