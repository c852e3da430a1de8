import { ValidationError } from './errors.ts';
import type { SubjectAltName } from './inventory.ts';

/**
 * Which names a certificate may carry. Plain data, so that a policy engine can build one per requester and
 * {@link checkNames} stays a pure function; an empty list allows nothing of that kind.
 */
export interface NamePolicy {
  /** DNS names allowed exactly (lower-case, no trailing dot). */
  readonly dnsNames: readonly string[];
  /** DNS zones whose subdomains are allowed: `local.test` allows `a.local.test`, not `local.test` itself. */
  readonly dnsSuffixes: readonly string[];
  /**
   * URI prefixes, each `scheme://authority/`; a URI is allowed when it is a prefix followed by a non-empty path of
   * segments made of `A-Z a-z 0-9 . _ -` (the SPIFFE ID path rules: no empty, `.` or `..` segment, no query).
   */
  readonly uriPrefixes: readonly string[];
  /** IP addresses allowed exactly, in canonical text form (dotted quad, RFC 5952 for IPv6). */
  readonly ipAddresses: readonly string[];
}

/** The default local configuration: `*.local.test` and `localhost`, SPIFFE IDs of `local.test`, no IPs. */
export const DEFAULT_LOCAL_NAME_POLICY: NamePolicy = {
  dnsNames: ['localhost'],
  dnsSuffixes: ['local.test'],
  uriPrefixes: ['spiffe://local.test/'],
  ipAddresses: [],
};

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const URI_SYNTAX = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
const SPIFFE_SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_URI_LENGTH = 2048;

/** How a name appears in messages: quoted, shortened, control characters escaped. */
function quote(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);
}

function invalid(name: string, why: string): ValidationError {
  return new ValidationError('NAME_INVALID', `The name ${quote(name)} is invalid: ${why}. Fix the CSR and retry.`, {
    details: { name },
  });
}

function notAllowed(name: string, why: string): ValidationError {
  return new ValidationError('NAME_NOT_ALLOWED', `The name ${quote(name)} is not allowed: ${why}.`, {
    details: { name },
  });
}

