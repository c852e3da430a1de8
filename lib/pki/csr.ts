import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ValidationError } from '#lib/domain/errors.ts';
import type { LeafKeyAlgorithm, SubjectAltName } from '#lib/domain/inventory.ts';
import { formatIpAddress } from '#lib/domain/ip-address.ts';
import {
  bitString,
  children,
  type DerElement,
  DerError,
  decodeDer,
  encode,
  expectTag,
  NULL,
  oid,
  readBitString,
  readBoolean,
  readNamedBits,
  readOid,
  readSequence,
  readSmallInteger,
  readString,
  readUnsignedInteger,
  sequence,
  Tag,
  unsignedInteger,
} from './der.ts';
import { decodePem, PemError } from './pem.ts';

/** A leaf's public key as parsed from a CSR, re-encoded canonically (no byte of the CSR's SPKI is copied). */
export interface LeafPublicKey {
  readonly algorithm: LeafKeyAlgorithm;
  /** Curve size or RSA modulus length in bits. */
  readonly keySize: number;
  /** Canonical DER SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** The subjectPublicKey bits, from which the key identifier is computed (RFC 5280 §4.2.1.2, method 1). */
  readonly subjectPublicKey: Buffer;
}

/** A CSR whose proof of possession verified. */
export interface ParsedCsr {
  readonly publicKey: LeafPublicKey;
  /** subjectAltName entries, then each subject CN that is not already one of them; not yet checked by any policy. */
  readonly requestedNames: readonly SubjectAltName[];
  /** The subjectAltName extension's entries alone. */
  readonly subjectAltNames: readonly SubjectAltName[];
  /** The subject's CNs, as written. */
  readonly commonNames: readonly string[];
}

const OID = {
  commonName: '2.5.4.3',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ed25519: '1.3.101.112',
} as const;

/** Names for OIDs we refuse, so that messages say what was sent. */
const REFUSED_NAMES = new Map([
  ['1.2.840.10045.3.1.1', 'EC P-192'],
  ['1.3.132.0.33', 'EC P-224'],
  ['1.3.132.0.35', 'EC P-521'],
  ['1.3.132.0.10', 'EC secp256k1'],
  ['1.3.101.113', 'Ed448'],
  ['1.3.101.110', 'X25519'],
  ['1.3.101.111', 'X448'],
  ['1.2.840.10040.4.1', 'DSA'],
  ['1.2.840.113549.1.1.10', 'RSASSA-PSS'],
  ['1.2.840.113549.1.1.4', 'md5WithRSAEncryption'],
  ['1.2.840.113549.1.1.5', 'sha1WithRSAEncryption'],
  ['1.2.840.113549.1.1.14', 'sha224WithRSAEncryption'],
  ['1.2.840.10045.4.1', 'ecdsa-with-SHA1'],
  ['1.2.840.10045.4.3.1', 'ecdsa-with-SHA224'],
]);

type KeyKind = 'ec' | 'rsa' | 'ed25519';

interface SignatureAlgorithm {
  readonly key: KeyKind;
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** RFC 5758 and RFC 8410 forbid parameters; RSA's are NULL, and absent is tolerated as many encoders write it. */
  readonly nullParamsAllowed: boolean;
}

const SIGNATURE_ALGORITHMS = new Map<string, SignatureAlgorithm>([
  ['1.2.840.10045.4.3.2', { key: 'ec', hash: 'sha256', nullParamsAllowed: false }],
  ['1.2.840.10045.4.3.3', { key: 'ec', hash: 'sha384', nullParamsAllowed: false }],
  ['1.2.840.10045.4.3.4', { key: 'ec', hash: 'sha512', nullParamsAllowed: false }],
  ['1.2.840.113549.1.1.11', { key: 'rsa', hash: 'sha256', nullParamsAllowed: true }],
  ['1.2.840.113549.1.1.12', { key: 'rsa', hash: 'sha384', nullParamsAllowed: true }],
  ['1.2.840.113549.1.1.13', { key: 'rsa', hash: 'sha512', nullParamsAllowed: true }],
  [OID.ed25519, { key: 'ed25519', hash: null, nullParamsAllowed: false }],
]);

interface Curve {
  readonly algorithm: 'EC_P256' | 'EC_P384';
  readonly namedCurve: 'P-256' | 'P-384';
  /** Field size in bytes. */
  readonly size: number;
  readonly spkiAlgorithm: Buffer;
}

