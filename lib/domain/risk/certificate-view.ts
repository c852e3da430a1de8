import type { Facts, FactValue } from '../discovery.ts';
import type { CertificateRecord } from '../inventory.ts';
import type { CertificateView } from './rule.ts';

/**
 * Builds the {@link CertificateView} the certificate rules read, from whichever source saw the certificate. Sources
 * disagree on spelling (ACM's `RSA_2048` and `EC_prime256v1`, our `EC_P256` with a key size), and discovered facts are
 * JSON written by an older or newer source version: every reader here is defensive, so a missing or odd fact leaves the
 * field undefined (the rules that need it stay silent) and never throws.
 */

const DAY_MS = 86_400_000;

/** How long before `notAfter` renewal is due when the source does not say: ACM's own default for FSBP ACM.1. */
export const DEFAULT_RENEWAL_DAYS = 30;

/** What only a scan or the rest of the inventory knows about a certificate; each absent field stays unknown. */
export interface CertificateViewExtras {
  /** Endpoints (`host:port`) a TLS scan found serving it. */
  readonly servedAt?: readonly string[] | undefined;
  readonly chainValid?: boolean | undefined;
  readonly nameMatches?: boolean | undefined;
  /** Lower-case hex SHA-256 of its SubjectPublicKeyInfo. */
  readonly publicKeySha256?: string | undefined;
  /** Overrides what the record or facts say (e.g. a scan read the certificate itself). */
  readonly signatureAlgorithm?: string | undefined;
}

/**
 * The signature algorithm this plane's CA puts on the leaves it signs, by the CA key's algorithm (`EC_P256`,
 * `EC_P384`, `RSA_2048`…; see `signatureAlgorithmFor` in lib/pki/issuer.ts): the inventory record does not carry it,
 * so whoever knows the CA key passes it as {@link CertificateViewExtras.signatureAlgorithm}. Undefined when unknown.
 */
export function signatureAlgorithmOfCaKey(caKeyAlgorithm: string): string | undefined {
  if (caKeyAlgorithm === 'EC_P256') return 'ecdsa-with-SHA256';
  if (caKeyAlgorithm === 'EC_P384') return 'ecdsa-with-SHA384';
  if (/^RSA_\d+$/.test(caKeyAlgorithm)) return 'sha256WithRSAEncryption';
  return undefined;
}

/**
 * The view of a certificate this plane issued. It is not self-signed (our CA signed it), it is revoked when the
 * inventory says so, its names are its subjectAltNames (else its subject's CN), and its renewal is due at the
 * policy's `renewAfter`. Where it is served, and its chain and name checks, come from a scan, through `extras`.
 */
export function certificateViewOfRecord(
  record: CertificateRecord,
  extras: CertificateViewExtras = {},
): CertificateView {
  const key = issuedKey(record.keyAlgorithm, record.keySize);
  const sanNames = record.subjectAltNames.map((name) => name.value);
  const commonName = commonNameOf(record.subject);
  return {
    notBefore: isoOrUndefined(record.notBefore),
    notAfter: isoOrUndefined(record.notAfter),
    renewAfter: isoOrUndefined(record.renewAfter),
    keyFamily: key.family,
    keyBits: key.bits,
    signatureAlgorithm: extras.signatureAlgorithm,
    names: sanNames.length > 0 ? sanNames : commonName === undefined ? [] : [commonName],
    selfSigned: false,
    publicKeySha256: extras.publicKeySha256,
    revoked: record.status === 'revoked',
    servedAt: [...(extras.servedAt ?? [])],
    inUseBy: [],
    chainValid: extras.chainValid,
    nameMatches: extras.nameMatches,
  };
}

/**
 * The view of a certificate the `aws-acm` source discovered, from its facts (see `certificateFacts` in
 * lib/adapters/discovery/aws-acm-source.ts). ACM has no renewal date of its own here: the rules fall back to
 * {@link DEFAULT_RENEWAL_DAYS} before `notAfter`. `AMAZON_ISSUED` and `PRIVATE` certificates are signed by an Amazon or
 * private CA, so not self-signed; an `IMPORTED` one may be, and ACM's description does not say (undefined).
 */
