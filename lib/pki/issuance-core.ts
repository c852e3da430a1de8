import { hash } from 'node:crypto';
import {
  type CertificateProfile,
  type CertificateProfiles,
  resolveProfile,
  resolveValidity,
} from '#lib/domain/certificate-profile.ts';
import { InternalError } from '#lib/domain/errors.ts';
import type { LeafKeyAlgorithm, SubjectAltName } from '#lib/domain/inventory.ts';
import { checkNames, type NamePolicy } from '#lib/domain/name-policy.ts';
import { type ParsedCsr, parseCsr } from './csr.ts';
import type { IssuerContext } from './issuer.ts';
import {
  chooseCommonName,
  encodeCertificate,
  encodeLeafTbsCertificate,
  formatSubject,
  keyIdentifier,
  keyUsageFor,
  type LeafCertificateFields,
  randomSerialNumber,
} from './leaf-certificate.ts';
import { encodePem } from './pem.ts';

export interface IssuanceRequest {
  /** PEM PKCS#10 CSR. */
  readonly csr: string;
  /** Profile name; the default profile when absent. */
  readonly profile?: string;
  /** Validity such as `24h`; the profile's default when absent. */
  readonly validity?: string;
}

export interface IssuanceContext {
  readonly issuer: IssuerContext;
  readonly profiles: CertificateProfiles;
  readonly namePolicy: NamePolicy;
  readonly now: Date;
}

export interface IssuedCertificate {
  readonly der: Buffer;
  readonly pem: string;
  /** Lower-case hex of the serial number's INTEGER content. */
  readonly serialNumber: string;
  /** RFC 4514, e.g. `CN=api.local.test`; empty for an empty subject. */
  readonly subject: string;
  readonly subjectAltNames: SubjectAltName[];
  readonly keyAlgorithm: LeafKeyAlgorithm;
  readonly keySize: number;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lower-case hex SHA-256 of the DER. */
  readonly fingerprintSha256: string;
  readonly profile: string;
}

/** Clock skew allowance: relying parties a little behind us still accept a fresh certificate. */
const BACKDATE_MS = 60_000;

/**
 * Issues a leaf certificate, with no I/O but the signer: an ordered pipeline of small steps, each of which may refuse.
 * 1. {@link verifiedCsr}: strict PKCS#10 parse, key and signature-algorithm checks, proof of possession.
 * 2. {@link allowedNames}: the requested names, every one of which the name policy must allow.
 * 3. {@link enforceProfile}: what the CA sets regardless of the CSR (validity, key usages, serial, identifiers).
 * 4. {@link encodeLeafTbsCertificate}: DER of the TBSCertificate.
 * 5. {@link signCertificate}: the CA signature and the finished certificate.
 * @throws ValidationError (400) with the codes of those steps; InternalError `CA_EXPIRED` when the issuing CA
 *   certificate is no longer valid.
 */
export async function issueLeafCertificate(request: IssuanceRequest, ctx: IssuanceContext): Promise<IssuedCertificate> {
  const csr = verifiedCsr(request.csr);
  const names = allowedNames(csr, ctx.namePolicy);
  const { profile, fields } = enforceProfile(request, ctx, csr, names);
  const tbs = encodeLeafTbsCertificate(fields);
  return signCertificate(tbs, fields, csr, profile, ctx.issuer);
}

function verifiedCsr(pem: string): ParsedCsr {
  return parseCsr(pem);
}

function allowedNames(csr: ParsedCsr, policy: NamePolicy): SubjectAltName[] {
  return checkNames(policy, csr.requestedNames);
}

function enforceProfile(
  request: IssuanceRequest,
  ctx: IssuanceContext,
  csr: ParsedCsr,
  names: SubjectAltName[],
): { profile: CertificateProfile; fields: LeafCertificateFields } {
  const profile = resolveProfile(ctx.profiles, request.profile);
  const validitySeconds = resolveValidity(profile, request.validity);
  const { issuer } = ctx;
  const wholeSecond = Math.floor(ctx.now.getTime() / 1000) * 1000;
  const notBefore = new Date(Math.max(wholeSecond - BACKDATE_MS, issuer.notBefore.getTime()));
  const notAfter = new Date(Math.min(notBefore.getTime() + validitySeconds * 1000, issuer.notAfter.getTime()));
  if (notAfter.getTime() <= ctx.now.getTime()) {
    throw new InternalError('CA_EXPIRED', 'The issuing CA certificate has expired; renew the CA before issuing.');
  }
  return {
    profile,
    fields: {
      serialNumber: randomSerialNumber(),
      signatureAlgorithm: issuer.signatureAlgorithm,
      issuer: issuer.subject,
      notBefore,
      notAfter,
      commonName: chooseCommonName(names),
      subjectPublicKeyInfo: csr.publicKey.spki,
      subjectKeyIdentifier: keyIdentifier(csr.publicKey.subjectPublicKey),
      authorityKeyIdentifier: issuer.subjectKeyIdentifier,
      keyUsage: keyUsageFor(csr.publicKey.algorithm),
      extendedKeyUsages: profile.extendedKeyUsages,
      subjectAltNames: names,
    },
  };
}

async function signCertificate(
  tbs: Buffer,
  fields: LeafCertificateFields,
  csr: ParsedCsr,
  profile: CertificateProfile,
  issuer: IssuerContext,
): Promise<IssuedCertificate> {
  const signature = await issuer.signer.sign(tbs);
  const der = encodeCertificate(tbs, issuer.signatureAlgorithm, signature);
  return {
    der,
    pem: encodePem(der, 'CERTIFICATE'),
    serialNumber: Buffer.from(fields.serialNumber).toString('hex'),
    subject: formatSubject(fields.commonName),
    subjectAltNames: [...fields.subjectAltNames],
    keyAlgorithm: csr.publicKey.algorithm,
    keySize: csr.publicKey.keySize,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    fingerprintSha256: hash('sha256', der, 'hex'),
    profile: profile.name,
  };
}
