import { REVOCATION_REASONS, type RevocationReason } from '#lib/domain/revocation-reason.ts';
import {
  contextTag,
  type Der,
  encode,
  octetString,
  oid,
  sequence,
  smallInteger,
  Tag,
  time,
  tlv,
  unsignedInteger,
} from './der.ts';
import type { IssuerContext } from './issuer.ts';
import { encodeCertificate } from './leaf-certificate.ts';

/**
 * Certificate revocation lists (RFC 5280 §5): version 2, signed by the issuing CA through its `Signer`, with the
 * authority key identifier and a cRLNumber, and per entry its revocation date and reason. Pure encoding: which
 * certificates are listed, and the CRL number, come from the caller.
 */

/** One revoked certificate as the CRL lists it. */
export interface CrlEntry {
  /** Lower-case hex of the serial's DER INTEGER content (as the inventory keeps it). */
  readonly serialNumber: string;
  readonly revokedAt: Date;
  readonly reason: RevocationReason;
}

export interface CrlFields {
  readonly issuer: IssuerContext;
  /** Strictly increasing across the CRLs of one issuer (RFC 5280 §5.2.3); at most 20 octets. */
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: Iterable<CrlEntry>;
}

const EXT = {
  authorityKeyIdentifier: oid('2.5.29.35'),
  cRLNumber: oid('2.5.29.20'),
  reasonCode: oid('2.5.29.21'),
};

/** Version 2 (`v2(1)`): required with extensions. */
const VERSION_2 = smallInteger(1);

function extension(id: Buffer, value: Der): Der {
  return sequence(id, octetString(value));
}

/** A non-negative bigint as the content of a DER INTEGER's magnitude. */
function bigintBytes(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('a CRL number is not negative');
  const hex = value.toString(16);
  const bytes = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
  if (bytes.length > 20) throw new RangeError('a CRL number has at most 20 octets (RFC 5280 §5.2.3)');
  return bytes;
}

function serialBytes(serialNumber: string): Buffer {
  if (!/^[0-9a-f]+$/.test(serialNumber)) throw new RangeError(`serial ${serialNumber} is not lower-case hex`);
  return Buffer.from(serialNumber.length % 2 === 0 ? serialNumber : `0${serialNumber}`, 'hex');
}

/**
 * One entry: serial, revocation date, and the reason as a reasonCode extension; `unspecified` is left out, as RFC 5280
 * §5.3.1 asks.
 */
function revokedCertificate(entry: CrlEntry): Der {
  const reason = REVOCATION_REASONS[entry.reason];
  const parts: Der[] = [unsignedInteger(serialBytes(entry.serialNumber)), time(entry.revokedAt)];
  if (reason !== 0) parts.push(sequence(extension(EXT.reasonCode, tlv(Tag.ENUMERATED, Buffer.from([reason])))));
  return sequence(...parts);
}

/** DER TBSCertList; with no entry, `revokedCertificates` is absent (RFC 5280 §5.1.2.6). */
export function encodeTbsCertList(fields: CrlFields): Buffer {
  if (fields.nextUpdate <= fields.thisUpdate) throw new RangeError('nextUpdate must be after thisUpdate');
  const entries = [...fields.entries].map(revokedCertificate);
  const crlExtensions = sequence(
    extension(EXT.authorityKeyIdentifier, sequence(tlv(contextTag(0, false), fields.issuer.subjectKeyIdentifier))),
    extension(EXT.cRLNumber, unsignedInteger(bigintBytes(fields.crlNumber))),
  );
  return encode(
    sequence(
      VERSION_2,
      fields.issuer.signatureAlgorithm,
      fields.issuer.subject,
      time(fields.thisUpdate),
      time(fields.nextUpdate),
      ...(entries.length === 0 ? [] : [sequence(...entries)]),
      tlv(contextTag(0, true), crlExtensions),
    ),
  );
}

/** The signed CRL (DER `CertificateList`), signed with the issuing CA's key through its `Signer`. */
export async function buildCrl(fields: CrlFields): Promise<Buffer> {
  const tbs = encodeTbsCertList(fields);
  const signature = await fields.issuer.signer.sign(tbs);
  return encodeCertificate(tbs, fields.issuer.signatureAlgorithm, signature);
}
