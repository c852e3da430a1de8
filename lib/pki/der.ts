/**
 * A small DER writer and a strict DER reader: just what certificates, CSRs and CRLs need. The writer exists because
 * generic ASN.1 libraries spend most of issuance time in schema machinery; the reader is strict (definite, minimal
 * lengths, no trailing data, low tag numbers only) because anything lenient here is a parser-differential waiting to
 * happen between us and the relying party.
 */

/** Universal tags (with the constructed bit where the type is always constructed). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Tag of a context-specific element `[n]`, constructed (EXPLICIT or structured IMPLICIT) or primitive. */
export function contextTag(n: number, constructed: boolean): number {
  return (constructed ? 0xa0 : 0x80) | n;
}

// ---------------------------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------------------------

/**
 * Encoded DER, or a TLV whose content is still in parts: nested writer calls only add up lengths, and
 * {@link encode} writes the whole tree into one buffer, so no byte is copied more than once.
 */
export type Der = Uint8Array | DerNode;

export class DerNode {
  readonly tag: number;
  readonly parts: readonly Der[];
  readonly contentLength: number;
  /** Length of the whole TLV. */
  readonly length: number;

  constructor(tag: number, parts: readonly Der[]) {
    let contentLength = 0;
    for (const part of parts) contentLength += part.length;
    this.tag = tag;
    this.parts = parts;
    this.contentLength = contentLength;
    this.length = 1 + lengthOfLength(contentLength) + contentLength;
  }
}

function lengthOfLength(length: number): number {
  if (length < 0x80) return 1;
  if (length < 0x100) return 2;
  if (length < 0x10000) return 3;
  if (length < 0x1000000) return 4;
  throw new RangeError('DER element too long');
}

function write(der: Der, out: Buffer, offset: number): number {
  if (der instanceof Uint8Array) {
    out.set(der, offset);
    return offset + der.length;
  }
  let at = offset;
  out[at++] = der.tag;
  const n = der.contentLength;
  if (n >= 0x80) {
    const count = lengthOfLength(n) - 1;
    out[at++] = 0x80 | count;
    for (let i = count - 1; i >= 0; i--) out[at++] = (n >> (8 * i)) & 0xff;
  } else {
    out[at++] = n;
  }
  for (const part of der.parts) at = write(part, out, at);
  return at;
}

/** The bytes of `der`. */
export function encode(der: Der): Buffer {
  if (Buffer.isBuffer(der)) return der;
  const out = Buffer.allocUnsafe(der.length);
  write(der, out, 0);
  return out;
}

/** One TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: readonly Der[]): DerNode {
  return new DerNode(tag, parts);
}

export function sequence(...parts: readonly Der[]): DerNode {
  return new DerNode(Tag.SEQUENCE, parts);
}

export function set(...parts: readonly Der[]): DerNode {
  return new DerNode(Tag.SET, parts);
}

/** An INTEGER from the big-endian magnitude of a non-negative number (leading zeros stripped, 0x00 added if needed). */
export function unsignedInteger(magnitude: Uint8Array): Der {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const body = magnitude.subarray(i);
  if (body.length === 0) return Buffer.from([Tag.INTEGER, 1, 0]);
  return (body[0] ?? 0) & 0x80 ? tlv(Tag.INTEGER, ZERO, body) : tlv(Tag.INTEGER, body);
}

/** An INTEGER from a small non-negative JavaScript number. */
export function smallInteger(value: number): Der {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('smallInteger takes a non-negative safe integer');
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return unsignedInteger(Uint8Array.from(bytes));
}

/** The content octets of an OBJECT IDENTIFIER in dotted form. */
export function oidContent(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^(0|[1-9]\d*)$/.test(a)) throw new RangeError(`invalid OID ${dotted}`);
    return BigInt(a);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) {
    throw new RangeError(`invalid OID ${dotted}`);
  }
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return Buffer.from(out);
}

/** An OBJECT IDENTIFIER TLV, encoded. Call once per constant at module load, not per certificate. */
export function oid(dotted: string): Buffer {
  return encode(tlv(Tag.OID, oidContent(dotted)));
}

export function octetString(content: Der): DerNode {
  return tlv(Tag.OCTET_STRING, content);
}

const ZERO = Buffer.from([0]);

/** A BIT STRING of whole octets (unused bits 0), as keys and signatures are. */
export function bitString(content: Der): DerNode {
  return tlv(Tag.BIT_STRING, ZERO, content);
}

export function utf8String(text: string): DerNode {
  return tlv(Tag.UTF8_STRING, Buffer.from(text, 'utf8'));
}

export const NULL = Buffer.from([Tag.NULL, 0]);