const CURVES = new Map<string, Curve>([
  [
    OID.p256,
    {
      algorithm: 'EC_P256',
      namedCurve: 'P-256',
      size: 32,
      spkiAlgorithm: encode(sequence(oid(OID.ecPublicKey), oid(OID.p256))),
    },
  ],
  [
    OID.p384,
    {
      algorithm: 'EC_P384',
      namedCurve: 'P-384',
      size: 48,
      spkiAlgorithm: encode(sequence(oid(OID.ecPublicKey), oid(OID.p384))),
    },
  ],
]);

const RSA_SPKI_ALGORITHM = encode(sequence(oid(OID.rsaEncryption), NULL));
const ED25519_SPKI_ALGORITHM = encode(sequence(oid(OID.ed25519)));

const MAX_PEM_LENGTH = 64 * 1024;
const KEY_USAGE_KEY_CERT_SIGN = 5;
const KEY_USAGE_CRL_SIGN = 6;

function malformed(why: string): ValidationError {
  return new ValidationError(
    'CSR_MALFORMED',
    `The CSR could not be read (${why}). Send one PEM "CERTIFICATE REQUEST" block in DER, as openssl req writes it.`,
  );
}

function keyUnsupported(what: string): ValidationError {
  return new ValidationError(
    'KEY_UNSUPPORTED',
    `The CSR's public key (${what}) is not accepted: use EC P-256, EC P-384, RSA 2048 to 8192 bits, or Ed25519.`,
  );
}

/**
 * Reads a PEM CSR, checks it is strict DER of the PKCS#10 shape, that its key is one we issue for, that it asks for
 * nothing a leaf may not have (CA:TRUE, keyCertSign, cRLSign), and verifies its signature (proof of possession).
 * @throws ValidationError `CSR_MALFORMED`, `CSR_SIGNATURE_INVALID`, `CSR_SIGNATURE_ALGORITHM_UNSUPPORTED`,
 *   `KEY_UNSUPPORTED`, `KEY_TOO_WEAK`, `CSR_REQUESTS_CA` or `NAME_INVALID` (a subjectAltName of another type).
 */
export function parseCsr(pem: string): ParsedCsr {
  if (pem.length > MAX_PEM_LENGTH) throw malformed('longer than 64 KiB');
  let der: Buffer;
  try {
    der = decodePem(pem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']).der;
  } catch (error) {
    if (error instanceof PemError) throw malformed(error.message);
    throw error;
  }
  return parseCsrDer(der);
}

/** {@link parseCsr} for a DER CSR. */
export function parseCsrDer(der: Uint8Array): ParsedCsr {
  try {
    const [info, signatureAlgorithm, signatureBits] = readSequence(decodeDer(der), 3) as [
      DerElement,
      DerElement,
      DerElement,
    ];
    const [version, subject, spki, attributes] = readSequence(info, 3, 4) as [
      DerElement,
      DerElement,
      DerElement,
      DerElement | undefined,
    ];
    if (readSmallInteger(version) !== 0) throw malformed('version must be 1 (0)');
    const { key, publicKey, kind } = readPublicKey(spki);
    const algorithm = readSignatureAlgorithm(signatureAlgorithm);
    if (algorithm.key !== kind) {
      throw new ValidationError(
        'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED',
        "The CSR's signature algorithm does not match its key type: sign the CSR with the key it carries.",
      );
    }
    const signature = readBitString(signatureBits);
    let valid = false;
    try {
      valid = verify(algorithm.hash, info.raw, key, signature);
    } catch {
      valid = false;
    }
    if (!valid) {
      throw new ValidationError(
        'CSR_SIGNATURE_INVALID',
        "The CSR's signature does not verify: sign it with the private key of the public key it carries, and send it " +
          'unaltered.',
      );
    }
    const extensions = attributes === undefined ? [] : readExtensionRequest(attributes);
    const sanNames = readRequestedExtensions(extensions);
    const commonNames = readCommonNames(subject);
    const extraNames = commonNames
      .filter((cn) => !sanNames.some((n) => n.value.toLowerCase() === cn.toLowerCase()))
      .map((value): SubjectAltName => ({ type: 'dns', value }));
    return { publicKey, subjectAltNames: sanNames, commonNames, requestedNames: [...sanNames, ...extraNames] };
  } catch (error) {
    if (error instanceof DerError) throw malformed(error.message);
    throw error;
  }
}

function readSignatureAlgorithm(element: DerElement): SignatureAlgorithm {
  const [algorithmOid, params] = readSequence(element, 1, 2) as [DerElement, DerElement | undefined];
  const id = readOid(algorithmOid);
  const algorithm = SIGNATURE_ALGORITHMS.get(id);
  if (!algorithm) {
    throw new ValidationError(
      'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED',
      `The CSR is signed with ${REFUSED_NAMES.get(id) ?? `algorithm ${id}`}, which is not accepted: sign it with ` +
        'ECDSA and SHA-256/384/512, RSA PKCS#1 v1.5 and SHA-256/384/512, or Ed25519.',
    );
  }
  if (params !== undefined && !(algorithm.nullParamsAllowed && params.raw.equals(NULL))) {
    throw malformed('unexpected signature algorithm parameters');
  }
  return algorithm;
}

interface ReadKey {
  readonly key: KeyObject;
  readonly publicKey: LeafPublicKey;
  readonly kind: KeyKind;
}

function readPublicKey(spki: DerElement): ReadKey {
  const [algorithmId, keyBits] = readSequence(spki, 2) as [DerElement, DerElement];
  const [algorithmOid, params] = readSequence(algorithmId, 1, 2) as [DerElement, DerElement | undefined];
  const id = readOid(algorithmOid);
  const subjectPublicKey = readBitString(keyBits);
  if (id === OID.ecPublicKey) return readEcKey(params, subjectPublicKey);
  if (id === OID.rsaEncryption) {
    if (!params?.raw.equals(NULL)) throw malformed('RSA key parameters must be NULL');
    return readRsaKey(subjectPublicKey);
  }
  if (id === OID.ed25519) {
    if (params !== undefined || subjectPublicKey.length !== 32) throw malformed('malformed Ed25519 key');
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: subjectPublicKey.toString('base64url') },
      format: 'jwk',
    });
    const bits = Buffer.from(subjectPublicKey);
    return {
      key,
      kind: 'ed25519',
      publicKey: {
        algorithm: 'ED25519',
        keySize: 256,
        spki: encode(sequence(ED25519_SPKI_ALGORITHM, bitString(bits))),
        subjectPublicKey: bits,
      },
    };
  }
  throw keyUnsupported(REFUSED_NAMES.get(id) ?? `algorithm ${id}`);
}

