import {
  afterMissed,
  afterSeen,
  type DiscoveredIdentity,
  type DiscoveryChange,
  discoveredIdentityId,
  isDiscoveredIdentityId,
  type Observation,
} from '#lib/domain/discovery.ts';
import type { PartCounts } from '#lib/domain/discovery-run.ts';
import { ConflictError } from '#lib/domain/errors.ts';
import type { IdentityRecord } from '#lib/domain/inventory.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfIssued, sameRisk, storedRiskOf, withAssessedRisk } from '#lib/domain/risk/subject.ts';
import {
  type EndpointReport,
  type LocationScan,
  nextServedEndpoints,
  type ServedEndpoint,
  sameServedEndpoints,
  servedEndpointFacts,
  servedEndpointsOf,
  servedSummary,
  TLS_ACCOUNT,
  TLS_ENDPOINTS_PER_UNIT,
  TLS_REGION,
  tlsLocationOf,
  type UnresolvedName,
} from '#lib/domain/tls-discovery.ts';
import {
  assertTargetsAllowed,
  checkAllowed,
  expandTargets,
  MAX_SCAN_ADDRESSES,
  TlsTargetError,
} from '#lib/domain/tls-targets.ts';
import type { PresentedCertificate } from '#lib/pki/describe-certificate.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import type { DiscoveryRunStore, TlsUnitWork } from '#lib/ports/discovery-runs.ts';
import type { NameResolver, Resolution, TlsDial, TlsScanner } from '#lib/ports/tls-scanner.ts';
import { certificateArn, certificateFacts, certificateName } from './certificate-facts.ts';
import { refreshSharedKeys } from './shared-keys.ts';

/** At most this many addresses of one name are scanned (in resolver order). */
const MAX_ADDRESSES_PER_NAME = 16;

/** What a run scans: the targets, and the only ranges it may connect to. */
export interface TlsScanPlanDeps {
  readonly allowedRanges: readonly string[];
  readonly resolve: NameResolver;
}

/**
 * Turns a run's targets into its tls units, refusing the whole request before anything is scanned when one target is
 * malformed (`TARGET_INVALID`), the targets hold more than 4,096 addresses (`TARGETS_TOO_MANY`, names counted by
 * the addresses they resolve to), or an address, a range or an address a name resolves to lies outside the allowed
 * ranges (`TARGET_NOT_ALLOWED`). Names are resolved here, once: the units dial the addresses checked here and never
 * resolve again. A name that does not resolve is scanned as `unreachable` (or `timeout`). The dials of one location
 * stay in one unit, and a unit holds at most {@link TLS_ENDPOINTS_PER_UNIT} of them.
 * @throws TlsTargetError
 */
export async function planTlsUnits(deps: TlsScanPlanDeps, targets: readonly string[]): Promise<TlsUnitWork[]> {
  const endpoints = expandTargets(targets);
  if (deps.allowedRanges.length === 0 && endpoints.length > 0) {
    throw new TlsTargetError(
      'TARGET_NOT_ALLOWED',
      'The scanner may connect nowhere: discovery.tls.allowedRanges is empty. Set the ranges it may scan in the configuration.',
      { target: targets[0]?.slice(0, 256) ?? '' },
    );
  }
  assertTargetsAllowed(targets, deps.allowedRanges);
  const names = endpoints.flatMap((e) => (e.host === undefined ? [] : [e.host]));
  const resolved: ReadonlyMap<string, Resolution> = names.length === 0 ? new Map() : await deps.resolve(names);
  const groups: TlsDial[][] = [];
  const unresolved: UnresolvedName[] = [];
  let count = 0;
  for (const endpoint of endpoints) {
    if (endpoint.host === undefined) {
      groups.push([{ address: endpoint.address ?? '', port: endpoint.port }]);
      count++;
      continue;
    }
    const host = endpoint.host;
    const resolution = resolved.get(host);
    if (resolution === undefined || 'code' in resolution || resolution.addresses.length === 0) {
      const code = resolution !== undefined && 'code' in resolution ? resolution.code : 'ENOTFOUND';
      unresolved.push({
        host,
        port: endpoint.port,
        outcome: code === 'ETIMEDOUT' || code === 'ETIMEOUT' ? 'timeout' : 'unreachable',
        code,
      });
      continue;
    }
    const addresses = [...new Set(resolution.addresses)].slice(0, MAX_ADDRESSES_PER_NAME);
    for (const address of addresses) {
      if (!checkAllowed(address, deps.allowedRanges)) {
        throw new TlsTargetError(
          'TARGET_NOT_ALLOWED',
          `The target "${host}:${endpoint.port}" is not allowed: the name resolves to ${address}, outside the allowed ranges.`,
          { target: `${host}:${endpoint.port}`, address },
        );
      }
    }
    groups.push(addresses.map((address) => ({ host, address, port: endpoint.port })));
    count += addresses.length;
  }
  if (count > MAX_SCAN_ADDRESSES) {
    throw new TlsTargetError(
      'TARGETS_TOO_MANY',
      `The targets resolve to ${count} addresses; one run scans at most ${MAX_SCAN_ADDRESSES}. Split the targets.`,
      { count, limit: MAX_SCAN_ADDRESSES },
    );
  }
  // A unit holds at most TLS_ENDPOINTS_PER_UNIT entries, dials and unresolved names alike (so that its queue message
  // stays small), and a location's dials are never split.
  const units: Array<{ dials: TlsDial[]; unresolved: UnresolvedName[] }> = [];
  let current = { dials: [] as TlsDial[], unresolved: [] as UnresolvedName[] };
  const size = () => current.dials.length + current.unresolved.length;
  const room = (n: number) => {
    if (size() > 0 && size() + n > TLS_ENDPOINTS_PER_UNIT) {
      units.push(current);
      current = { dials: [], unresolved: [] };
    }
  };
  for (const group of groups) {
    room(group.length);
    current.dials.push(...group);
  }
  for (const name of unresolved) {
    room(1);
    current.unresolved.push(name);
  }
  if (size() > 0) units.push(current);
  return units;
}