export function boolean(value: boolean): Buffer {
  return Buffer.from([Tag.BOOLEAN, 1, value ? 0xff : 0]);
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * A certificate validity time as RFC 5280 §4.1.2.5 wants it: UTCTime through 2049, GeneralizedTime from 2050, both
 * in UTC with seconds and no fraction. Milliseconds are dropped.
 */
export function time(date: Date): DerNode {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError('certificate time out of range');
  const rest =
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds());
  return year < 2050
    ? tlv(Tag.UTC_TIME, Buffer.from(`${pad2(year % 100)}${rest}Z`, 'latin1'))
    : tlv(Tag.GENERALIZED_TIME, Buffer.from(`${year}${rest}Z`, 'latin1'));
}

// ---------------------------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------------------------

/** Raised by the reader on anything that is not strict DER of the expected shape. Callers map it to their error. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

/**
 * One decoded element: offsets into the input, with `raw` (the whole TLV) and `content` (its value) as views made on
 * demand, since most elements are only walked through.
 */
export class DerElement {
  readonly data: Buffer;
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;

  constructor(data: Buffer, tag: number, start: number, contentStart: number, end: number) {
    this.data = data;
    this.tag = tag;
    this.start = start;
    this.contentStart = contentStart;
    this.end = end;
  }

  get raw(): Buffer {
    return this.data.subarray(this.start, this.end);
  }

