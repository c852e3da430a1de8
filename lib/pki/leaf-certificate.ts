import { hash, randomFillSync } from 'node:crypto';
import type { LeafKeyAlgorithm, SubjectAltName } from '#lib/domain/inventory.ts';
import { parseIpAddress } from '#lib/domain/ip-address.ts';
import type { ExtendedKeyUsage } from '#lib/domain/policy.ts';
import {
  bitString,
  boolean,
  contextTag,
  type Der,
  encode,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  Tag,
  time,
  tlv,
  unsignedInteger,
  utf8String,
} from './der.ts';

/** Everything a leaf TBSCertificate holds, decided by the issuance core; nothing here comes unchecked from a CSR. */
export interface LeafCertificateFields {
  /** Magnitude of the serial number (see {@link randomSerialNumber}). */
  readonly serialNumber: Uint8Array;
  /** DER AlgorithmIdentifier of the CA's signature. */
  readonly signatureAlgorithm: Uint8Array;
  /** DER Name of the issuer, exactly as the CA certificate's subject. */
  readonly issuer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject CN; with no CN, O or OU the subject is empty (and the SAN extension critical). */
  readonly commonName: string | undefined;
  readonly organization?: string | undefined;
  readonly organizationalUnit?: string | undefined;
  /** Canonical DER SubjectPublicKeyInfo of the leaf key. */
  readonly subjectPublicKeyInfo: Uint8Array;
  readonly subjectKeyIdentifier: Uint8Array;
  readonly authorityKeyIdentifier: Uint8Array;
  readonly keyUsage: readonly KeyUsage[];
  readonly extendedKeyUsages: readonly ExtendedKeyUsage[];
  /** Already checked by the name policy; DNS names lower-case, IPs canonical. */
  readonly subjectAltNames: readonly SubjectAltName[];
}

/** RFC 5280 §4.2.1.3 keyUsage bits a leaf can get. */
export type KeyUsage = 'digitalSignature' | 'keyEncipherment';

const KEY_USAGE_BITS: Record<KeyUsage, number> = { digitalSignature: 0, keyEncipherment: 2 };

const EKU_OIDS: Record<ExtendedKeyUsage, Buffer> = {
  serverAuth: oid('1.3.6.1.5.5.7.3.1'),
  clientAuth: oid('1.3.6.1.5.5.7.3.2'),
};

const EXT = {
  basicConstraints: oid('2.5.29.19'),
  keyUsage: oid('2.5.29.15'),
  extKeyUsage: oid('2.5.29.37'),
  subjectKeyIdentifier: oid('2.5.29.14'),
  authorityKeyIdentifier: oid('2.5.29.35'),
  subjectAltName: oid('2.5.29.17'),
};

const COMMON_NAME = oid('2.5.4.3');
const ORGANIZATION = oid('2.5.4.10');
const ORGANIZATIONAL_UNIT = oid('2.5.4.11');
const VERSION_3 = encode(tlv(contextTag(0, true), smallInteger(2)));
const CRITICAL = boolean(true);
/** ub-common-name (RFC 5280 Appendix A): a longer DNS name cannot be the CN. */
const MAX_COMMON_NAME_LENGTH = 64;

function extension(id: Buffer, critical: boolean, value: Der): Der {
  return critical ? sequence(id, CRITICAL, octetString(value)) : sequence(id, octetString(value));
}

const BASIC_CONSTRAINTS_LEAF = encode(extension(EXT.basicConstraints, true, sequence()));

/** keyUsage for a leaf key: signing for every key, plus key encipherment for RSA (TLS 1.2 RSA key exchange). */
export function keyUsageFor(algorithm: LeafKeyAlgorithm): KeyUsage[] {
  return algorithm === 'RSA' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
}

/** A named-bit BIT STRING in DER: trailing zero bits dropped and counted as unused. */
function namedBits(bits: readonly number[]): Der {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return tlv(Tag.BIT_STRING, Buffer.from([7 - (highest & 7)]), bytes);
}

function generalName(name: SubjectAltName): Der {
  switch (name.type) {
    case 'dns':
      return tlv(0x82, Buffer.from(name.value, 'latin1'));
    case 'uri':
      return tlv(0x86, Buffer.from(name.value, 'latin1'));
    case 'ip': {
      const bytes = parseIpAddress(name.value);
      if (!bytes) throw new RangeError('subjectAltName IP address not in canonical form');
      return tlv(0x87, bytes);
    }
  }
}

