import { AWS_DISCOVERY_SOURCES, type DiscoverySourceName, GLOBAL_REGION } from '#lib/domain/discovery.ts';
import { type DiscoveryRun, newRunId, type RunPart, ZERO_COUNTS } from '#lib/domain/discovery-run.ts';
import { ConflictError, ControlPlaneError, ValidationError } from '#lib/domain/errors.ts';
import { TLS_ACCOUNT } from '#lib/domain/tls-discovery.ts';
import { TlsTargetError } from '#lib/domain/tls-targets.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import type { DiscoveryRunStore, DiscoveryUnit, DiscoveryWorkQueue, TlsUnitWork } from '#lib/ports/discovery-runs.ts';
import type { DiscoverySource } from '#lib/ports/discovery-source.ts';
import { discoverScope } from './discover-scope.ts';
import {
  type DiscoverTlsEndpointsDeps,
  discoverTlsEndpoints,
  planTlsUnits,
  type TlsScanPlanDeps,
} from './discover-tls-endpoints.ts';

/** The sources that are read once per account rather than per region. */
const GLOBAL_SOURCES: ReadonlySet<DiscoverySourceName> = new Set(['aws-iam']);

/** What a run may cover: the accounts (with the role to read each through) and regions, or why none can be read. */
export type DiscoveryPlan =
  | {
      readonly accounts: ReadonlyArray<{ readonly accountId: string; readonly roleArn: string | undefined }>;
      readonly regions: readonly string[];
    }
  | { readonly unavailable: string };

export interface StartDiscoveryRunDeps {
  readonly runs: DiscoveryRunStore;
  readonly queue: DiscoveryWorkQueue;
  readonly clock: Clock;
  /** Resolves the configured accounts and regions (STS, Organizations), or says why AWS cannot be read. */
  readonly plan: () => Promise<DiscoveryPlan>;
  readonly randomId: () => string;
  /** TLS scanning: the configured targets, the allowed ranges and the resolver (names are resolved once, here). */
  readonly tls: TlsScanPlanDeps & { readonly targets: readonly string[] };
}

/**
 * Starts a run: one part per AWS source, account and region (one per account for IAM), and the TLS scan of the
 * request's targets (else the configured ones) in parts of at most 256 addresses, recorded as pending, then handed to
 * the workers as units. A request may narrow the sources and accounts; an account the configuration does not list, or
 * a TLS target that is malformed, too many or outside the allowed ranges, is refused before anything is written or
 * scanned. Without sources, a run reads every AWS source, and scans TLS when targets are configured. When AWS cannot
 * be read at all (no credentials), every AWS part is recorded as skipped with the reason.
 * @throws ValidationError `ACCOUNT_NOT_CONFIGURED`, `TARGETS_REQUIRED`; TlsTargetError `TARGET_INVALID`,
 * `TARGETS_TOO_MANY`, `TARGET_NOT_ALLOWED`.
 */