function readEcKey(params: DerElement | undefined, point: Buffer): ReadKey {
  if (params === undefined || params.tag !== Tag.OID) throw keyUnsupported('EC key without a named curve');
  const curveOid = readOid(params);
  const curve = CURVES.get(curveOid);
  if (curve === undefined) throw keyUnsupported(REFUSED_NAMES.get(curveOid) ?? `EC curve ${curveOid}`);
  if (point[0] !== 0x04) throw keyUnsupported('EC point not in uncompressed form');
  if (point.length !== 1 + 2 * curve.size) throw malformed('EC point of the wrong length');
  let key: KeyObject;
  try {
    // JWK from the point: about twice as fast as handing OpenSSL the SPKI, and OpenSSL still checks the point.
    key = createPublicKey({
      key: {
        kty: 'EC',
        crv: curve.namedCurve,
        x: point.toString('base64url', 1, 1 + curve.size),
        y: point.toString('base64url', 1 + curve.size),
      },
      format: 'jwk',
    });
  } catch {
    throw malformed('the EC public key is not a point on its curve');
  }
  const bits = Buffer.from(point);
  return {
    key,
    kind: 'ec',
    publicKey: {
      algorithm: curve.algorithm,
      keySize: curve.size * 8,
      spki: encode(sequence(curve.spkiAlgorithm, bitString(bits))),
      subjectPublicKey: bits,
    },
  };
}

