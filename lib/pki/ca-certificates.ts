import 'reflect-metadata';
import { createPublicKey } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { InternalError } from '#lib/domain/errors.ts';
import type { Signer } from '#lib/ports/signer.ts';
import {
  type DerElement,
  decodeDer,
  encode,
  oid,
  readBitString,
  readSequence,
  sequence,
  set,
  utf8String,
} from './der.ts';
import { keyIdentifier, randomSerialNumber } from './leaf-certificate.ts';
import { decodePem } from './pem.ts';
import { createSignerCrypto } from './signer-web-crypto.ts';

/*
 * CA certificates are made rarely (bootstrap, rotation), so they use @peculiar/x509's generator; only leaves, the hot
 * path, use the hand-written encoder. The generator signs through a WebCrypto shim, so KMS keys work as software ones.
 */

const COMMON_NAME = oid('2.5.4.3');

/** A Name holding one CN, as a UTF8String (so that any common name text is encoded, escaped by nobody). */
function nameWithCommonName(commonName: string): Name {
  if (commonName.length === 0 || commonName.length > 64)
    throw new RangeError('a CA common name has 1 to 64 characters');
  return new Name(encode(sequence(set(sequence(COMMON_NAME, utf8String(commonName))))));
}

/** RFC 5280 method 1 key identifier of a DER SubjectPublicKeyInfo. */
function spkiKeyIdentifier(spki: Uint8Array): Buffer {
  const [, keyBits] = readSequence(decodeDer(spki), 2) as [DerElement, DerElement];
  return keyIdentifier(readBitString(keyBits));
}

function checkValidity(notBefore: Date, notAfter: Date): void {
  if (!(notAfter.getTime() > notBefore.getTime())) throw new RangeError('notAfter must be after notBefore');
}

const CA_KEY_USAGES = KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign;

export interface RootCaCertificateOptions {
  readonly signer: Signer;
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * A self-signed root CA certificate (PEM): CA:TRUE critical without a path length limit, keyUsage keyCertSign and
 * cRLSign critical, SKI, and AKI equal to it. Signed by `signer`.
 */
export async function createRootCaCertificate(options: RootCaCertificateOptions): Promise<string> {
  checkValidity(options.notBefore, options.notAfter);
  const { crypto, signingKey, signingAlgorithm } = createSignerCrypto(options.signer);
  const spki = await options.signer.getPublicKey();
  const keyId = spkiKeyIdentifier(spki).toString('hex');
  const name = nameWithCommonName(options.commonName);
  const certificate = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber().toString('hex'),
      subject: name,
      issuer: name,
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      publicKey: spki,
      signingKey,
      signingAlgorithm,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(CA_KEY_USAGES, true),
        new SubjectKeyIdentifierExtension(keyId),
        new AuthorityKeyIdentifierExtension(keyId),
      ],
    },
    crypto,
  );
  return certificate.toString('pem');
}

export interface IntermediateCaCertificateOptions {
  /** The root CA's key. */
  readonly rootSigner: Signer;
  readonly rootCertificatePem: string;
  /** DER SubjectPublicKeyInfo of the issuing CA's key. */
  readonly issuingPublicKey: Uint8Array;
  readonly commonName: string;
  readonly notBefore: Date;
  /** Capped at the root's notAfter: a CA certificate cannot usefully outlive its issuer. */
  readonly notAfter: Date;
}

/**
 * An issuing (intermediate) CA certificate (PEM) signed by the root: CA:TRUE with pathLen 0 critical (it may issue
 * leaves only), keyUsage keyCertSign and cRLSign critical, SKI of the issuing key, AKI the root's SKI.
 * @throws InternalError `CA_KEY_MISMATCH` when the root certificate does not carry the root signer's public key.
 */
export async function createIntermediateCaCertificate(options: IntermediateCaCertificateOptions): Promise<string> {
  const root = new X509Certificate(decodePem(options.rootCertificatePem, ['CERTIFICATE']).der);
  const rootSpki = await options.rootSigner.getPublicKey();
  const rootKey = createPublicKey({ key: Buffer.from(rootSpki), format: 'der', type: 'spki' });
  const certificateKey = createPublicKey({ key: Buffer.from(root.publicKey.rawData), format: 'der', type: 'spki' });
  if (!rootKey.equals(certificateKey)) {
    throw new InternalError(
      'CA_KEY_MISMATCH',
      "The root CA certificate does not carry the root key's public key: use the root certificate made for that key.",
    );
  }
  const notAfter = new Date(Math.min(options.notAfter.getTime(), root.notAfter.getTime()));
  checkValidity(options.notBefore, notAfter);
  const rootKeyId =
    root.getExtension(SubjectKeyIdentifierExtension)?.keyId ?? spkiKeyIdentifier(rootSpki).toString('hex');
  const { crypto, signingKey, signingAlgorithm } = createSignerCrypto(options.rootSigner);
  const certificate = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber().toString('hex'),
      subject: nameWithCommonName(options.commonName),
      issuer: root.subjectName,
      notBefore: options.notBefore,
      notAfter,
      publicKey: options.issuingPublicKey,
      signingKey,
      signingAlgorithm,
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(CA_KEY_USAGES, true),
        new SubjectKeyIdentifierExtension(spkiKeyIdentifier(options.issuingPublicKey).toString('hex')),
        new AuthorityKeyIdentifierExtension(rootKeyId),
      ],
    },
    crypto,
  );
  return certificate.toString('pem');
}