export interface DiscoverTlsEndpointsDeps {
  readonly scanner: TlsScanner;
  readonly discovered: Pick<DiscoveredInventory, 'get' | 'getMany' | 'write' | 'keyHolders'>;
  readonly issued: Pick<CertificateInventory, 'getCertificate' | 'getIdentity' | 'recordRiskUpdate'>;
  readonly runs: Pick<DiscoveryRunStore, 'locationScans' | 'recordLocationScans'>;
  readonly clock: Clock;
  readonly missingAfterRuns: number;
}

/** What a tls unit found: its counts and every endpoint it scanned. */
export interface TlsUnitOutcome {
  readonly counts: PartCounts;
  readonly endpoints: readonly EndpointReport[];
  /** Identities written (new, changed, missed) and location scans recorded. */
  readonly writes: number;
}

/** One certificate the unit saw: the leaf, its chain as presented, and where. */
interface Sighting {
  readonly leaf: PresentedCertificate;
  readonly chain: readonly PresentedCertificate[];
  readonly served: ServedEndpoint[];
  /** Its chain leads to our CA by signatures: it may be one this plane issued. */
  readonly ours: boolean;
}

/** An identity's write is tried again this often when another unit changed it first. */
const SETTLE_ATTEMPTS = 5;

function chainFacts(chain: readonly PresentedCertificate[]) {
  return chain.slice(1).map((c) => ({
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serialNumber,
    fingerprintSha256: c.fingerprintSha256,
    notAfter: c.notAfter,
    signatureAlgorithm: c.signatureAlgorithm,
  }));
}

/** A certificate served on endpoints as an observation: keyed by its fingerprint, facts shaped as ACM's. */
function tlsObservation(sighting: Sighting, served: readonly ServedEndpoint[]): Observation {
  return {
    source: 'tls',
    type: 'x509-certificate',
    arn: certificateArn(sighting.leaf),
    name: certificateName(sighting.leaf),
    account: TLS_ACCOUNT,
    region: TLS_REGION,
    tags: {},
    facts: {
      ...certificateFacts(sighting.leaf, 'SCANNED'),
      chain: chainFacts(sighting.chain),
      endpoints: servedEndpointFacts(served),
      locations: servedSummary(served).locations,
    },
  };
}

/** An identity's own observation with where it is served replaced (it moved off some endpoints). */
function withServed(identity: DiscoveredIdentity, served: readonly ServedEndpoint[]): Observation {
  return {
    source: identity.source,
    type: identity.type,
    arn: identity.arn,
    name: identity.name,
    account: identity.account,
    region: identity.region,
    tags: identity.tags,
    facts: { ...identity.facts, endpoints: servedEndpointFacts(served), locations: servedSummary(served).locations },
  };
}