/** A DNS name lower-cased and checked against RFC 1035 syntax (LDH labels, lengths), or NAME_INVALID. */
function normalizeDnsName(name: string): string {
  // ASCII first: lower-casing Unicode can turn a look-alike into ASCII (the Kelvin sign K becomes "k"), so a name
  // that is not already ASCII is refused rather than matched against a name it only resembles.
  if (!/^[\x21-\x7e]*$/.test(name)) {
    throw invalid(name, 'DNS names are ASCII: write internationalized labels as IDNA A-labels (xn--…)');
  }
  const lower = name.toLowerCase();
  if (lower.length === 0 || lower.length > 253) throw invalid(name, 'a DNS name has 1 to 253 characters');
  if (lower.endsWith('.')) throw invalid(name, 'write DNS names without a trailing dot');
  const labels = lower.split('.');
  const [first, ...rest] = labels;
  const wildcard = first === '*' && rest.length > 0;
  for (const label of wildcard ? rest : labels) {
    if (!LDH_LABEL.test(label)) {
      throw invalid(name, 'each label must be 1 to 63 letters, digits or inner hyphens, with no empty label');
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) throw invalid(name, 'the last label cannot be all digits');
  if (wildcard) throw notAllowed(lower, 'wildcard names are not issued; request each name');
  return lower;
}

function checkDnsName(policy: NamePolicy, name: string): SubjectAltName {
  const value = normalizeDnsName(name);
  const allowed =
    policy.dnsNames.includes(value) || policy.dnsSuffixes.some((suffix) => value.endsWith(`.${suffix.toLowerCase()}`));
  if (!allowed) throw notAllowed(value, `DNS names must be ${describeDns(policy)}`);
  return { type: 'dns', value };
}

function describeDns(policy: NamePolicy): string {
  const options = [...policy.dnsNames, ...policy.dnsSuffixes.map((s) => `a subdomain of ${s}`)];
  return options.length === 0 ? 'absent (this policy allows none)' : `one of: ${options.join(', ')}`;
}

function checkUri(policy: NamePolicy, name: string): SubjectAltName {
  if (name.length > MAX_URI_LENGTH || !URI_SYNTAX.test(name)) {
    throw invalid(name, 'expected an absolute URI of printable ASCII characters, at most 2048 long');
  }
  const allowed = policy.uriPrefixes.some((prefix) => {
    if (!name.startsWith(prefix)) return false;
    const segments = name.slice(prefix.length).split('/');
    return segments.every((s) => SPIFFE_SEGMENT.test(s) && s !== '.' && s !== '..');
  });
  if (!allowed) {
    const prefixes = policy.uriPrefixes.map((p) => `${p}<path>`).join(', ');
    throw notAllowed(name, prefixes ? `URIs must have the form ${prefixes}` : 'this policy allows no URI names');
  }
  return { type: 'uri', value: name };
}

function checkIp(policy: NamePolicy, name: string): SubjectAltName {
  const bytes = parseIpAddress(name);
  if (!bytes) throw invalid(name, 'expected an IPv4 dotted quad or an IPv6 address');
  const value = formatIpAddress(bytes);
  const allowed = policy.ipAddresses.some((ip) => {
    const parsed = parseIpAddress(ip);
    return parsed !== undefined && formatIpAddress(parsed) === value;
  });
  if (!allowed) throw notAllowed(value, 'this policy allows no IP address names except those configured');
  return { type: 'ip', value };
}

/**
 * Checks requested names against a policy: each is validated (NAME_INVALID), normalised (DNS lower-cased, IPs in
 * canonical form) and allowed or refused (NAME_NOT_ALLOWED, details `{ name }`). Every name must pass; nothing is
 * dropped silently. Returns the names in request order without duplicates.
 * @throws ValidationError `CSR_NO_NAMES` when nothing was requested.
 */
export function checkNames(policy: NamePolicy, requested: readonly SubjectAltName[]): SubjectAltName[] {
  if (requested.length === 0) {
    throw new ValidationError(
      'CSR_NO_NAMES',
      'The CSR names nothing to certify: add a subjectAltName extension (or a subject CN) with a DNS name or URI.',
    );
  }
  const out: SubjectAltName[] = [];
  const seen = new Set<string>();
  for (const name of requested) {
    const checked =
      name.type === 'dns'
        ? checkDnsName(policy, name.value)
        : name.type === 'uri'
          ? checkUri(policy, name.value)
          : checkIp(policy, name.value);
    const key = `${checked.type}:${checked.value}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(checked);
    }
  }
  return out;
}

const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The 4 or 16 octets of an IPv4 (dotted quad, no leading zeros) or IPv6 (RFC 4291 text, no zone) address. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const v4 = IPV4.exec(text);
  if (v4) return Uint8Array.from(v4.slice(1).map(Number));
  if (!text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string, last: boolean): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const [i, group] of groups.entries()) {
      if (last && i === groups.length - 1 && group.includes('.')) {
        const tail = IPV4.exec(group);
        if (!tail) return undefined;
        out.push(...tail.slice(1).map(Number));
      } else if (HEX_GROUP.test(group)) {
        const n = Number.parseInt(group, 16);
        out.push(n >> 8, n & 0xff);
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = parse(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parse(halves[1] ?? '', true) : [];
  if (!head || !tail) return undefined;
  const missing = 16 - head.length - tail.length;
  if (halves.length === 2 ? missing < 2 : missing !== 0) return undefined;
  return Uint8Array.from([...head, ...new Array<number>(missing).fill(0), ...tail]);
}

/** Canonical text of a 4- or 16-octet address: dotted quad, or RFC 5952 (lower case, longest zero run as `::`). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError('an IP address has 4 or 16 octets');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