function readRsaKey(subjectPublicKey: Buffer): ReadKey {
  const [modulusElement, exponentElement] = readSequence(decodeDer(subjectPublicKey), 2) as [DerElement, DerElement];
  const modulus = readUnsignedInteger(modulusElement);
  const exponent = readUnsignedInteger(exponentElement);
  const bits = (modulus.length - 1) * 8 + (32 - Math.clz32(modulus[0] ?? 0));
  if (bits < 2048) {
    throw new ValidationError(
      'KEY_TOO_WEAK',
      `The CSR's RSA key has ${bits} bits; generate a key of at least 2048 bits (or use EC P-256).`,
    );
  }
  if (bits > 8192) throw keyUnsupported(`RSA ${bits} bits`);
  const e = exponent.length <= 4 ? exponent.reduce((n, b) => n * 256 + b, 0) : 0;
  if (!((modulus[modulus.length - 1] ?? 0) & 1) || e < 3 || e % 2 === 0) {
    throw keyUnsupported('RSA key with an even modulus or an exponent that is even, below 3 or above 2^32');
  }
  const key = createPublicKey({
    key: { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') },
    format: 'jwk',
  });
  const canonicalKey = encode(sequence(unsignedInteger(modulus), unsignedInteger(exponent)));
  return {
    key,
    kind: 'rsa',
    publicKey: {
      algorithm: 'RSA',
      keySize: bits,
      spki: encode(sequence(RSA_SPKI_ALGORITHM, bitString(canonicalKey))),
      subjectPublicKey: canonicalKey,
    },
  };
}

/** The Extensions inside the extensionRequest attribute; other attributes are ignored. */
function readExtensionRequest(attributes: DerElement): DerElement[] {
  expectTag(attributes, 0xa0);
  let extensions: DerElement[] | undefined;
  for (const attribute of children(attributes)) {
    const [type, values] = readSequence(attribute, 2) as [DerElement, DerElement];
    const attributeValues = readSequence(values, 1, Number.POSITIVE_INFINITY, Tag.SET);
    if (readOid(type) !== OID.extensionRequest) continue;
    if (extensions !== undefined || attributeValues.length !== 1) throw malformed('more than one extensionRequest');
    extensions = readSequence(attributeValues[0] as DerElement, 1, Number.POSITIVE_INFINITY);
  }
  return extensions ?? [];
}

/**
 * Refuses CA requests and returns the subjectAltName entries. The CSR's other extensions are ignored: the profile,
 * not the requester, decides what a certificate carries.
 */
function readRequestedExtensions(extensions: readonly DerElement[]): SubjectAltName[] {
  const seen = new Set<string>();
  let names: SubjectAltName[] = [];
  for (const extension of extensions) {
    const parts = readSequence(extension, 2, 3);
    const id = readOid(parts[0] as DerElement);
    if (parts.length === 3) readBoolean(parts[1] as DerElement);
    const value = decodeDer(expectTag(parts[parts.length - 1] as DerElement, Tag.OCTET_STRING).content);
    if (seen.has(id)) throw malformed(`extension ${id} appears twice`);
    seen.add(id);
    if (id === OID.subjectAltName) names = readGeneralNames(value);
    else if (id === OID.basicConstraints && requestsCa(value)) throw requestsCaError('basicConstraints CA:TRUE');
    else if (id === OID.keyUsage) {
      const bits = readNamedBits(value);
      if (bits.includes(KEY_USAGE_KEY_CERT_SIGN) || bits.includes(KEY_USAGE_CRL_SIGN)) {
        throw requestsCaError('keyUsage keyCertSign or cRLSign');
      }
    }
  }
  return names;
}

function requestsCa(basicConstraints: DerElement): boolean {
  const [first] = readSequence(basicConstraints, 0, 2);
  return first?.tag === Tag.BOOLEAN && readBoolean(first);
}

function requestsCaError(what: string): ValidationError {
  return new ValidationError(
    'CSR_REQUESTS_CA',
    `The CSR asks for ${what}; this CA issues leaf certificates only. Remove that extension from the CSR.`,
  );
}

const GENERAL_NAME_TYPES = new Map([
  [0xa0, 'otherName'],
  [0x81, 'rfc822Name'],
  [0xa3, 'x400Address'],
  [0xa4, 'directoryName'],
  [0xa5, 'ediPartyName'],
  [0x88, 'registeredID'],
]);

function readGeneralNames(san: DerElement): SubjectAltName[] {
  return readSequence(san, 1, Number.POSITIVE_INFINITY).map((name): SubjectAltName => {
    switch (name.tag) {
      case 0x82:
        return { type: 'dns', value: readString(name, Tag.IA5_STRING) };
      case 0x86:
        return { type: 'uri', value: readString(name, Tag.IA5_STRING) };
      case 0x87:
        if (name.content.length !== 4 && name.content.length !== 16) throw malformed('IP address of the wrong length');
        return { type: 'ip', value: formatIpAddress(name.content) };
      default: {
        const type = GENERAL_NAME_TYPES.get(name.tag) ?? 'unknown';
        throw new ValidationError(
          'NAME_INVALID',
          `The CSR requests a subjectAltName of type ${type}; only DNS names, IP addresses and URIs can be issued.`,
          { details: { type } },
        );
      }
    }
  });
}

/** Every CN in the subject; the rest of the subject is ignored, as the CA writes its own. */
function readCommonNames(subject: DerElement): string[] {
  const names: string[] = [];
  for (const rdn of readSequence(subject, 0, Number.POSITIVE_INFINITY)) {
    for (const attribute of readSequence(rdn, 1, Number.POSITIVE_INFINITY, Tag.SET)) {
      const [type, value] = readSequence(attribute, 2) as [DerElement, DerElement];
      if (readOid(type) !== OID.commonName) continue;
      try {
        names.push(readString(value));
      } catch {
        throw new ValidationError(
          'NAME_INVALID',
          'The CSR subject CN must be a UTF8String, PrintableString or IA5String: fix the CSR and retry.',
        );
      }
    }
  }
  return names;
}