export async function startDiscoveryRun(
  deps: StartDiscoveryRunDeps,
  request: {
    readonly by: string;
    readonly trigger: DiscoveryRun['trigger'];
    readonly sources?: readonly DiscoverySourceName[] | undefined;
    readonly accounts?: readonly string[] | undefined;
    /** TLS targets of this run only (instead of the configured ones). */
    readonly tlsTargets?: readonly string[] | undefined;
  },
): Promise<DiscoveryRun> {
  const targets = request.tlsTargets ?? deps.tls.targets;
  const scanTls = request.sources === undefined ? targets.length > 0 : request.sources.includes('tls');
  if (request.tlsTargets !== undefined && !scanTls) {
    throw new ValidationError('TLS_NOT_REQUESTED', 'TLS targets were given, but "tls" is not among the sources.');
  }
  if (scanTls && targets.length === 0) {
    throw new ValidationError(
      'TARGETS_REQUIRED',
      'Nothing to scan: give tls.targets in the request, or set discovery.tls.targets in the configuration.',
    );
  }
  // Every TLS target is checked (and every name resolved) before anything is written. A request's targets that fail
  // refuse the request; the configuration's (a scheduled run) skip the TLS part with the reason, and AWS is still read.
  let tlsWork: TlsUnitWork[] = [];
  let tlsSkipped: string | undefined;
  try {
    tlsWork = scanTls ? await planTlsUnits(deps.tls, targets) : [];
  } catch (error) {
    if (request.tlsTargets !== undefined || !(error instanceof TlsTargetError)) throw error;
    tlsSkipped = `${error.message} Fix discovery.tls in the configuration.`;
  }
  const awsSources = (request.sources ?? AWS_DISCOVERY_SOURCES).filter((s) => s !== 'tls');
  const parts: RunPart[] = awsSources.length === 0 ? [] : await awsParts(deps, awsSources, request.accounts);
  const tlsParts = tlsWork.map(
    (_work, i): RunPart => ({
      source: 'tls',
      account: TLS_ACCOUNT,
      region: tlsPartName(i, tlsWork.length),
      status: 'pending',
      counts: ZERO_COUNTS,
    }),
  );
  const skippedTls: RunPart[] =
    tlsSkipped === undefined
      ? []
      : [
          {
            source: 'tls',
            account: TLS_ACCOUNT,
            region: 'targets',
            status: 'skipped',
            reason: tlsSkipped,
            counts: ZERO_COUNTS,
          },
        ];
  const now = deps.clock.now();
  const run: DiscoveryRun = {
    runId: newRunId(now, deps.randomId()),
    startedAt: now.toISOString(),
    startedBy: request.by,
    trigger: request.trigger,
    parts: [...parts, ...tlsParts, ...skippedTls],
  };
  await deps.runs.createRun(run);
  await deps.queue.enqueue([
    ...parts
      .filter((p) => p.status === 'pending')
      .map((p) => ({ runId: run.runId, source: p.source, account: p.account, region: p.region, roleArn: p.roleArn })),
    ...tlsParts.map((p, i) => ({
      runId: run.runId,
      source: p.source,
      account: p.account,
      region: p.region,
      tls: tlsWork[i],
    })),
  ]);
  return run;
}

/** The name of a run's i-th tls part: `endpoints-<n>-of-<total>`. */
function tlsPartName(index: number, total: number): string {
  return `endpoints-${index + 1}-of-${total}`;
}

/** The parts of the AWS sources: one per source, account and region (IAM once per account), or skipped. */
async function awsParts(
  deps: StartDiscoveryRunDeps,
  sources: readonly DiscoverySourceName[],
  requestedAccounts: readonly string[] | undefined,
): Promise<RunPart[]> {
  const plan = await deps.plan();
  if ('unavailable' in plan) {
    return sources.map((source) => ({
      source,
      account: requestedAccounts?.[0] ?? 'unknown',
      region: 'unknown',
      status: 'skipped',
      reason: plan.unavailable,
      counts: ZERO_COUNTS,
    }));
  }
  const known = new Set(plan.accounts.map((a) => a.accountId));
  const unknown = (requestedAccounts ?? []).filter((a) => !known.has(a));
  if (unknown.length > 0) {
    throw new ValidationError(
      'ACCOUNT_NOT_CONFIGURED',
      `Account ${unknown.join(', ')} is not one discovery reads; add it to discovery.aws.accounts in the configuration.`,
      { details: { accounts: unknown } },
    );
  }
  const accounts = requestedAccounts
    ? plan.accounts.filter((a) => requestedAccounts.includes(a.accountId))
    : plan.accounts;
  return accounts.flatMap((account) =>
    sources.flatMap((source) =>
      (GLOBAL_SOURCES.has(source) ? [GLOBAL_REGION] : plan.regions).map(
        (region): RunPart => ({
          source,
          account: account.accountId,
          region,
          roleArn: account.roleArn,
          status: 'pending',
          counts: ZERO_COUNTS,
        }),
      ),
    ),
  );
}

export interface RunDiscoveryUnitDeps {
  readonly runs: DiscoveryRunStore;
  readonly inventory: DiscoveredInventory;
  readonly clock: Clock;
  /** The source of the unit, with the account's credentials (throws with the reason when they cannot be had). */
  readonly sourceFor: (unit: DiscoveryUnit) => Promise<DiscoverySource>;
  readonly missingAfterRuns: number;
  /** Progress is written to the run at most this often. */
  readonly progressEveryMs?: number;
  /** What a tls unit scans with and writes to (absent: this worker cannot scan, and such a unit's part fails). */
  readonly tls?: Omit<DiscoverTlsEndpointsDeps, 'runs' | 'clock' | 'missingAfterRuns' | 'discovered'> | undefined;
}

