import { ValidationError } from './errors.ts';
import { formatIpAddress, type IpRange, ipInRange, parseIpAddress, parseIpRange, unmapIpv4 } from './ip-address.ts';
import { normalizeDnsName, quoteName } from './name-normalizer.ts';

/**
 * TLS scan targets: what a request or a config may name (`host:port`, `ip:port`, `[ipv6]:port`, `10.0.0.0/28:443`,
 * `[fd00::/126]:443`), how ranges expand to endpoints, and the allowed-range guard every outbound connection passes.
 * Pure: names are never resolved here. The scanner resolves a name once and checks each address it is about to dial
 * with {@link checkAllowed}, so a name cannot point the scanner somewhere the ranges do not allow.
 */

export type TlsTargetErrorCode = 'TARGET_INVALID' | 'TARGETS_TOO_MANY' | 'TARGET_NOT_ALLOWED' | 'ALLOWED_RANGE_INVALID';

/** A refused target, target list or allowed range; `code` says which, `details` names the offender. */
export class TlsTargetError extends ValidationError {
  declare readonly code: TlsTargetErrorCode;

  constructor(code: TlsTargetErrorCode, message: string, details: Record<string, unknown>, cause?: unknown) {
    super(code, message, cause === undefined ? { details } : { details, cause });
  }
}

/** One parsed target. Addresses and ranges are in canonical text (IPv4-mapped IPv6 written as the IPv4 form). */
export type TlsTarget =
  | { readonly kind: 'host'; readonly host: string; readonly port: number }
  | { readonly kind: 'address'; readonly address: string; readonly port: number }
  | { readonly kind: 'range'; readonly range: string; readonly port: number };

/**
 * What the scanner dials: a DNS name it resolves once (`host`), an address (`address`), or both (connect to
 * `address`, sending `host` as SNI and checking the certificate against it).
 */
export interface TlsEndpoint {
  readonly host?: string;
  readonly address?: string;
  readonly port: number;
}

/** Default limit of {@link expandTargets}: endpoints one scan request may produce. */
export const MAX_SCAN_ADDRESSES = 4096;

const MAX_TARGET_LENGTH = 300;
const PORT = /^[1-9]\d{0,4}$/;
const PREFIX_LENGTH = /^(0|[1-9]\d{0,2})$/;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function invalid(target: string, why: string, cause?: unknown): TlsTargetError {
  return new TlsTargetError(
    'TARGET_INVALID',
    `The target ${quoteName(target)} is invalid: ${why}.`,
    { target: target.slice(0, 256) },
    cause,
  );
}

function parsePort(target: string, text: string): number {
  const port = Number(text);
  if (!PORT.test(text) || port > 65535) throw invalid(target, 'the port must be a number from 1 to 65535');
  return port;
}

/** A host name per RFC 1123 (LDH labels, 1–63 characters each, at most 253 in all), lower-cased. */
function parseHostName(target: string, host: string): string {
  if (host === '') throw invalid(target, 'the host is empty');
  if (!/^[\x21-\x7e]+$/.test(host)) {
    throw invalid(target, 'a host name is printable ASCII: write internationalized labels as IDNA A-labels (xn--…)');
  }
  if (host.includes('*')) throw invalid(target, 'a wildcard cannot be scanned: name a host');
  if (host.endsWith('.')) throw invalid(target, 'write the host name without a trailing dot');
  const lower = host.toLowerCase();
  if (lower.length > 253) throw invalid(target, 'a host name has at most 253 characters');
  const labels = lower.split('.');
  const bad = labels.find((label) => !LDH_LABEL.test(label));
  if (bad !== undefined) {
    throw invalid(
      target,
      `the label ${quoteName(bad)} is not 1 to 63 letters, digits or inner hyphens (RFC 1123 host names)`,
    );
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) {
    throw invalid(
      target,
      'not a valid IPv4 address (four decimal octets 0–255 without leading zeros), nor a host name',
    );
  }
  try {
    // The shared normalizer adds the IDNA rules (valid A-labels of one script, no reserved "??--" labels).
    return normalizeDnsName(lower).value;
  } catch (error) {
    throw invalid(target, 'the host is not a valid DNS name (internationalized labels must be valid A-labels)', error);
  }
}

/** Bits of an address family, by octet count. */
function familyBits(octets: Uint8Array): number {
  return octets.length * 8;
}