export function certificateViewOfAcmFacts(facts: Facts, extras: CertificateViewExtras = {}): CertificateView {
  const key = acmKey(stringFact(facts.keyAlgorithm));
  const sans = stringsFact(facts.subjectAlternativeNames);
  const domainName = stringFact(facts.domainName);
  const type = stringFact(facts.type)?.toUpperCase();
  const status = stringFact(facts.status)?.toUpperCase();
  return {
    notBefore: isoOrUndefined(facts.notBefore),
    notAfter: isoOrUndefined(facts.notAfter),
    renewAfter: undefined,
    keyFamily: key.family,
    keyBits: key.bits,
    signatureAlgorithm: extras.signatureAlgorithm ?? stringFact(facts.signatureAlgorithm),
    names: sans.length > 0 ? sans : domainName === undefined ? [] : [domainName],
    selfSigned: type === 'AMAZON_ISSUED' || type === 'PRIVATE' ? false : undefined,
    publicKeySha256: extras.publicKeySha256,
    revoked: status === 'REVOKED',
    servedAt: [...(extras.servedAt ?? [])],
    inUseBy: stringsFact(facts.inUseBy),
    chainValid: extras.chainValid,
    nameMatches: extras.nameMatches,
  };
}

/** When renewal is due: the view's `renewAfter`, else {@link DEFAULT_RENEWAL_DAYS} before `notAfter`; else unknown. */
export function renewalDueAt(view: CertificateView): Date | undefined {
  const renewAfter = dateOf(view.renewAfter);
  if (renewAfter !== undefined) return renewAfter;
  const notAfter = dateOf(view.notAfter);
  return notAfter === undefined ? undefined : new Date(notAfter.getTime() - DEFAULT_RENEWAL_DAYS * DAY_MS);
}

/** A date from an ISO 8601 string, or undefined when absent or unparsable. */
export function dateOf(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function isoOrUndefined(value: FactValue | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function stringFact(value: FactValue | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The strings of an array fact, skipping anything else in it; [] when it is not an array. */
function stringsFact(value: FactValue | undefined): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === 'string' && item.length > 0);
}

interface KeyFacts {
  readonly family: CertificateView['keyFamily'];
  readonly bits: number | undefined;
}

const UNKNOWN_KEY: KeyFacts = { family: undefined, bits: undefined };

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function issuedKey(algorithm: string, keySize: number): KeyFacts {
  switch (algorithm) {
    case 'EC_P256':
      return { family: 'EC', bits: positiveInteger(keySize) ?? 256 };
    case 'EC_P384':
      return { family: 'EC', bits: positiveInteger(keySize) ?? 384 };
    case 'RSA':
      return { family: 'RSA', bits: positiveInteger(keySize) };
    case 'ED25519':
      return { family: 'ED25519', bits: positiveInteger(keySize) ?? 256 };
    default:
      return UNKNOWN_KEY;
  }
}

/** EC curve bits by the names ACM and OpenSSL give curves. */
const CURVE_BITS: Readonly<Record<string, number>> = {
  prime192v1: 192,
  secp192r1: 192,
  secp224r1: 224,
  prime256v1: 256,
  secp256r1: 256,
  secp256k1: 256,
  p256: 256,
  secp384r1: 384,
  p384: 384,
  secp521r1: 521,
  p521: 521,
};

/** ACM's key algorithm: `RSA_2048`, `EC_prime256v1`… (its API answers with a dash, the fact with an underscore). */
function acmKey(algorithm: string | undefined): KeyFacts {
  if (algorithm === undefined) return UNKNOWN_KEY;
  const rsa = /^RSA[_-](\d{1,5})$/i.exec(algorithm);
  if (rsa) return { family: 'RSA', bits: positiveInteger(Number(rsa[1])) };
  const ec = /^EC[_-]([A-Za-z0-9-]+)$/i.exec(algorithm);
  if (ec) {
    const curve = (ec[1] ?? '').toLowerCase().replace(/-/g, '');
    return { family: 'EC', bits: Object.hasOwn(CURVE_BITS, curve) ? CURVE_BITS[curve] : undefined };
  }
  if (/^ED25519$/i.test(algorithm)) return { family: 'ED25519', bits: 256 };
  return UNKNOWN_KEY;
}

/**
 * The CN of an RFC 4514 subject (`CN=api.example.com,O=Example`), unescaped; undefined when there is none. Our
 * issuance escapes with a backslash before the character (see `formatSubject` in lib/pki/leaf-certificate.ts).
 */
function commonNameOf(subject: string): string | undefined {
  for (const attribute of subject.match(/(?:\\.|[^,\\])+/g) ?? []) {
    const match = /^\s*CN\s*=(.*)$/is.exec(attribute);
    if (match?.[1] === undefined) continue;
    const value = match[1].replace(/\\(.)/gs, '$1').trim();
    return value.length > 0 ? value : undefined;
  }
  return undefined;
}
