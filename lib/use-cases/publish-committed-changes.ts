import { type CatalogEvent, EVENT_SOURCE, parseCatalogEvent } from '#events/catalog.ts';
import { canonicalJson, type DiscoveredIdentity } from '#lib/domain/discovery.ts';
import { type DiscoveryRunSummary, tallyStatus } from '#lib/domain/discovery-run.ts';
import type { AuditRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import { RISK_RULES } from '#lib/domain/risk/rules.ts';
import type { EventPublisher, StreamedChange } from '#lib/ports/event-publisher.ts';

const split = (list: string | number | boolean | undefined): string[] =>
  typeof list === 'string' && list !== '' ? list.split(',') : [];
const text = (value: string | number | boolean | undefined): string => (value === undefined ? '' : String(value));
const targetId = (target: string): string => target.slice(target.indexOf('/') + 1);

/**
 * The catalog event an audit entry stands for, its detail checked against the catalog's schema: the entry's id is the
 * event id consumers deduplicate by.
 * @throws Error when the entry lacks what its event needs (a record the publisher cannot turn into an event).
 */
export function eventFromAudit(audit: AuditRecord): CatalogEvent {
  const common = { version: 1, eventId: audit.eventId, occurredAt: audit.at, actor: audit.actor };
  const d = audit.details;
  const event = (detailType: string, detail: Record<string, unknown>) =>
    parseCatalogEvent({ source: EVENT_SOURCE, detailType, detail: { ...common, ...detail } });
  switch (audit.action) {
    case 'CertificateIssued':
      return event('CertificateIssued', {
        serialNumber: targetId(audit.target),
        identityId: text(d.identityId),
        policy: text(d.policy),
        fingerprintSha256: text(d.fingerprintSha256),
        names: split(d.names),
        notAfter: text(d.notAfter),
        ...(d.enrollmentToken === undefined ? {} : { enrollmentTokenId: text(d.enrollmentToken) }),
      });
    case 'CertificateRevoked':
      return event('CertificateRevoked', {
        serialNumber: targetId(audit.target),
        identityId: text(d.identityId),
        reason: text(d.reason),
        fingerprintSha256: text(d.fingerprintSha256),
      });
    case 'PolicyCreated':
    case 'PolicyUpdated':
    case 'PolicyDeleted':
      return event('PolicyChanged', {
        policy: targetId(audit.target),
        change: audit.action === 'PolicyCreated' ? 'created' : audit.action === 'PolicyUpdated' ? 'updated' : 'deleted',
        policyVersion: Number(d.version),
        source: text(d.source),
      });
    case 'EnrollmentTokenCreated':
      return event('EnrollmentTokenCreated', {
        tokenId: targetId(audit.target),
        policy: text(d.policy),
        names: split(d.names),
        expiresAt: text(d.expiresAt),
      });
    case 'CaBootstrapped':
      return event('CaBootstrapped', { caId: targetId(audit.target) });
    case 'IdentitiesImported':
      return event('IdentitiesImported', {
        lines: Number(d.lines),
        created: Number(d.created),
        changed: Number(d.changed),
        unchanged: Number(d.unchanged),
      });
    case 'IdentityUpdated':
      return event('IdentityUpdated', {
        identityId: targetId(audit.target),
        fields: split(d.fields),
        identityVersion: Number(d.version),
      });
  }
}

/**
 * The event a write of a discovered identity stands for, or undefined when it is not news (a growing missed-run
 * streak). Its id, `<identityId>:v<version>`, is the same however often the record is delivered.
 */
export function eventFromDiscovered(
  before: DiscoveredIdentity | undefined,
  after: DiscoveredIdentity,
): CatalogEvent | undefined {
  const detail = {
    version: 1,
    eventId: `${after.identityId}:v${after.version}`,
    occurredAt: after.changedAt,
    actor: 'discovery',
    identityId: after.identityId,
    type: after.type,
    source: after.source,
    arn: after.arn,
    name: after.name,
    account: after.account,
    region: after.region,
    ...(after.owner === undefined ? {} : { owner: after.owner }),
  };
  const event = (detailType: string, extra: Record<string, unknown> = {}) =>
    parseCatalogEvent({ source: EVENT_SOURCE, detailType, detail: { ...detail, ...extra } });
  if (before === undefined) return event('IdentityDiscovered');
  if (before.status === 'active' && after.status === 'missing')
    return event('IdentityMissing', { missedRuns: after.missedRuns });
  if (before.status !== 'active' && after.status === 'active') return event('IdentityReappeared');
  if (before.observationHash === after.observationHash) return undefined;
  const keys = new Set([...Object.keys(before.facts), ...Object.keys(after.facts)]);
  return event('IdentityChanged', {
    changedFacts: [...keys]
      .filter((k) => canonicalJson(before.facts[k] ?? null) !== canonicalJson(after.facts[k] ?? null))
      .sort(),
    nameChanged: before.name !== after.name,
    tagsChanged: canonicalJson(before.tags) !== canonicalJson(after.tags),
  });
}

/**
 * The event a write of a discovery run's record stands for: `DiscoveryRunCompleted` when it is the write that finished
 * the run (its status, from the tally its parts keep, goes from `running`, or from nothing, to a final one), else
 * undefined (a part ending before others, or a write to a run already finished). Its id, `<runId>:completed`, is the same however often the record is delivered;
 * a run that a late redelivered unit reopens and finishes again gets the same id, so consumers see its first finish.
 */
export function eventFromDiscoveryRun(
  before: DiscoveryRunSummary | undefined,
  after: DiscoveryRunSummary,
): CatalogEvent | undefined {
  const status = tallyStatus(after.tally);
  if (status === 'running') return undefined;
  if (before !== undefined && tallyStatus(before.tally) !== 'running') return undefined;
  const completedAt = after.tally.finishedAt ?? after.startedAt;
  return parseCatalogEvent({
    source: EVENT_SOURCE,
    detailType: 'DiscoveryRunCompleted',
    detail: {
      version: 1,
      eventId: `${after.runId}:completed`,
      occurredAt: completedAt,
      actor: after.startedBy,
      runId: after.runId,
      status,
      trigger: after.trigger,
      startedAt: after.startedAt,
      completedAt,
      parts: { succeeded: after.tally.succeeded, failed: after.tally.failed, skipped: after.tally.skipped },
      counts: after.tally.counts,
    },
  });
}

/**
 * `IdentityRiskChanged` when a write moved an identity's risk level (from none when it had no assessment), with the
 * findings it now has; undefined otherwise. Its id, `<identityId>:v<version>:risk`, is stable across deliveries.
 */
export function riskEventOf(
  before: (IdentityRecord | DiscoveredIdentity) | undefined,
  after: IdentityRecord | DiscoveredIdentity,
  occurredAt: string,
): CatalogEvent | undefined {
  if (after.risk === undefined) return undefined;
  const previousLevel = before?.risk?.level ?? 'none';
  if (previousLevel === after.risk.level) return undefined;
  const severityOf = new Map(RISK_RULES.map((rule) => [rule.code, rule.severity]));
  return parseCatalogEvent({
    source: EVENT_SOURCE,
    detailType: 'IdentityRiskChanged',
    detail: {
      version: 1,
      eventId: `${after.identityId}:v${after.version}:risk`,
      occurredAt,
      actor: 'risk',
      identityId: after.identityId,
      type: after.type,
      source: after.source,
      previousLevel,
      level: after.risk.level,
      score: after.risk.score,
      findings: after.risk.rules.map((rule) => ({ rule, severity: severityOf.get(rule) ?? 'low' })),
    },
  });
}

/**
 * Publishes the events of a run of stream records, in stream order, and says where the stream must resume: at the
 * first record whose event was not put (or could not be made), so that it and everything after it come again. Events
 * after that point that were put will then be put again: consumers deduplicate by event id.
 * @returns `resumeAt`: the position of the first record not done, or undefined when all are done.
 */
export async function publishCommittedChanges(
  deps: { readonly publisher: EventPublisher },
  changes: readonly StreamedChange[],
): Promise<{ readonly resumeAt: string | undefined; readonly published: number }> {
  const events: Array<{ position: string; event: CatalogEvent }> = [];
  let resumeAt: string | undefined;
  for (const change of changes) {
    try {
      const made = change.audit
        ? [eventFromAudit(change.audit)]
        : change.discovered
          ? [
              eventFromDiscovered(change.discovered.before, change.discovered.after),
              riskEventOf(change.discovered.before, change.discovered.after, change.discovered.after.changedAt),
            ]
          : change.issued
            ? [riskEventOf(change.issued.before, change.issued.after, change.issued.after.updatedAt)]
            : change.discoveryRun
              ? [eventFromDiscoveryRun(change.discoveryRun.before, change.discoveryRun.after)]
              : [];
      for (const event of made) if (event) events.push({ position: change.position, event });
    } catch {
      // Publish what comes before it; this record is retried and, failing again, dead-lettered.
      resumeAt = change.position;
      break;
    }
  }
  if (events.length === 0) return { resumeAt, published: 0 };
  const { failedEventIds } = await deps.publisher.publish(events.map((e) => e.event));
  const failed = new Set(failedEventIds);
  const firstFailed = events.find((e) => failed.has(e.event.detail.eventId));
  return {
    resumeAt: firstFailed?.position ?? resumeAt,
    published: events.length - failed.size,
  };
}