function parseRange(target: string, text: string, bracketed: boolean): string {
  const slash = text.indexOf('/');
  const network = parseIpAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!network) throw invalid(target, 'a range is an IP network address, "/" and a prefix length');
  if (bracketed !== (network.length === 16)) {
    throw invalid(target, bracketed ? 'brackets are for IPv6 ranges only' : 'write an IPv6 range in brackets');
  }
  const prefixLength = Number(lengthText);
  if (!PREFIX_LENGTH.test(lengthText) || prefixLength > familyBits(network)) {
    throw invalid(target, `the prefix length must be a number from 0 to ${familyBits(network)}`);
  }
  const range = parseIpRange(text);
  if (!range) {
    const masked = network.map((byte, i) => {
      const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
      return byte & ((0xff00 >> keep) & 0xff);
    });
    throw invalid(
      target,
      `the range has host bits set: its network address is ${formatIpAddress(masked)}/${prefixLength}`,
    );
  }
  return `${formatIpAddress(range.network)}/${range.prefixLength}`;
}

/**
 * Parses one target: `host:port`, `a.b.c.d:port`, `[ipv6]:port`, `a.b.c.d/len:port` or `[ipv6/len]:port`. A host
 * name is lower-cased; an address or range is written canonically, IPv4-mapped IPv6 as IPv4 (as ip-address.ts does).
 * A range must be written with its network address (no host bits set).
 * @throws TlsTargetError `TARGET_INVALID`, naming the target and why.
 */
