import 'reflect-metadata';
import { createHash, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { type Name, X509Certificate as PeculiarX509Certificate, SubjectAlternativeNameExtension } from '@peculiar/x509';
import { formatIpAddress, parseIpAddress } from '#lib/domain/ip-address.ts';
import type { PresentedCertificate } from '#lib/domain/presented-certificate.ts';
import { children, decodeDer, readOid } from '#lib/pki/der.ts';

export type { PresentedCertificate } from '#lib/domain/presented-certificate.ts';

/** OpenSSL's short names of signature algorithms, by OID (what `openssl x509 -text` prints). */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsaWithSHA1',
  '2.16.840.1.101.3.4.3.2': 'dsa_with_SHA256',
  '1.3.101.112': 'ED25519',
  '1.3.101.113': 'ED448',
};

const CURVE_BITS: Readonly<Record<string, number>> = {
  prime192v1: 192,
  secp224r1: 224,
  prime256v1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  brainpoolP256r1: 256,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};

/** RFC 4514 escaping, as lib/pki/leaf-certificate.ts writes the subjects we issue. */
function escapeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** RFC 4514 text of a DER Name: RDNs least significant first, joined by `,`; attributes of one RDN by `+`. */
function formatName(name: Name): string {
  return name
    .toJSON()
    .reverse()
    .map((rdn) =>
      Object.entries(rdn)
        .flatMap(([type, values]) => values.map((value) => `${type}=${escapeValue(value)}`))
        .join('+'),
    )
    .join(',');
}

/** The signature algorithm OID of a certificate: Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature }. */
function signatureAlgorithmOf(der: Buffer): string {
  try {
    const [, algorithm] = children(decodeDer(der));
    const [id] = algorithm ? children(algorithm) : [];
    if (!id) return 'unknown';
    const oid = readOid(id);
    return SIGNATURE_ALGORITHMS[oid] ?? oid;
  } catch {
    // Certificates in the wild are not always strict DER; what the reader refuses is reported, not guessed.
    return 'unknown';
  }
}

function keyOf(certificate: NodeX509Certificate): Pick<PresentedCertificate, 'keyAlgorithm' | 'keySize' | 'keyCurve'> {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
    case 'dsa': {
      const algorithm = key.asymmetricKeyType === 'rsa' ? 'RSA' : key.asymmetricKeyType === 'dsa' ? 'DSA' : 'RSA-PSS';
      return details.modulusLength === undefined
        ? { keyAlgorithm: algorithm }
        : { keyAlgorithm: algorithm, keySize: details.modulusLength };
    }
    case 'ec': {
      const curve = details.namedCurve;
      const bits = curve === undefined ? undefined : CURVE_BITS[curve];
      return {
        keyAlgorithm: 'EC',
        ...(curve === undefined ? {} : { keyCurve: curve }),
        ...(bits === undefined ? {} : { keySize: bits }),
      };
    }
    case 'ed25519':
      return { keyAlgorithm: 'ED25519', keySize: 256 };
    case 'ed448':
      return { keyAlgorithm: 'ED448', keySize: 456 };
    default:
      return { keyAlgorithm: 'unknown' };
  }
}

function subjectAltNamesOf(certificate: PeculiarX509Certificate): PresentedCertificate['subjectAltNames'] {
  const extension = certificate.getExtension(SubjectAlternativeNameExtension);
  if (!extension) return [];
  const out: Array<{ type: 'dns' | 'ip' | 'uri'; value: string }> = [];
  for (const name of extension.names.toJSON()) {
    if (name.type === 'dns') out.push({ type: 'dns', value: name.value });
    else if (name.type === 'url') out.push({ type: 'uri', value: name.value });
    else if (name.type === 'ip') {
      const octets = parseIpAddress(name.value);
      out.push({ type: 'ip', value: octets ? formatIpAddress(octets) : name.value });
    }
  }
  return out;
}

/** Lower-case hex without leading zero octets (the DER sign octet, or a zero-padded serial). */
function serialOf(certificate: NodeX509Certificate): string {
  const hex = certificate.serialNumber.toLowerCase();
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  return even.replace(/^(00)+(?=..)/, '');
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Reads a certificate's facts from its DER. Throws when the DER is not a certificate Node and @peculiar/x509 can
 * both parse.
 */
export function describeCertificate(der: Buffer): PresentedCertificate {
  const node = new NodeX509Certificate(der);
  const peculiar = new PeculiarX509Certificate(der);
  return {
    subject: formatName(peculiar.subjectName),
    issuer: formatName(peculiar.issuerName),
    subjectAltNames: subjectAltNamesOf(peculiar),
    serialNumber: serialOf(node),
    ...keyOf(node),
    signatureAlgorithm: signatureAlgorithmOf(der),
    notBefore: peculiar.notBefore.toISOString(),
    notAfter: peculiar.notAfter.toISOString(),
    fingerprintSha256: sha256(der),
    spkiSha256: sha256(new Uint8Array(peculiar.publicKey.rawData)),
    selfSigned: isSelfSigned(node),
  };
}

/** Issuer and subject match (with key identifiers and key usage, as OpenSSL checks) and it verifies with its own key. */
export function isSelfSigned(certificate: NodeX509Certificate): boolean {
  try {
    return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}
