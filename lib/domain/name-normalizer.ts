import { domainToASCII, domainToUnicode } from 'node:url';
import { ValidationError } from './errors.ts';
import type { SubjectAltName } from './inventory.ts';
import { formatIpAddress, parseIpAddress, unmapIpv4 } from './ip-address.ts';

/**
 * Names are normalized before any policy sees them, and a name that cannot be matched unambiguously is refused
 * rather than guessed at: policies and certificates then only ever hold one spelling of each name.
 */

/** A requested name after normalization; `wildcard` marks a DNS name whose leftmost label is `*`. */
export interface NormalizedName {
  readonly type: SubjectAltName['type'];
  readonly value: string;
  readonly wildcard: boolean;
  /** IP names only: the address octets. */
  readonly ip?: Uint8Array;
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const URI_SYNTAX = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
/** SPIFFE ID path segments: letters, digits, dot, dash, underscore; not `.` or `..`. */
export const SPIFFE_SEGMENT = /^[A-Za-z0-9._-]+$/;
const SPIFFE_TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const MAX_URI_LENGTH = 2048;

/** How a name appears in messages: quoted, shortened, control characters escaped. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);
}

function invalid(name: string, why: string): ValidationError {
  return new ValidationError('NAME_INVALID', `The name ${quoteName(name)} is invalid: ${why}. Fix the CSR and retry.`, {
    details: { name: name.slice(0, 256) },
  });
}

/**
 * UTS #39 "highly restrictive": the letters of one label come from one script, or from one of the combinations
 * writing systems use together (Latin with Han and kana, with Han and Hangul, with Han and Bopomofo).
 */
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Devanagari',
  'Bengali',
  'Tamil',
  'Thai',
  'Georgian',
  'Ethiopic',
  'Hangul',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
].map((script) => [script, new RegExp(`^\\p{Script=${script}}$`, 'u')] as const);
const ALLOWED_SCRIPT_SETS = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Hangul']),
  new Set(['Latin', 'Han', 'Bopomofo']),
];

function scriptsOf(label: string): Set<string> {
  const scripts = new Set<string>();
  for (const char of label) {
    if (!/\p{L}/u.test(char)) continue;
    scripts.add(SCRIPTS.find(([, pattern]) => pattern.test(char))?.[0] ?? `U+${char.codePointAt(0)?.toString(16)}`);
  }
  return scripts;
}

function hasMixedScripts(label: string): boolean {
  const scripts = scriptsOf(label);
  if (scripts.size <= 1) return false;
  return !ALLOWED_SCRIPT_SETS.some((allowed) => [...scripts].every((s) => allowed.has(s)));
}

/** Checks an IDNA A-label (`xn--…`): it must decode, re-encode to itself, and not mix scripts. */
function checkALabel(name: string, label: string): void {
  const unicode = domainToUnicode(label);
  if (unicode === '' || unicode === label || domainToASCII(unicode) !== label) {
    throw invalid(name, `the label "${label}" is not a valid IDNA A-label`);
  }
  if (hasMixedScripts(unicode)) {
    throw invalid(name, `the label "${label}" mixes scripts (${[...scriptsOf(unicode)].join(', ')})`);
  }
}

/**
 * A DNS name in canonical form: ASCII, lower case, RFC 1035 lengths, LDH labels, no empty label or trailing dot,
 * IDNA A-labels that decode to a single script. A leftmost `*` label is a wildcard (flagged, under at least two
 * labels); a `*` anywhere else is refused.
 * @throws ValidationError `NAME_INVALID`.
 */
