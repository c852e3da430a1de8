import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { connect, type DetailedPeerCertificate, rootCertificates, type TLSSocket } from 'node:tls';
import type { IpRange } from '#lib/domain/ip-address.ts';
import { formatIpAddress, parseIpAddress, unmapIpv4 } from '#lib/domain/ip-address.ts';
import { checkAllowed, parseAllowedRanges, parseTlsTarget, type TlsEndpoint } from '#lib/domain/tls-targets.ts';
import { describeCertificate, type PresentedCertificate } from '#lib/pki/describe-certificate.ts';
import type {
  NameResolver,
  Resolution,
  TlsHandshakeResult,
  TlsScanFailure,
  TlsScanner,
  TlsScanPhase,
  TlsScanResult,
  TlsScanTarget,
} from '#lib/ports/tls-scanner.ts';
import { mapWithConcurrency } from '../map-with-concurrency.ts';
import { chainTrust, parseCertificatePems } from './chain-trust.ts';

export type { PresentedCertificate } from '#lib/pki/describe-certificate.ts';
export type {
  TlsHandshakeResult,
  TlsScanFailure,
  TlsScanOutcome,
  TlsScanPhase,
  TlsScanResult,
} from '#lib/ports/tls-scanner.ts';
export type { ChainTrust } from './chain-trust.ts';

export interface TlsScanOptions {
  /** Only addresses inside these ranges are dialled: checked on each address, after resolution, before connecting. */
  readonly allowedRanges: readonly (string | IpRange)[];
  /** Our CA certificates (PEM, bundles allowed): a chain leading to one of them is `ours`. */
  readonly trustedCaPems: readonly string[];
  /** Endpoints resolved and scanned at once (default 32). */
  readonly concurrency?: number;
  /** From dialling to the TCP connection (default 3,000 ms); also bounds a name's resolution. */
  readonly connectTimeoutMs?: number;
  /** From the TCP connection to the end of the TLS handshake (default 5,000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** Whether a chain leading to a system root is `system` (default true); when false such a chain is `none`. */
  readonly useSystemRoots?: boolean;
  /** The system roots (PEM); default Node's bundled Mozilla store (`tls.rootCertificates`). */
  readonly systemRootPems?: readonly string[];
  /** Resolves a name to its addresses, once per endpoint (default `dns.lookup` with `all`). */
  readonly resolve?: (name: string) => Promise<readonly string[]>;
  /** At most this many of a name's addresses are reported and scanned, in resolver order (default 16). */
  readonly maxAddressesPerName?: number;
  /** The time certificates are judged at (default now). */
  readonly now?: () => Date;
}

/** What one dial needs: the address to connect to, and the name to send as SNI and match, if any. */
interface Dial {
  readonly host?: string;
  readonly address: string;
  readonly port: number;
}

interface Settings {
  readonly ranges: readonly IpRange[];
  readonly anchors: { readonly ours: readonly X509Certificate[]; readonly system: readonly X509Certificate[] };
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly resolve: (name: string) => Promise<readonly string[]>;
  readonly maxAddressesPerName: number;
  readonly now: () => Date;
}

let bundledRoots: X509Certificate[] | undefined;

/** Node's bundled roots, parsed once per process (about 140 certificates). */
function systemRoots(): X509Certificate[] {
  bundledRoots ??= parseCertificatePems(rootCertificates);
  return bundledRoots;
}

async function lookupAll(name: string): Promise<string[]> {
  const addresses = await lookup(name, { all: true, verbatim: true });
  return addresses.map((a) => a.address);
}

function failure(
  target: TlsScanTarget,
  outcome: TlsScanFailure['outcome'],
  phase: TlsScanPhase,
  code: string,
  message: string,
): TlsScanFailure {
  return { ...target, outcome, error: { code, phase, message } };
}