export function parseTlsTarget(text: string): TlsTarget {
  if (text.length > MAX_TARGET_LENGTH) throw invalid(text, `a target has at most ${MAX_TARGET_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(text)) throw invalid(text, 'a target is printable ASCII without spaces');
  let host: string;
  let portText: string;
  const bracketed = text.startsWith('[');
  if (bracketed) {
    const close = text.indexOf(']');
    if (close < 0) throw invalid(text, 'the "[" is never closed');
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (!rest.startsWith(':')) throw invalid(text, 'a port is required after "]", e.g. [::1]:443');
    portText = rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw invalid(text, 'a port is required, e.g. host:443');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw invalid(text, 'write an IPv6 address in brackets, e.g. [::1]:443');
  }
  const port = parsePort(text, portText);
  if (host.includes('%')) throw invalid(text, 'IPv6 zone identifiers are not supported');
  if (host.includes('/')) return { kind: 'range', range: parseRange(text, host, bracketed), port };
  const octets = parseIpAddress(host);
  if (octets) {
    if (bracketed !== (octets.length === 16)) {
      throw invalid(text, bracketed ? 'brackets are for IPv6 addresses only' : 'write an IPv6 address in brackets');
    }
    return { kind: 'address', address: formatIpAddress(unmapIpv4(octets)), port };
  }
  if (bracketed) throw invalid(text, 'the text in brackets is not an IPv6 address');
  return { kind: 'host', host: parseHostName(text, host), port };
}

/** The canonical text of a target, which {@link parseTlsTarget} reads back to the same target. */
export function formatTlsTarget(target: TlsTarget): string {
  const hostPart = target.kind === 'host' ? target.host : target.kind === 'address' ? target.address : target.range;
  return target.kind !== 'host' && hostPart.includes(':')
    ? `[${hostPart}]:${target.port}`
    : `${hostPart}:${target.port}`;
}

function rangeOf(target: TlsTarget & { kind: 'range' }): IpRange {
  const range = parseIpRange(target.range);
  if (!range) throw invalid(formatTlsTarget(target), 'the range is malformed');
  return range;
}

function rangeSize(range: IpRange): bigint {
  return 1n << BigInt(familyBits(range.network) - range.prefixLength);
}

function toBigInt(octets: Uint8Array): bigint {
  return octets.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

function toOctets(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/**
 * Expands targets to the endpoints to scan: a range becomes each of its addresses (all of them, network and
 * broadcast addresses included: a /28 is 16 endpoints), a host or an address one endpoint. Endpoints are returned in
 * target order without duplicates. The count is taken over all targets before anything is allocated, and counts
 * overlapping targets as often as they are named.
 * @throws TlsTargetError `TARGET_INVALID` (a string target that does not parse); `TARGETS_TOO_MANY` when the targets
 * together hold more than `maxAddresses` (default {@link MAX_SCAN_ADDRESSES}) endpoints, with `details.count` (as a
 * number, approximate beyond 2^53) and `details.limit`.
 */
export function expandTargets(
  targets: readonly (string | TlsTarget)[],
  options: { maxAddresses?: number } = {},
): TlsEndpoint[] {
  const limit = options.maxAddresses ?? MAX_SCAN_ADDRESSES;
  const parsed = targets.map((t) => (typeof t === 'string' ? parseTlsTarget(t) : t));
  let count = 0n;
  for (const target of parsed) count += target.kind === 'range' ? rangeSize(rangeOf(target)) : 1n;
  if (count > BigInt(limit)) {
    throw new TlsTargetError(
      'TARGETS_TOO_MANY',
      `The targets hold ${count} addresses; one scan takes at most ${limit}. Split the ranges.`,
      { count: Number(count), limit },
    );
  }
  const seen = new Set<string>();
  const out: TlsEndpoint[] = [];
  const add = (endpoint: TlsEndpoint, key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    out.push(endpoint);
  };
  for (const target of parsed) {
    if (target.kind === 'host') add({ host: target.host, port: target.port }, `h ${target.host} ${target.port}`);
    else if (target.kind === 'address') {
      add({ address: target.address, port: target.port }, `a ${target.address} ${target.port}`);
    } else {
      const range = rangeOf(target);
      const base = toBigInt(range.network);
      const size = rangeSize(range);
      for (let i = 0n; i < size; i++) {
        const address = formatIpAddress(toOctets(base + i, range.network.length));
        add({ address, port: target.port }, `a ${address} ${target.port}`);
      }
    }
  }
  return out;
}

/**
 * Parses allowed ranges (`10.0.0.0/8`, `fd00::/8`, network address required) once, e.g. when config is read.
 * @throws TlsTargetError `ALLOWED_RANGE_INVALID`.
 */
export function parseAllowedRanges(texts: readonly string[]): IpRange[] {
  return texts.map((text) => {
    const range = parseIpRange(text);
    if (!range) {
      throw new TlsTargetError(
        'ALLOWED_RANGE_INVALID',
        `The allowed range ${quoteName(text)} is not a CIDR range written with its network address.`,
        { range: text.slice(0, 256) },
      );
    }
    return range;
  });
}

function toRanges(allowedRanges: readonly (string | IpRange)[]): IpRange[] {
  const texts = allowedRanges.filter((r): r is string => typeof r === 'string');
  if (texts.length === 0) return allowedRanges as IpRange[];
  const parsed = parseAllowedRanges(texts);
  let next = 0;
  return allowedRanges.map((r) => (typeof r === 'string' ? (parsed[next++] as IpRange) : r));
}

/**
 * 0.0.0.0/8 and :: are never dialled whatever the ranges say: on Linux, connecting to them reaches this host, which
 * is how a guard that only meant "these networks" gets walked around to loopback.
 */
function isUnspecified(octets: Uint8Array): boolean {
  return octets.length === 4 ? octets[0] === 0 : octets.every((b) => b === 0);
}

/**
 * Whether the scanner may connect to `address` (an IP address in text, without brackets): true only when it lies in
 * one of `allowedRanges`. An IPv4-mapped IPv6 address is judged as the IPv4 address it maps (see `unmapIpv4`), so
 * `::ffff:10.0.0.1` needs an IPv4 range; an IPv6 range such as `::/0` allows no IPv4 address. Anything that is not
 * an address, and the unspecified addresses (0.0.0.0/8, ::), are never allowed.
 * @throws TlsTargetError `ALLOWED_RANGE_INVALID` when a range given as text is malformed.
 */
export function checkAllowed(address: string, allowedRanges: readonly (string | IpRange)[]): boolean {
  const parsed = parseIpAddress(address);
  if (!parsed) return false;
  const octets = unmapIpv4(parsed);
  if (isUnspecified(octets)) return false;
  return toRanges(allowedRanges).some((range) => ipInRange(octets, range));
}

function notAllowed(target: string, why: string): TlsTargetError {
  return new TlsTargetError('TARGET_NOT_ALLOWED', `The target ${quoteName(target)} is not allowed: ${why}.`, {
    target: target.slice(0, 256),
  });
}

/**
 * Refuses, before anything is dialled, an address or range target that is not wholly inside one allowed range. Host
 * targets pass: their addresses are only known, and checked, when the scanner resolves them.
 * @throws TlsTargetError `TARGET_INVALID`, `TARGET_NOT_ALLOWED` (naming the target), `ALLOWED_RANGE_INVALID`.
 */
export function assertTargetsAllowed(
  targets: readonly (string | TlsTarget)[],
  allowedRanges: readonly (string | IpRange)[],
): void {
  const ranges = toRanges(allowedRanges);
  for (const item of targets) {
    const target = typeof item === 'string' ? parseTlsTarget(item) : item;
    if (target.kind === 'address' && !checkAllowed(target.address, ranges)) {
      throw notAllowed(formatTlsTarget(target), 'the address is outside the allowed ranges');
    }
    if (target.kind === 'range') {
      const range = rangeOf(target);
      const inside = ranges.some((r) => r.prefixLength <= range.prefixLength && ipInRange(range.network, r));
      if (!inside || isUnspecified(range.network)) {
        throw notAllowed(formatTlsTarget(target), 'the range is not wholly inside one allowed range');
      }
    }
  }
}