export function normalizeDnsName(name: string): NormalizedName {
  // ASCII first: lower-casing Unicode can turn a look-alike into ASCII (the Kelvin sign K becomes "k"), so a name
  // that is not already ASCII is refused rather than matched against a name it only resembles.
  if (!/^[\x21-\x7e]*$/.test(name)) {
    throw invalid(name, 'DNS names are printable ASCII: write internationalized labels as IDNA A-labels (xn--…)');
  }
  const lower = name.toLowerCase();
  if (lower.length === 0 || lower.length > 253) throw invalid(name, 'a DNS name has 1 to 253 characters');
  if (lower.endsWith('.')) throw invalid(name, 'write DNS names without a trailing dot');
  const labels = lower.split('.');
  const wildcard = labels[0] === '*';
  const rest = wildcard ? labels.slice(1) : labels;
  if (wildcard && rest.length < 2) throw invalid(name, 'a wildcard needs at least two labels after "*."');
  for (const label of rest) {
    if (label.includes('*')) throw invalid(name, 'only the whole leftmost label may be the wildcard "*"');
    if (!LDH_LABEL.test(label)) {
      throw invalid(name, 'each label must be 1 to 63 letters, digits or inner hyphens, with no empty label');
    }
    if (label.startsWith('xn--')) checkALabel(name, label);
    else if (label.slice(2, 4) === '--') {
      // RFC 5891 §4.2.3.1: "??--" labels are reserved for IDNA; only valid A-labels (xn--) may use them.
      throw invalid(
        name,
        `the label "${label}" has "--" in its third and fourth characters, reserved for IDNA A-labels`,
      );
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) throw invalid(name, 'the last label cannot be all digits');
  return { type: 'dns', value: lower, wildcard };
}

/**
 * A URI name. SPIFFE IDs (`spiffe://<trust-domain>/<path>`) get the SPIFFE rules: lower-case trust domain, a
 * non-empty path of segments of `A-Z a-z 0-9 . _ -`, no `.`/`..` segment, no query, fragment, port or user info.
 * Other URIs must be absolute and printable ASCII. Nothing is rewritten: a URI is matched as written.
 * @throws ValidationError `NAME_INVALID`.
 */
export function normalizeUri(name: string): NormalizedName {
  if (name.length > MAX_URI_LENGTH || !URI_SYNTAX.test(name)) {
    throw invalid(name, 'expected an absolute URI of printable ASCII characters, at most 2048 long');
  }
  if (/^spiffe:/i.test(name)) {
    const match = /^spiffe:\/\/([^/]+)(\/.*)$/.exec(name);
    if (!match?.[1] || !match[2] || !SPIFFE_TRUST_DOMAIN.test(match[1])) {
      throw invalid(name, 'a SPIFFE ID is spiffe://<lower-case trust domain>/<path>');
    }
    const segments = match[2].slice(1).split('/');
    if (!segments.every((s) => SPIFFE_SEGMENT.test(s) && s !== '.' && s !== '..')) {
      throw invalid(name, 'SPIFFE ID path segments are non-empty letters, digits, ".", "_" or "-", never "." or ".."');
    }
  }
  return { type: 'uri', value: name, wildcard: false };
}

/**
 * An IP address name in canonical text (dotted quad; RFC 5952 for IPv6). An IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`, `::ffff:a00:1`…) is the IPv4 address it maps, in value and octets, so that IPv4 rules see it
 * and the certificate carries it as 4 octets (see {@link unmapIpv4}).
 * @throws ValidationError `NAME_INVALID`.
 */
export function normalizeIpAddress(name: string): NormalizedName {
  const parsed = parseIpAddress(name);
  if (!parsed) throw invalid(name, 'expected an IPv4 dotted quad or an IPv6 address');
  const ip = unmapIpv4(parsed);
  return { type: 'ip', value: formatIpAddress(ip), wildcard: false, ip };
}

/** Normalizes one requested name by its type. */
export function normalizeName(name: SubjectAltName): NormalizedName {
  if (name.type === 'dns') return normalizeDnsName(name.value);
  if (name.type === 'uri') return normalizeUri(name.value);
  return normalizeIpAddress(name.value);
}

/** At most this many names per certificate: a CSR with more is refused before any matching. */
export const MAX_NAMES = 100;

/**
 * Normalizes every requested name, in order and without duplicates.
 * @throws ValidationError `CSR_NO_NAMES`, `TOO_MANY_NAMES`, `NAME_INVALID`.
 */
export function normalizeNames(requested: readonly SubjectAltName[]): NormalizedName[] {
  if (requested.length === 0) {
    throw new ValidationError(
      'CSR_NO_NAMES',
      'The CSR names nothing to certify: add a subjectAltName extension (or a subject CN) with a DNS name or URI.',
    );
  }
  if (requested.length > MAX_NAMES) {
    throw new ValidationError(
      'TOO_MANY_NAMES',
      `The CSR asks for ${requested.length} names; a certificate holds at most ${MAX_NAMES}. Split the request.`,
    );
  }
  const out: NormalizedName[] = [];
  const seen = new Set<string>();
  for (const name of requested) {
    const normalized = normalizeName(name);
    const key = `${normalized.type}:${normalized.value}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(normalized);
    }
  }
  return out;
}