// One CSPRNG call per 256 serials rather than one each: the call overhead, not the randomness, is what costs.
const randomPool = Buffer.alloc(4096);
let randomPoolOffset = randomPool.length;

/**
 * A serial number from the CSPRNG: 16 bytes with the top bit cleared (positive) and the next one set (no leading
 * zero octet, so always 16 octets), leaving 126 bits of entropy (CA/B Forum asks for at least 64).
 */
export function randomSerialNumber(): Buffer {
  if (randomPoolOffset + 16 > randomPool.length) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  const serial = Buffer.from(randomPool.subarray(randomPoolOffset, randomPoolOffset + 16));
  randomPoolOffset += 16;
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  return serial;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value. */
export function keyIdentifier(subjectPublicKey: Uint8Array): Buffer {
  return hash('sha1', subjectPublicKey, 'buffer');
}

/** The CN a leaf gets: its first DNS name that fits ub-common-name, so the CN is always also a SAN. */
export function chooseCommonName(names: readonly SubjectAltName[]): string | undefined {
  return names.find((n) => n.type === 'dns' && n.value.length <= MAX_COMMON_NAME_LENGTH)?.value;
}

/** The subject attributes of a leaf, most significant first as DER orders them: O, OU, CN. */
type SubjectFields = Pick<LeafCertificateFields, 'commonName' | 'organization' | 'organizationalUnit'>;

function subjectAttributes(fields: SubjectFields): Array<readonly [string, Buffer, string]> {
  const out: Array<readonly [string, Buffer, string]> = [];
  if (fields.organization !== undefined) out.push(['O', ORGANIZATION, fields.organization]);
  if (fields.organizationalUnit !== undefined) out.push(['OU', ORGANIZATIONAL_UNIT, fields.organizationalUnit]);
  if (fields.commonName !== undefined) out.push(['CN', COMMON_NAME, fields.commonName]);
  return out;
}

/** RFC 4514 text of a leaf subject, least significant first (`CN=…,OU=…,O=…`); empty for the empty subject. */
export function formatSubject(fields: SubjectFields): string {
  return subjectAttributes(fields)
    .reverse()
    .map(([short, , value]) => {
      const escaped = value
        .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
        .replace(/^[ #]/, (c) => `\\${c}`)
        .replace(/ $/, '\\ ');
      return `${short}=${escaped}`;
    })
    .join(',');
}

/** DER TBSCertificate of a leaf: v3, extensions basicConstraints, keyUsage, extKeyUsage, SKI, AKI, subjectAltName. */
export function encodeLeafTbsCertificate(fields: LeafCertificateFields): Buffer {
  const attributes = subjectAttributes(fields);
  const subject = sequence(...attributes.map(([, type, value]) => set(sequence(type, utf8String(value)))));
  const keyUsage = namedBits(fields.keyUsage.map((u) => KEY_USAGE_BITS[u]));
  const extensions = [
    BASIC_CONSTRAINTS_LEAF,
    extension(EXT.keyUsage, true, keyUsage),
    extension(EXT.extKeyUsage, false, sequence(...fields.extendedKeyUsages.map((u) => EKU_OIDS[u]))),
    extension(EXT.subjectKeyIdentifier, false, octetString(fields.subjectKeyIdentifier)),
    extension(EXT.authorityKeyIdentifier, false, sequence(tlv(contextTag(0, false), fields.authorityKeyIdentifier))),
    // RFC 5280 §4.2.1.6: with an empty subject, subjectAltName must be critical.
    extension(EXT.subjectAltName, attributes.length === 0, sequence(...fields.subjectAltNames.map(generalName))),
  ];
  return encode(
    sequence(
      VERSION_3,
      unsignedInteger(fields.serialNumber),
      fields.signatureAlgorithm,
      fields.issuer,
      sequence(time(fields.notBefore), time(fields.notAfter)),
      subject,
      fields.subjectPublicKeyInfo,
      tlv(contextTag(3, true), sequence(...extensions)),
    ),
  );
}

/** The signed Certificate: TBSCertificate, signatureAlgorithm, signatureValue. */
export function encodeCertificate(tbs: Uint8Array, signatureAlgorithm: Uint8Array, signature: Uint8Array): Buffer {
  return encode(sequence(tbs, signatureAlgorithm, bitString(signature)));
}