/**
 * One tls unit of a run: scans its addresses, then brings the inventory in line with what it saw at its locations.
 * A certificate is one identity per fingerprint, served at every endpoint it was seen on; one this plane issued (its
 * serial and fingerprint are ours) is not duplicated: its issued identity gains the endpoints. A scan of a location
 * replaces what was known there and keeps the rest (other units, other runs). A certificate seen nowhere it was known
 * to be served misses this run, and after `missingAfterRuns` such runs is `missing` (its last endpoints kept, so the
 * next scan of them counts again). Each location's scan is recorded (when, and what it served). An endpoint that
 * fails is recorded with its outcome and never fails the unit. Idempotent: a unit delivered again writes nothing new.
 */
export async function discoverTlsEndpoints(deps: DiscoverTlsEndpointsDeps, work: TlsUnitWork): Promise<TlsUnitOutcome> {
  const results = await deps.scanner.scan(work.dials);
  const now = deps.clock.now();
  const at = now.toISOString();
  const endpoints: EndpointReport[] = [];
  const scanned = new Set<string>();
  const sightings = new Map<string, Sighting>();
  for (const name of work.unresolved) {
    const location = tlsLocationOf(name);
    scanned.add(location);
    endpoints.push({ location, outcome: name.outcome, code: name.code });
  }
  for (const result of results) {
    const location = tlsLocationOf(result);
    scanned.add(location);
    if (result.outcome !== 'tls') {
      endpoints.push({ location, address: result.address, outcome: result.outcome, code: result.error.code });
      continue;
    }
    const leaf = result.chain[0];
    endpoints.push({
      location,
      address: result.address,
      outcome: 'tls',
      protocol: result.protocol,
      fingerprintSha256: leaf?.fingerprintSha256,
      validatesTo: result.validatesTo,
      nameMatches: result.nameMatches,
      ...(result.error === undefined ? {} : { code: result.error.code }),
    });
    if (leaf === undefined || result.error !== undefined) continue;
    const sighting = sightings.get(leaf.fingerprintSha256) ?? {
      leaf,
      chain: result.chain,
      served: [],
      ours: result.chainsTo === 'ours',
    };
    sighting.served.push({
      location,
      address: result.address,
      protocol: result.protocol,
      validatesTo: result.validatesTo,
      nameMatches: result.nameMatches,
    });
    sightings.set(leaf.fingerprintSha256, sighting);
  }

  // Whose each certificate is: an issued identity when the serial and fingerprint are ours, else its own.
  const owner = new Map<string, string>();
  for (const [fingerprint, sighting] of sightings) {
    const record = sighting.ours ? await deps.issued.getCertificate(sighting.leaf.serialNumber) : undefined;
    owner.set(
      fingerprint,
      record?.fingerprintSha256 === fingerprint
        ? record.identityId
        : discoveredIdentityId({ source: 'tls', arn: certificateArn(sighting.leaf) }),
    );
  }
  const previous = await deps.runs.locationScans([...scanned]);
  const bySighting = new Map([...sightings].map(([fingerprint, s]) => [owner.get(fingerprint) as string, s]));
  const affected = new Set([...bySighting.keys(), ...[...previous.values()].flatMap((scan) => scan.identityIds)]);

  const counts = { seen: sightings.size, new: 0, changed: 0, missing: 0, reappeared: 0 };
  // Who each scanned location is known to serve after this scan: what it served now, and what is being missed there
  // (so that the next scan of the location counts its miss).
  const served = new Map<string, Set<string>>([...scanned].map((location) => [location, new Set<string>()]));
  for (const [identityId, sighting] of bySighting) {
    for (const endpoint of sighting.served) served.get(endpoint.location)?.add(identityId);
  }
  const keepMissed = (identityId: string, locations: readonly string[]) => {
    for (const location of locations) served.get(location)?.add(identityId);
  };
  // Discovered identities are read in batches; one is read again alone only after another unit changed it first.
  const read = await deps.discovered.getMany([...affected].filter(isDiscoveredIdentityId));
  let writes = 0;
  for (const identityId of affected) {
    const sighting = bySighting.get(identityId);
    const change = isDiscoveredIdentityId(identityId)
      ? await settleDiscovered(deps, identityId, { sighting, scanned, previous, at, keepMissed, read })
      : await settleIssued(deps, identityId, { sighting, scanned, now });
    if (change === 'none') continue;
    writes++;
    if (change !== 'missed' && change !== 'rescored') counts[change]++;
  }

  const scans: LocationScan[] = [...served].map(([location, ids]) => ({
    location,
    scannedAt: at,
    identityIds: [...ids].sort(),
  }));
  await deps.runs.recordLocationScans(scans);
  // Certificates of others seen here: each holder of their keys learns how many certificates share them.
  const keys = [...sightings]
    .filter(([fingerprint]) => isDiscoveredIdentityId(owner.get(fingerprint) ?? ''))
    .map(([, sighting]) => sighting.leaf.spkiSha256);
  writes += await refreshSharedKeys(deps, keys, at);
  return { counts, endpoints, writes: writes + scans.length };
}

