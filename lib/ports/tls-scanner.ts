import type { PresentedCertificate } from '#lib/domain/presented-certificate.ts';
import type { ChainValidation, TlsEndpointOutcome } from '#lib/domain/tls-discovery.ts';

/**
 * What became of one address: `tls` a completed handshake; `refused` a TCP reset to the connection attempt (closed
 * port); `timeout` no connection, handshake or resolution within its timeout; `not-tls` a TCP connection on which no
 * TLS handshake completed (a plain-text service, a TLS alert, a peer that hung up); `unreachable` any other failure to
 * connect, or a name with no address; `not-allowed` never dialled: outside the allowed ranges, or malformed.
 */
export type TlsScanOutcome = TlsEndpointOutcome;

/** Where a scan stopped: the guard (`check`), name resolution, TCP connect or the TLS handshake. */
export type TlsScanPhase = 'check' | 'resolve' | 'connect' | 'handshake';

export interface TlsScanTarget {
  /** The DNS name scanned (sent as SNI), when the endpoint named one. */
  readonly host?: string;
  /** The address dialled (or refused); absent only when a name did not resolve. */
  readonly address?: string;
  readonly port: number;
}

/** A completed handshake and what the peer presented. */
export interface TlsHandshakeResult extends TlsScanTarget {
  readonly outcome: 'tls';
  readonly address: string;
  /** `TLSv1.3`, `TLSv1.2`, … as Node reports it. */
  readonly protocol: string;
  /** OpenSSL name of the negotiated cipher suite. */
  readonly cipher: string;
  /** The chain as presented: leaf first, then each issuer the peer sent, in issuing order. */
  readonly chain: readonly PresentedCertificate[];
  /** Trust the chain leads to by signatures alone (whose CA issued it, expired or not). */
  readonly chainsTo: ChainValidation;
  /** Trust a client would grant at scan time: {@link chainsTo} with every certificate on the path within validity. */
  readonly validatesTo: ChainValidation;
  /** Name target: the leaf matches the name (DNS SANs only, RFC 6125 wildcards). Address target: an IP SAN matches. */
  readonly nameMatches: boolean;
  /** Set when a presented certificate could not be read; `chain` then holds those before it. */
  readonly error?: { readonly code: 'CERT_UNREADABLE'; readonly message: string };
}

/** An endpoint that was refused, or did not complete a TLS handshake. */
export interface TlsScanFailure extends TlsScanTarget {
  readonly outcome: Exclude<TlsScanOutcome, 'tls'>;
  /** `code`: Node's error code (`ECONNREFUSED`, `ERR_SSL_WRONG_VERSION_NUMBER`…) or ours (`TARGET_NOT_ALLOWED`…). */
  readonly error: { readonly code: string; readonly phase: TlsScanPhase; readonly message: string };
}

export type TlsScanResult = TlsHandshakeResult | TlsScanFailure;

/** What the scanner dials: an address (never re-resolved), with the name to send as SNI and match, if any. */
export interface TlsDial {
  readonly host?: string;
  readonly address: string;
  readonly port: number;
}

/**
 * Scans addresses: connects to each allowed one (checked again here, on the very address dialled), completes a
 * handshake and reports what was presented. One address's failure is its result, never a rejection.
 */
export interface TlsScanner {
  scan(dials: readonly TlsDial[]): Promise<TlsScanResult[]>;
}

/** What resolving one name gave: its addresses (canonical text), or the resolver's error code (`ENOTFOUND`, `ETIMEDOUT`…). */
export type Resolution = { readonly addresses: readonly string[] } | { readonly code: string };

/** Resolves DNS names, each once, a bounded number at a time and each within a bounded time. */
export type NameResolver = (names: readonly string[]) => Promise<ReadonlyMap<string, Resolution>>;
