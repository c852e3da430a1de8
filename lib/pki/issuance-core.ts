import { hash } from 'node:crypto';
import { InternalError } from '#lib/domain/errors.ts';
import type { LeafKeyAlgorithm, SubjectAltName } from '#lib/domain/inventory.ts';
import type { ExtendedKeyUsage } from '#lib/domain/policy.ts';
import type { IssuanceAsk, IssuanceDecision } from '#lib/domain/policy-engine.ts';
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
  /** The policy to issue under; otherwise the first applicable policy that allows the request. */
  readonly policy?: string | undefined;
  /** Validity such as `24h`; the policy's default when absent. */
  readonly validity?: string | undefined;
  /** A subset of the policy's extended key usages; all of them when absent. */
  readonly extendedKeyUsages?: readonly ExtendedKeyUsage[] | undefined;
}

export interface IssuanceContext {
  readonly issuer: IssuerContext;
  /** The policy decision for this requester (see `PolicySet.decide`): refuses by throwing. */
  readonly decide: (ask: IssuanceAsk) => IssuanceDecision;
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
  /** When renewal is due: notAfter minus the policy's renewBefore, else two thirds into the lifetime. */
  readonly renewAfter: Date;
  /** Lower-case hex SHA-256 of the DER. */
  readonly fingerprintSha256: string;
  /** The policy the certificate was issued under, and the tags it stamped. */
  readonly policy: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Clock skew allowance: relying parties a little behind us still accept a fresh certificate. */
const BACKDATE_MS = 60_000;

/**
 * Issues a leaf certificate, with no I/O but the signer: an ordered pipeline of small steps, each of which may refuse.
 * 1. {@link verifiedCsr}: strict PKCS#10 parse, key and signature-algorithm checks, proof of possession.
 * 2. {@link decide}: the policy decision (requester, names, key, validity, usages), which refuses or says what to set.
 * 3. {@link enforce}: what the CA sets regardless of the CSR (validity, key usages, serial, identifiers, subject).
 * 4. {@link encodeLeafTbsCertificate}: DER of the TBSCertificate.
 * 5. {@link signCertificate}: the CA signature and the finished certificate.
 * @throws ValidationError (400) or AuthorizationError (403) with the codes of those steps; InternalError `CA_EXPIRED` when the issuing CA
 *   certificate is no longer valid.
 */
export async function issueLeafCertificate(request: IssuanceRequest, ctx: IssuanceContext): Promise<IssuedCertificate> {
  const csr = verifiedCsr(request.csr);
  const decision = decide(request, csr, ctx);
  const fields = enforce(decision, csr, ctx);
  const tbs = encodeLeafTbsCertificate(fields);
  return signCertificate(tbs, fields, csr, decision, ctx.issuer);
}

function verifiedCsr(pem: string): ParsedCsr {
  return parseCsr(pem);
}

function decide(request: IssuanceRequest, csr: ParsedCsr, ctx: IssuanceContext): IssuanceDecision {
  return ctx.decide({
    subjectAltNames: csr.subjectAltNames,
    commonNames: csr.commonNames,
    key: { algorithm: csr.publicKey.algorithm, keySize: csr.publicKey.keySize },
    policy: request.policy,
    validity: request.validity,
    extendedKeyUsages: request.extendedKeyUsages,
  });
}

function enforce(decision: IssuanceDecision, csr: ParsedCsr, ctx: IssuanceContext): LeafCertificateFields {
  const { issuer } = ctx;
  const wholeSecond = Math.floor(ctx.now.getTime() / 1000) * 1000;
  const notBefore = new Date(Math.max(wholeSecond - BACKDATE_MS, issuer.notBefore.getTime()));
  const notAfter = new Date(Math.min(notBefore.getTime() + decision.validitySeconds * 1000, issuer.notAfter.getTime()));
  if (notAfter.getTime() <= ctx.now.getTime()) {
    throw new InternalError('CA_EXPIRED', 'The issuing CA certificate has expired; renew the CA before issuing.');
  }
  return {
    serialNumber: randomSerialNumber(),
    signatureAlgorithm: issuer.signatureAlgorithm,
    issuer: issuer.subject,
    notBefore,
    notAfter,
    commonName: decision.withCommonName ? chooseCommonName(decision.names) : undefined,
    organization: decision.organization,
    organizationalUnit: decision.organizationalUnit,
    subjectPublicKeyInfo: csr.publicKey.spki,
    subjectKeyIdentifier: keyIdentifier(csr.publicKey.subjectPublicKey),
    authorityKeyIdentifier: issuer.subjectKeyIdentifier,
    keyUsage: keyUsageFor(csr.publicKey.algorithm),
    extendedKeyUsages: decision.extendedKeyUsages,
    subjectAltNames: decision.names,
  };
}

/** Renewal is due `renewBefore` ahead of notAfter (never before notBefore), else two thirds into the lifetime. */
function renewalDue(notBefore: Date, notAfter: Date, renewBeforeSeconds: number | undefined): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const before = renewBeforeSeconds === undefined ? lifetime / 3 : Math.min(renewBeforeSeconds * 1000, lifetime);
  return new Date(Math.round(notAfter.getTime() - before));
}

async function signCertificate(
  tbs: Buffer,
  fields: LeafCertificateFields,
  csr: ParsedCsr,
  decision: IssuanceDecision,
  issuer: IssuerContext,
): Promise<IssuedCertificate> {
  const signature = await issuer.signer.sign(tbs);
  const der = encodeCertificate(tbs, issuer.signatureAlgorithm, signature);
  return {
    der,
    pem: encodePem(der, 'CERTIFICATE'),
    serialNumber: Buffer.from(fields.serialNumber).toString('hex'),
    subject: formatSubject(fields),
    subjectAltNames: [...fields.subjectAltNames],
    keyAlgorithm: csr.publicKey.algorithm,
    keySize: csr.publicKey.keySize,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    renewAfter: renewalDue(fields.notBefore, fields.notAfter, decision.renewBeforeSeconds),
    fingerprintSha256: hash('sha256', der, 'hex'),
    policy: decision.policy,
    tags: decision.tags,
  };
}