  get content(): Buffer {
    return this.data.subarray(this.contentStart, this.end);
  }
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Reads the element starting at `offset`, which must end at or before `limit`. */
function readAt(data: Buffer, offset: number, limit: number): DerElement {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = data[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used here');
  let length = data[offset + 1] ?? 0;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerError('indefinite length');
    if (count > 3) throw new DerError('element too long');
    if (offset + 2 + count > limit) throw new DerError('truncated length');
    if (data[offset + 2] === 0) throw new DerError('non-minimal length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (data[offset + 2 + i] ?? 0);
    if (length < 0x80) throw new DerError('non-minimal length');
    header += count;
  }
  const end = offset + header + length;
  if (end > limit) throw new DerError('truncated element');
  return new DerElement(data, tag, offset, offset + header, end);
}

/** Decodes exactly one element filling all of `data` (trailing bytes are an error). */
export function decodeDer(data: Uint8Array, expectedTag?: number): DerElement {
  const buf = asBuffer(data);
  const element = readAt(buf, 0, buf.length);
  if (element.end !== buf.length) throw new DerError('trailing data after the element');
  if (expectedTag !== undefined) expectTag(element, expectedTag);
  return element;
}

/** The elements inside a constructed element's content, in order. */
export function children(element: DerElement): DerElement[] {
  if (!(element.tag & 0x20)) throw new DerError('primitive element where a constructed one was expected');
  const out: DerElement[] = [];
  const { data, end } = element;
  let offset = element.contentStart;
  while (offset < end) {
    const child = readAt(data, offset, end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

export function expectTag(element: DerElement, tag: number): DerElement {
  if (element.tag !== tag) throw new DerError(`unexpected tag 0x${element.tag.toString(16)}`);
  return element;
}

/** The children of a SEQUENCE (or of another constructed tag), checking the count lies in [min, max]. */
export function readSequence(element: DerElement, min: number, max = min, tag: number = Tag.SEQUENCE): DerElement[] {
  expectTag(element, tag);
  const items = children(element);
  if (items.length < min || items.length > max) throw new DerError('unexpected number of elements');
  return items;
}

/** Decodes an OBJECT IDENTIFIER to dotted form. */
export function readOid(element: DerElement): string {
  expectTag(element, Tag.OID);
  const { data, contentStart, end } = element;
  if (contentStart === end || (data[end - 1] ?? 0) & 0x80) throw new DerError('malformed OID');
  let text = '';
  let value = 0;
  let first = true;
  let arcStart = true;
  for (let i = contentStart; i < end; i++) {
    const byte = data[i] ?? 0;
    if (arcStart && byte === 0x80) throw new DerError('non-minimal OID arc');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('OID arc too large');
    arcStart = !(byte & 0x80);
    if (!arcStart) continue;
    if (first) {
      text = value < 80 ? `${Math.floor(value / 40)}.${value % 40}` : `2.${value - 80}`;
      first = false;
    } else {
      text += `.${value}`;
    }
    value = 0;
  }
  return text;
}

/** The magnitude of a non-negative INTEGER, minimal encoding enforced, without the sign octet. */
export function readUnsignedInteger(element: DerElement): Buffer {
  expectTag(element, Tag.INTEGER);
  const c = element.content;
  const [b0, b1 = 0] = c;
  if (b0 === undefined) throw new DerError('empty INTEGER');
  if (b0 & 0x80) throw new DerError('negative INTEGER');
  if (c.length > 1 && ((b0 === 0 && !(b1 & 0x80)) || (b0 === 0xff && b1 & 0x80))) {
    throw new DerError('non-minimal INTEGER');
  }
  return b0 === 0 && c.length > 1 ? c.subarray(1) : c;
}

/** A small non-negative INTEGER as a number (versions, path lengths). */
export function readSmallInteger(element: DerElement): number {
  const magnitude = readUnsignedInteger(element);
  if (magnitude.length > 6) throw new DerError('INTEGER too large');
  return magnitude.reduce((n, b) => n * 256 + b, 0);
}

/** The content of a BIT STRING of whole octets (unused bits must be 0). */
export function readBitString(element: DerElement): Buffer {
  expectTag(element, Tag.BIT_STRING);
  if (element.content[0] !== 0) throw new DerError('BIT STRING with unused bits');
  return element.content.subarray(1);
}

/** A named-bit BIT STRING (keyUsage) as an array of set bit numbers; DER forbids trailing zero bits. */
export function readNamedBits(element: DerElement): number[] {
  expectTag(element, Tag.BIT_STRING);
  const c = element.content;
  const unused = c[0];
  if (unused === undefined || unused > 7 || (c.length === 1 && unused !== 0))
    throw new DerError('malformed BIT STRING');
  const last = c[c.length - 1] ?? 0;
  if (c.length > 1 && (last === 0 || (last & ((1 << unused) - 1)) !== 0 || !(last & (1 << unused)))) {
    throw new DerError('non-canonical named BIT STRING');
  }
  const bits: number[] = [];
  for (let i = 1; i < c.length; i++) {
    for (let b = 0; b < 8; b++) if ((c[i] ?? 0) & (0x80 >> b)) bits.push((i - 1) * 8 + b);
  }
  return bits;
}

export function readBoolean(element: DerElement): boolean {
  expectTag(element, Tag.BOOLEAN);
  const c = element.content;
  if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) throw new DerError('non-DER BOOLEAN');
  return c[0] === 0xff;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * The text of a UTF8String, PrintableString or IA5String; other string types are refused. `as` reads an IMPLICIT
 * tagged string (such as a dNSName) as that type.
 */
export function readString(element: DerElement, as: number = element.tag): string {
  const c = element.content;
  switch (as) {
    case Tag.UTF8_STRING:
      try {
        return utf8.decode(c);
      } catch {
        throw new DerError('invalid UTF-8');
      }
    case Tag.IA5_STRING:
    case Tag.PRINTABLE_STRING: {
      if (c.some((b) => b > 0x7f)) throw new DerError('non-ASCII character in an ASCII string type');
      const text = c.toString('latin1');
      if (as === Tag.PRINTABLE_STRING && !PRINTABLE.test(text)) throw new DerError('invalid PrintableString');
      return text;
    }
    default:
      throw new DerError('unsupported string type');
  }
}

const TIME_PATTERN = {
  [Tag.UTC_TIME]: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  [Tag.GENERALIZED_TIME]: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
} as const;

/** A UTCTime or GeneralizedTime in the RFC 5280 profile (UTC, whole seconds). */
export function readTime(element: DerElement): Date {
  if (element.tag !== Tag.UTC_TIME && element.tag !== Tag.GENERALIZED_TIME) throw new DerError('expected a time');
  const m = TIME_PATTERN[element.tag].exec(element.content.toString('latin1'));
  if (!m) throw new DerError('malformed time');
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fullYear = element.tag === Tag.UTC_TIME ? year + (year < 50 ? 2000 : 1900) : year;
  const date = new Date(Date.UTC(fullYear, month - 1, day, hour, minute, second));
  // Date.UTC rolls over out-of-range fields (month 13, 24:00, Feb 30); a valid time reads back unchanged.
  if (
    date.getUTCFullYear() !== fullYear ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw new DerError('invalid date');
  }
  return date;
}

// ---------------------------------------------------------------------------------------------------------------
// ECDSA signature formats
// ---------------------------------------------------------------------------------------------------------------

/**
 * DER `ECDSA-Sig-Value` (what X.509, node:crypto and KMS use) to the raw fixed-width r‖s that WebCrypto returns.
 * @param size the curve's field size in bytes (32 for P-256, 48 for P-384).
 */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Buffer {
  const [r, s] = readSequence(decodeDer(der), 2).map(readUnsignedInteger);
  if (!r || !s || r.length > size || s.length > size) throw new DerError('ECDSA signature does not fit the curve');
  const out = Buffer.alloc(size * 2);
  r.copy(out, size - r.length);
  s.copy(out, size * 2 - s.length);
  return out;
}

/** Raw r‖s (WebCrypto) to DER `ECDSA-Sig-Value`. */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new DerError('raw ECDSA signature of odd length');
  const half = raw.length / 2;
  return encode(sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half))));
}