function errorCode(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : fallback;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Canonical text of an address (IPv4-mapped written as IPv4), or undefined when it is not one. */
function canonicalAddress(text: string): string | undefined {
  const octets = parseIpAddress(text);
  return octets ? formatIpAddress(unmapIpv4(octets)) : undefined;
}

/** Resolves `name` with `resolve` within `timeoutMs`; the timer is cleared either way. */
async function resolveWithinMs(
  resolve: (name: string) => Promise<readonly string[]>,
  name: string,
  timeoutMs: number,
): Promise<readonly string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`resolving ${name} timed out`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([resolve(name), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function resolveWithin(settings: Settings, name: string): Promise<readonly string[]> {
  return resolveWithinMs(settings.resolve, name, settings.connectTimeoutMs);
}

/**
 * The system resolver (`dns.lookup`, as connecting would use) over many names, 32 at a time (default), each bounded in
 * time (default 3,000 ms): each address in canonical text, IPv4-mapped IPv6 written as IPv4, anything else dropped.
 */
export function createNameResolver(
  options: {
    readonly timeoutMs?: number;
    readonly concurrency?: number;
    readonly resolve?: (name: string) => Promise<readonly string[]>;
  } = {},
): NameResolver {
  return async (names) => {
    const unique = [...new Set(names)];
    const resolutions = await mapWithConcurrency(
      unique,
      options.concurrency ?? 32,
      async (name): Promise<Resolution> => {
        try {
          const addresses = await resolveWithinMs(options.resolve ?? lookupAll, name, options.timeoutMs ?? 3000);
          return {
            addresses: addresses.flatMap((text) => {
              const canonical = canonicalAddress(String(text));
              return canonical === undefined ? [] : [canonical];
            }),
          };
        } catch (error) {
          return { code: errorCode(error, 'ENOTFOUND') };
        }
      },
    );
    return new Map(unique.map((name, i) => [name, resolutions[i] as Resolution]));
  };
}

/** The scanner port over {@link scanEndpoints}, with its options fixed (a composition root builds one). */
export function createTlsScanner(options: TlsScanOptions): TlsScanner {
  return { scan: (dials) => scanEndpoints(dials, options) };
}

/** Turns one endpoint into the dials it needs (resolving a name once), or the failure that stops it. */
async function plan(endpoint: TlsEndpoint, settings: Settings): Promise<Array<Dial | TlsScanFailure>> {
  const port = endpoint.port;
  const given: TlsScanTarget = {
    ...(endpoint.host === undefined ? {} : { host: endpoint.host }),
    ...(endpoint.address === undefined ? {} : { address: endpoint.address }),
    port,
  };
  const refuse = (why: string): TlsScanFailure[] => [failure(given, 'not-allowed', 'check', 'TARGET_INVALID', why)];
  if (!Number.isInteger(port) || port < 1 || port > 65535) return refuse('the port must be from 1 to 65535');
  let host: string | undefined;
  let address = endpoint.address === undefined ? undefined : canonicalAddress(endpoint.address);
  if (endpoint.address !== undefined && address === undefined) return refuse('the address is not an IP address');
  if (endpoint.host !== undefined) {
    const literal = canonicalAddress(endpoint.host);
    if (literal !== undefined) address ??= literal;
    else {
      try {
        const target = parseTlsTarget(`${endpoint.host}:${port}`);
        if (target.kind !== 'host') return refuse('the host is not a host name');
        host = target.host;
      } catch (error) {
        return refuse(errorMessage(error));
      }
    }
  }
  if (address !== undefined) return [{ ...(host === undefined ? {} : { host }), address, port }];
  if (host === undefined) return refuse('an endpoint names a host or an address');
  const named: TlsScanTarget = { host, port };
  let resolved: readonly string[];
  try {
    resolved = await resolveWithin(settings, host);
  } catch (error) {
    const code = errorCode(error, 'ENOTFOUND');
    const outcome = code === 'ETIMEDOUT' || code === 'ETIMEOUT' ? 'timeout' : 'unreachable';
    return [failure(named, outcome, 'resolve', code, errorMessage(error))];
  }
  const out: Array<Dial | TlsScanFailure> = [];
  const seen = new Set<string>();
  for (const text of resolved) {
    if (out.length >= settings.maxAddressesPerName) break;
    const canonical = canonicalAddress(text);
    if (canonical === undefined) {
      const reported = { ...named, address: String(text).slice(0, 64) };
      out.push(failure(reported, 'not-allowed', 'resolve', 'ADDRESS_INVALID', 'not an address'));
    } else if (!seen.has(canonical)) {
      seen.add(canonical);
      out.push({ host, address: canonical, port });
    }
  }
  if (out.length === 0) return [failure(named, 'unreachable', 'resolve', 'ENOTFOUND', `${host} has no address`)];
  return out;
}

/** The presented chain from Node's linked list (leaf first; a self-signed root links to itself). */
function presentedChain(socket: TLSSocket): Buffer[] {
  // getPeerCertificate(true) must come before any getPeerX509Certificate() call: after it, this returns {}.
  const out: Buffer[] = [];
  let certificate: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<DetailedPeerCertificate>();
  while (certificate?.raw && !seen.has(certificate) && out.length < 16) {
    seen.add(certificate);
    out.push(certificate.raw);
    certificate = certificate.issuerCertificate;
  }
  return out;
}

function describeHandshake(socket: TLSSocket, dial: Dial, settings: Settings): TlsHandshakeResult {
  const ders = presentedChain(socket);
  const chain: PresentedCertificate[] = [];
  const parsed: X509Certificate[] = [];
  let error: TlsHandshakeResult['error'];
  for (const der of ders) {
    try {
      chain.push(describeCertificate(der));
      parsed.push(new X509Certificate(der));
    } catch (e) {
      error = { code: 'CERT_UNREADABLE', message: errorMessage(e) };
      break;
    }
  }
  const leaf = parsed[0];
  let nameMatches = false;
  if (leaf && error === undefined) {
    // RFC 6125: DNS SANs only (no CN fallback, as browsers and Go), wildcards as a whole leftmost label only.
    nameMatches =
      dial.host === undefined
        ? leaf.checkIP(dial.address) !== undefined
        : leaf.checkHost(dial.host, { subject: 'never', wildcards: true, partialWildcards: false }) !== undefined;
  }
  const complete = error === undefined;
  return {
    ...(dial.host === undefined ? {} : { host: dial.host }),
    address: dial.address,
    port: dial.port,
    outcome: 'tls',
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    chain,
    chainsTo: complete ? chainTrust(parsed, settings.anchors) : 'none',
    validatesTo: complete ? chainTrust(parsed, settings.anchors, settings.now()) : 'none',
    nameMatches,
    ...(error === undefined ? {} : { error }),
  };
}

/**
 * Connects to one address (after the guard), completes a handshake and reads what was presented. Resolves, never
 * rejects; the socket is destroyed and every timer cleared whatever happens.
 */
function probe(dial: Dial, settings: Settings): Promise<TlsScanResult> {
  const target: TlsScanTarget = dial;
  if (!checkAllowed(dial.address, settings.ranges)) {
    return Promise.resolve(
      failure(target, 'not-allowed', 'check', 'TARGET_NOT_ALLOWED', 'the address is outside the allowed ranges'),
    );
  }
  return new Promise((resolve) => {
    let phase: 'connect' | 'handshake' = 'connect';
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let socket: TLSSocket;
    try {
      // The address is dialled as given (never a name, so nothing is re-resolved); SNI only for a name target.
      socket = connect({
        host: dial.address,
        port: dial.port,
        ...(dial.host === undefined ? {} : { servername: dial.host }),
        // Verification is ours, after the handshake: a scan must read expired, self-signed and misnamed certificates.
        rejectUnauthorized: false,
        // An empty store: otherwise Node completes the chain it reports with roots from its own store, and the chain
        // would no longer be what the peer presented.
        ca: [],
        // Old endpoints must still be read: TLS 1.0, RSA-1024 keys and SHA-1 signatures need security level 0.
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      });
    } catch (error) {
      resolve(failure(target, 'unreachable', 'connect', errorCode(error, 'ERR_SOCKET'), errorMessage(error)));
      return;
    }
    const finish = (result: TlsScanResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(failure(target, 'timeout', phase, 'ETIMEDOUT', `no ${phase} within ${ms} ms`)),
        ms,
      );
    };
    arm(settings.connectTimeoutMs);
    socket.once('connect', () => {
      phase = 'handshake';
      arm(settings.handshakeTimeoutMs);
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      try {
        finish(describeHandshake(socket, dial, settings));
      } catch (error) {
        finish(failure(target, 'not-tls', 'handshake', errorCode(error, 'ERR_TLS'), errorMessage(error)));
      }
    });
    // `on`, not `once`: an error after the result is settled must not go unhandled.
    socket.on('error', (error) => {
      const code = errorCode(error, 'ERR_SOCKET');
      if (phase === 'handshake') finish(failure(target, 'not-tls', phase, code, error.message));
      else if (code === 'ECONNREFUSED') finish(failure(target, 'refused', phase, code, error.message));
      else finish(failure(target, 'unreachable', phase, code, error.message));
    });
    socket.once('close', () => {
      if (phase === 'handshake') finish(failure(target, 'not-tls', phase, 'ECONNRESET', 'closed before the handshake'));
      else finish(failure(target, 'unreachable', phase, 'ECONNRESET', 'closed before connecting'));
    });
  });
}

/**
 * Scans TLS endpoints: resolves each name once, dials each allowed address of it (and each address endpoint)
 * exactly, with SNI for names only, and reports per address what happened and, after a handshake, the presented
 * chain and how it validates. Results come in endpoint order, then resolver order. One endpoint's failure is its
 * result, never a rejection; at most `concurrency` resolutions or connections are in flight.
 * @throws only on bad options: a malformed allowed range (`TlsTargetError` `ALLOWED_RANGE_INVALID`) or anchor PEM.
 */
export async function scanEndpoints(
  endpoints: readonly TlsEndpoint[],
  options: TlsScanOptions,
): Promise<TlsScanResult[]> {
  const concurrency = options.concurrency ?? 32;
  const useSystemRoots = options.useSystemRoots ?? true;
  const settings: Settings = {
    ranges: parseAllowedRanges(options.allowedRanges.filter((r): r is string => typeof r === 'string')).concat(
      options.allowedRanges.filter((r): r is IpRange => typeof r !== 'string'),
    ),
    anchors: {
      ours: parseCertificatePems(options.trustedCaPems),
      system: !useSystemRoots
        ? []
        : options.systemRootPems
          ? parseCertificatePems(options.systemRootPems)
          : systemRoots(),
    },
    connectTimeoutMs: options.connectTimeoutMs ?? 3000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
    resolve: options.resolve ?? lookupAll,
    maxAddressesPerName: options.maxAddressesPerName ?? 16,
    now: options.now ?? (() => new Date()),
  };
  const planned = await mapWithConcurrency(endpoints, concurrency, (endpoint) => plan(endpoint, settings));
  return mapWithConcurrency(planned.flat(), concurrency, (item) =>
    'outcome' in item ? Promise.resolve(item) : probe(item, settings),
  );
}
