import type { FactValue } from './discovery.ts';

/**
 * What a TLS scan records, and how the places a certificate is served at move from scan to scan. Pure: the scanner is
 * an adapter, the work a use case (`lib/use-cases/discover-tls-endpoints.ts`).
 *
 * A *location* is what a target named, with its port: `host:port` for a name (whatever addresses it resolved to),
 * `a.b.c.d:port` or `[v6]:port` for an address or an address of a range. A certificate is served at a set of
 * {@link ServedEndpoint}s; a scan of some locations replaces what was known at those locations and keeps the rest, so
 * that runs over different targets (or split into units) never undo each other.
 */

/** The account TLS identities are filed under: endpoints belong to networks, not to AWS accounts. */
export const TLS_ACCOUNT = 'network';
/** Their region: a scan is not regional. */
export const TLS_REGION = 'global';

/** Endpoints (addresses) one unit of a run scans: a unit finishes well inside a Lambda's 15 minutes at any timeout. */
export const TLS_ENDPOINTS_PER_UNIT = 256;

/** What became of one dialled address (or a name that never resolved). */
export const TLS_ENDPOINT_OUTCOMES = ['tls', 'refused', 'timeout', 'not-tls', 'unreachable', 'not-allowed'] as const;
export type TlsEndpointOutcome = (typeof TLS_ENDPOINT_OUTCOMES)[number];

/** Which anchors a presented chain validates to at scan time. */
export type ChainValidation = 'ours' | 'system' | 'none';

/** One address that served a certificate, as the certificate's identity keeps it. */
export interface ServedEndpoint {
  readonly location: string;
  /** The address dialled (for a name target, one of its addresses). */
  readonly address: string;
  /** `TLSv1.3`, `TLSv1.2`… */
  readonly protocol: string;
  readonly validatesTo: ChainValidation;
  readonly nameMatches: boolean;
}

/** One endpoint of a run's part, as the run record lists it. */
export interface EndpointReport {
  readonly location: string;
  readonly address?: string | undefined;
  readonly outcome: TlsEndpointOutcome;
  /** Why it failed: Node's code (`ECONNREFUSED`, `ETIMEDOUT`…) or ours. */
  readonly code?: string | undefined;
  readonly protocol?: string | undefined;
  /** The leaf presented: SHA-256 of its DER. */
  readonly fingerprintSha256?: string | undefined;
  readonly validatesTo?: ChainValidation | undefined;
  readonly nameMatches?: boolean | undefined;
}

/** The location of a dial: its name when it has one, else its address, with the port. */
export function tlsLocationOf(endpoint: {
  readonly host?: string | undefined;
  readonly address?: string | undefined;
  readonly port: number;
}): string {
  if (endpoint.host !== undefined) return `${endpoint.host}:${endpoint.port}`;
  const address = endpoint.address ?? '';
  return address.includes(':') ? `[${address}]:${endpoint.port}` : `${address}:${endpoint.port}`;
}

function compareServed(a: ServedEndpoint, b: ServedEndpoint): number {
  return a.location === b.location
    ? a.address < b.address
      ? -1
      : a.address > b.address
        ? 1
        : 0
    : a.location < b.location
      ? -1
      : 1;
}

/**
 * Endpoints an identity keeps (the first, in location order): a certificate served on every address of a large run
 * must still fit in one item (DynamoDB's 400 KB; an endpoint takes about 100 bytes).
 */
export const MAX_SERVED_ENDPOINTS = 1000;

/**
 * Where a certificate is served after a scan of `scanned` locations saw it at `seenNow`: what was known elsewhere,
 * and what the scan saw, in location then address order, at most {@link MAX_SERVED_ENDPOINTS}. A location scanned
 * without the certificate drops out.
 */
export function nextServedEndpoints(
  previous: readonly ServedEndpoint[],
  scanned: ReadonlySet<string>,
  seenNow: readonly ServedEndpoint[],
): ServedEndpoint[] {
  const kept = previous.filter((endpoint) => !scanned.has(endpoint.location));
  const seen = new Set<string>();
  const out: ServedEndpoint[] = [];
  for (const endpoint of [...kept, ...seenNow]) {
    const key = `${endpoint.location} ${endpoint.address}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(endpoint);
  }
  return out.sort(compareServed).slice(0, MAX_SERVED_ENDPOINTS);
}

/** Whether two lists of served endpoints say the same (both in {@link nextServedEndpoints} order). */
export function sameServedEndpoints(a: readonly ServedEndpoint[], b: readonly ServedEndpoint[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i];
      return (
        y !== undefined &&
        x.location === y.location &&
        x.address === y.address &&
        x.protocol === y.protocol &&
        x.validatesTo === y.validatesTo &&
        x.nameMatches === y.nameMatches
      );
    })
  );
}

/** What the risk rules read of where a certificate is served: its locations, and whether every one validates and matches. */
export interface ServedSummary {
  readonly locations: string[];
  /** Undefined when it is served nowhere (nothing to judge). */
  readonly chainValid: boolean | undefined;
  readonly nameMatches: boolean | undefined;
}

export function servedSummary(endpoints: readonly ServedEndpoint[]): ServedSummary {
  if (endpoints.length === 0) return { locations: [], chainValid: undefined, nameMatches: undefined };
  return {
    locations: [...new Set(endpoints.map((e) => e.location))].sort(),
    chainValid: endpoints.every((e) => e.validatesTo !== 'none'),
    nameMatches: endpoints.every((e) => e.nameMatches),
  };
}

const VALIDATIONS: ReadonlySet<string> = new Set(['ours', 'system', 'none']);

/**
 * The served endpoints a fact (or stored attribute) holds, skipping anything malformed: facts are JSON written by an
 * older or newer version, and a reader never throws on them.
 */
export function servedEndpointsOf(value: unknown): ServedEndpoint[] {
  if (!Array.isArray(value)) return [];
  const out: ServedEndpoint[] = [];
  for (const item of value as unknown[]) {
    if (item === null || typeof item !== 'object') continue;
    const e = item as Record<string, unknown>;
    if (
      typeof e.location === 'string' &&
      typeof e.address === 'string' &&
      typeof e.protocol === 'string' &&
      typeof e.validatesTo === 'string' &&
      VALIDATIONS.has(e.validatesTo) &&
      typeof e.nameMatches === 'boolean'
    ) {
      out.push({
        location: e.location,
        address: e.address,
        protocol: e.protocol,
        validatesTo: e.validatesTo as ChainValidation,
        nameMatches: e.nameMatches,
      });
    }
  }
  return out.sort(compareServed);
}

/** Served endpoints as facts (JSON values). */
export function servedEndpointFacts(endpoints: readonly ServedEndpoint[]): FactValue {
  return endpoints.map((e) => ({
    location: e.location,
    address: e.address,
    protocol: e.protocol,
    validatesTo: e.validatesTo,
    nameMatches: e.nameMatches,
  }));
}

/** A location's last scan: when, and which identities it served then (none when it served no certificate). */
export interface LocationScan {
  readonly location: string;
  readonly scannedAt: string;
  readonly identityIds: readonly string[];
}

/** A name a run could not resolve when it started: scanned as that outcome, never dialled. */
export interface UnresolvedName {
  readonly host: string;
  readonly port: number;
  readonly outcome: 'timeout' | 'unreachable';
  readonly code: string;
}
