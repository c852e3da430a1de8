import { createPublicKey } from 'node:crypto';
import { InternalError } from '#lib/domain/errors.ts';
import type { Signer, SigningKeyAlgorithm } from '#lib/ports/signer.ts';
import {
  type DerElement,
  DerError,
  decodeDer,
  encode,
  expectTag,
  NULL,
  oid,
  readBitString,
  readBoolean,
  readOid,
  readSequence,
  readTime,
  sequence,
  Tag,
} from './der.ts';
import { keyIdentifier } from './leaf-certificate.ts';
import { decodePem, PemError } from './pem.ts';

/** The issuing CA as the issuance core needs it: parsed once per container, reused for every certificate. */
export interface IssuerContext {
  readonly signer: Signer;
  /** The chain as stored, issuing CA first. */
  readonly chainPem: readonly string[];
  /** DER of the issuing CA certificate. */
  readonly certificate: Buffer;
  /** DER Name of the issuing CA's subject, byte for byte: leaves carry it as their issuer. */
  readonly subject: Buffer;
  /** The issuing CA's subjectKeyIdentifier (computed by RFC 5280 method 1 if its certificate has none). */
  readonly subjectKeyIdentifier: Buffer;
  readonly notBefore: Date;
  /** Leaves never outlive it. */
  readonly notAfter: Date;
  /** DER AlgorithmIdentifier the CA key signs with. */
  readonly signatureAlgorithm: Buffer;
}

const SIGNATURE_ALGORITHMS: Record<SigningKeyAlgorithm, Buffer> = {
  EC_P256: encode(sequence(oid('1.2.840.10045.4.3.2'))),
  EC_P384: encode(sequence(oid('1.2.840.10045.4.3.3'))),
  RSA_2048: encode(sequence(oid('1.2.840.113549.1.1.11'), NULL)),
  RSA_3072: encode(sequence(oid('1.2.840.113549.1.1.11'), NULL)),
  RSA_4096: encode(sequence(oid('1.2.840.113549.1.1.11'), NULL)),
};

/**
 * DER AlgorithmIdentifier of what a {@link Signer} of this algorithm produces: ecdsa-with-SHA256 (P-256),
 * ecdsa-with-SHA384 (P-384), sha256WithRSAEncryption with NULL parameters (RSA).
 */
export function signatureAlgorithmFor(algorithm: SigningKeyAlgorithm): Buffer {
  return SIGNATURE_ALGORITHMS[algorithm];
}

const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const BASIC_CONSTRAINTS = '2.5.29.19';

function chainInvalid(why: string, cause?: unknown): InternalError {
  return new InternalError(
    'CA_CHAIN_INVALID',
    `The stored CA certificate chain is unusable (${why}); bootstrap the CA again.`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Parses the chain (issuing CA first) and checks that its first certificate is a CA certificate for the signer's key.
 * @throws InternalError `CA_CHAIN_INVALID` when the chain cannot be read or its first certificate is not a CA;
 *   `CA_KEY_MISMATCH` when that certificate carries another public key than the signer's.
 */
export async function loadIssuerContext(signer: Signer, chainPem: readonly string[]): Promise<IssuerContext> {
  const [first] = chainPem;
  if (first === undefined) throw chainInvalid('the chain is empty');
  let certificates: Buffer[];
  try {
    certificates = chainPem.map((pem) => decodePem(pem, ['CERTIFICATE']).der);
  } catch (error) {
    if (error instanceof PemError) throw chainInvalid(error.message, error);
    throw error;
  }
  const certificate = certificates[0] as Buffer;
  let parsed: ReturnType<typeof parseCaCertificate>;
  try {
    parsed = parseCaCertificate(certificate);
  } catch (error) {
    if (error instanceof DerError) throw chainInvalid(error.message, error);
    throw error;
  }
  if (!parsed.isCa) throw chainInvalid('its first certificate is not a CA certificate');
  const certKey = createPublicKey({ key: parsed.spki, format: 'der', type: 'spki' });
  const signerKey = createPublicKey({ key: Buffer.from(await signer.getPublicKey()), format: 'der', type: 'spki' });
  if (!certKey.equals(signerKey)) {
    throw new InternalError(
      'CA_KEY_MISMATCH',
      "The issuing CA certificate does not carry the signing key's public key: configure the key the chain was made " +
        'for, or bootstrap a new chain.',
    );
  }
  return {
    signer,
    chainPem: [...chainPem],
    certificate,
    subject: parsed.subject,
    subjectKeyIdentifier: parsed.subjectKeyIdentifier,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    signatureAlgorithm: signatureAlgorithmFor(signer.algorithm),
  };
}

function parseCaCertificate(der: Buffer) {
  const [tbs] = readSequence(decodeDer(der), 3) as [DerElement];
  const fields = readSequence(tbs, 6, 10);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [, , , validity, subject, spki] = fields.slice(offset) as DerElement[];
  if (!validity || !subject || !spki) throw new DerError('truncated TBSCertificate');
  const [notBefore, notAfter] = readSequence(validity, 2).map(readTime) as [Date, Date];
  expectTag(subject, Tag.SEQUENCE);
  const [, keyBits] = readSequence(spki, 2) as [DerElement, DerElement];
  let subjectKeyIdentifier = keyIdentifier(readBitString(keyBits));
  let isCa = false;
  const explicitExtensions = fields.find((f) => f.tag === 0xa3);
  const [extensions] = explicitExtensions ? readSequence(explicitExtensions, 1, 1, 0xa3) : [];
  for (const ext of extensions ? readSequence(extensions, 1, Number.POSITIVE_INFINITY) : []) {
    const parts = readSequence(ext, 2, 3);
    const id = readOid(parts[0] as DerElement);
    const value = decodeDer(expectTag(parts[parts.length - 1] as DerElement, Tag.OCTET_STRING).content);
    if (id === SUBJECT_KEY_IDENTIFIER) subjectKeyIdentifier = Buffer.from(expectTag(value, Tag.OCTET_STRING).content);
    if (id === BASIC_CONSTRAINTS) {
      const [ca] = readSequence(value, 0, 2);
      isCa = ca?.tag === Tag.BOOLEAN && readBoolean(ca);
    }
  }
  return {
    isCa,
    subject: Buffer.from(subject.raw),
    spki: Buffer.from(spki.raw),
    subjectKeyIdentifier,
    notBefore,
    notAfter,
  };
}