/** A reason fit for the run report: the public message of our errors, else the error's name and message, bounded. */
function reasonOf(error: unknown): string {
  if (error instanceof ControlPlaneError) return error.message;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * One unit of work: reads its source in its account and region into the inventory and records the part's outcome. A
 * failure of the source (access denied, throttled past the retries, no credentials for the account) fails this part
 * only, with its reason; a conflict with another writer is thrown so that the queue delivers the unit again.
 */
export async function runDiscoveryUnit(deps: RunDiscoveryUnitDeps, unit: DiscoveryUnit): Promise<RunPart> {
  const base = { source: unit.source, account: unit.account, region: unit.region, roleArn: unit.roleArn };
  // A unit delivered again continues after the last page its previous delivery wrote.
  const previous = await deps.runs.getPart(unit.runId, unit);
  const resumeFrom = previous?.status === 'running' ? previous.resumeFrom : undefined;
  const startedAt = previous?.startedAt ?? deps.clock.now().toISOString();
  await deps.runs.updatePart(unit.runId, { ...base, status: 'running', counts: ZERO_COUNTS, startedAt, resumeFrom });
  let lastProgress = Date.now();
  try {
    if (unit.source === 'tls') return await runTlsUnit(deps, unit, { ...base, startedAt });
    const source = await deps.sourceFor(unit);
    const counts = await discoverScope(
      { source, inventory: deps.inventory, clock: deps.clock },
      { source: unit.source, account: unit.account, region: unit.region },
      {
        missingAfterRuns: deps.missingAfterRuns,
        resumeFrom,
        scopeLastReadAt: await deps.runs.lastScopeRead(unit),
        onProgress: (progress, marker) => {
          if (Date.now() - lastProgress < (deps.progressEveryMs ?? 5_000)) return;
          lastProgress = Date.now();
          void deps.runs
            .recordProgress(unit.runId, {
              ...base,
              status: 'running',
              counts: countsOf(progress),
              startedAt,
              resumeFrom: marker,
            })
            .catch(() => undefined);
        },
      },
    );
    const part: RunPart = {
      ...base,
      status: 'succeeded',
      counts: countsOf(counts),
      startedAt,
      finishedAt: deps.clock.now().toISOString(),
    };
    await deps.runs.updatePart(unit.runId, part);
    return part;
  } catch (error) {
    if (error instanceof ConflictError) throw error;
    const part: RunPart = {
      ...base,
      status: 'failed',
      reason: reasonOf(error),
      counts: ZERO_COUNTS,
      startedAt,
      finishedAt: deps.clock.now().toISOString(),
    };
    await deps.runs.updatePart(unit.runId, part);
    return part;
  }
}

/** A tls unit: scans its endpoints, and records the part with every endpoint's outcome. */
async function runTlsUnit(
  deps: RunDiscoveryUnitDeps,
  unit: DiscoveryUnit,
  base: Pick<RunPart, 'source' | 'account' | 'region' | 'roleArn' | 'startedAt'>,
): Promise<RunPart> {
  if (deps.tls === undefined || unit.tls === undefined) {
    throw new Error(unit.tls === undefined ? 'The unit names no endpoints.' : 'This worker cannot scan TLS endpoints.');
  }
  const outcome = await discoverTlsEndpoints(
    {
      ...deps.tls,
      discovered: deps.inventory,
      runs: deps.runs,
      clock: deps.clock,
      missingAfterRuns: deps.missingAfterRuns,
    },
    unit.tls,
  );
  const part: RunPart = {
    ...base,
    status: 'succeeded',
    counts: outcome.counts,
    finishedAt: deps.clock.now().toISOString(),
    endpoints: outcome.endpoints,
  };
  await deps.runs.updatePart(unit.runId, part);
  return part;
}

function countsOf(counts: { seen: number; new: number; changed: number; missing: number; reappeared: number }) {
  return {
    seen: counts.seen,
    new: counts.new,
    changed: counts.changed,
    missing: counts.missing,
    reappeared: counts.reappeared,
  };
}

/**
 * Records a unit that will not be tried again (its deliveries are spent) as a failed part, so that the run completes
 * and says why, rather than showing the part running forever.
 */
export async function giveUpDiscoveryUnit(
  deps: Pick<RunDiscoveryUnitDeps, 'runs' | 'clock'>,
  unit: DiscoveryUnit,
  attempts: number,
  error: unknown,
): Promise<RunPart> {
  const part: RunPart = {
    source: unit.source,
    account: unit.account,
    region: unit.region,
    roleArn: unit.roleArn,
    status: 'failed',
    reason: `Given up after ${attempts} attempts: ${reasonOf(error)}`,
    counts: ZERO_COUNTS,
    finishedAt: deps.clock.now().toISOString(),
  };
  await deps.runs.updatePart(unit.runId, part);
  return part;
}