type Settled = DiscoveryChange | 'rescored' | 'none';

/** Retries `attempt` when another writer changed the identity first (it re-reads and decides again). */
async function settle(attempt: (tries: number) => Promise<Settled>): Promise<Settled> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(tries);
    } catch (error) {
      if (!(error instanceof ConflictError) || tries >= SETTLE_ATTEMPTS) throw error;
    }
  }
}

function settleDiscovered(
  deps: DiscoverTlsEndpointsDeps,
  identityId: string,
  context: {
    readonly sighting: Sighting | undefined;
    readonly scanned: ReadonlySet<string>;
    readonly previous: ReadonlyMap<string, LocationScan>;
    readonly at: string;
    /** Called for an identity missed but not yet missing, with its last locations. */
    readonly keepMissed: (identityId: string, locations: readonly string[]) => void;
    /** The affected identities as the unit first read them (a retry reads its identity again). */
    readonly read: ReadonlyMap<string, DiscoveredIdentity>;
  },
): Promise<Settled> {
  return settle(async (tries) => {
    const existing = tries === 1 ? context.read.get(identityId) : await deps.discovered.get(identityId);
    if (existing !== undefined && existing.source !== 'tls') return 'none';
    const before = existing === undefined ? [] : servedEndpointsOf(existing.facts.endpoints);
    const served = nextServedEndpoints(before, context.scanned, context.sighting?.served ?? []);
    let next: { identity: DiscoveredIdentity; change: DiscoveryChange | undefined } | undefined;
    if (context.sighting !== undefined) {
      next = afterSeen(existing, tlsObservation(context.sighting, served), context.at);
    } else if (existing === undefined) {
      return 'none';
    } else if (served.length > 0) {
      // Still served elsewhere: only where it is changed.
      next = sameServedEndpoints(before, served)
        ? undefined
        : afterSeen(existing, withServed(existing, served), context.at);
    } else {
      // Seen nowhere it was served: it missed this run; its last endpoints stay, so their next scan counts again.
      const lastScans = before.flatMap((e) => {
        const scan = context.previous.get(e.location);
        return scan === undefined ? [] : [scan.scannedAt];
      });
      const lastScan = lastScans.sort().at(-1);
      next = afterMissed(existing, deps.missingAfterRuns, context.at, lastScan);
      if (next?.identity.status === 'active') context.keepMissed(identityId, servedSummary(before).locations);
    }
    if (next === undefined) {
      // Unchanged, but time may have moved its risk (a certificate entering its renewal window).
      if (existing === undefined) return 'none';
      const rescored = withAssessedRisk(existing, context.at);
      if (sameRisk(existing.risk, rescored.risk)) return 'none';
      await deps.discovered.write([{ ...rescored, version: existing.version + 1 }]);
      return 'rescored';
    }
    await deps.discovered.write([withAssessedRisk(next.identity, context.at)]);
    return next.change ?? 'rescored';
  });
}

function settleIssued(
  deps: DiscoverTlsEndpointsDeps,
  identityId: string,
  context: { readonly sighting: Sighting | undefined; readonly scanned: ReadonlySet<string>; readonly now: Date },
): Promise<Settled> {
  return settle(async () => {
    const identity = await deps.issued.getIdentity(identityId);
    if (identity === undefined) return 'none';
    const before = identity.servedAt ?? [];
    const served = nextServedEndpoints(before, context.scanned, context.sighting?.served ?? []);
    if (sameServedEndpoints(before, served)) return 'none';
    const { servedAt: _before, ...rest } = identity;
    const moved: IdentityRecord = {
      ...rest,
      ...(served.length === 0 ? {} : { servedAt: served }),
      updatedAt: context.now.toISOString(),
      version: identity.version + 1,
    };
    const certificate = await deps.issued.getCertificate(identity.currentSerialNumber);
    const risk = storedRiskOf(assessRisk(riskSubjectOfIssued(moved, certificate), context.now));
    if (!(await deps.issued.recordRiskUpdate({ ...moved, risk }))) {
      throw new ConflictError('CONCURRENT_UPDATE', `Identity ${identityId} changed while its endpoints were recorded.`);
    }
    return 'changed';
  });
}
