import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bitString,
  boolean,
  children,
  DerError,
  decodeDer,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  encode,
  NULL,
  octetString,
  oid,
  readBitString,
  readBoolean,
  readNamedBits,
  readOid,
  readSequence,
  readSmallInteger,
  readString,
  readTime,
  readUnsignedInteger,
  sequence,
  smallInteger,
  Tag,
  time,
  tlv,
  unsignedInteger,
  utf8String,
} from '#lib/pki/der.ts';

const hex = (d: Parameters<typeof encode>[0]) => encode(d).toString('hex');
const el = (h: string) => decodeDer(Buffer.from(h, 'hex'));

describe('DER writer', () => {
  it('uses the short length form below 128 bytes and minimal long forms above', () => {
    expect(hex(octetString(Buffer.alloc(127)))).toMatch(/^047f/);
    expect(hex(octetString(Buffer.alloc(128)))).toMatch(/^048180/);
    expect(hex(octetString(Buffer.alloc(255)))).toMatch(/^0481ff/);
    expect(hex(octetString(Buffer.alloc(256)))).toMatch(/^04820100/);
    expect(hex(octetString(Buffer.alloc(70000)))).toMatch(/^0483011170/);
  });

  it('nests without copying until encode and produces the same bytes as flat concatenation', () => {
    const inner = sequence(smallInteger(5), NULL, utf8String('é'));
    expect(hex(inner)).toBe('300902010505000c02c3a9');
    expect(hex(sequence(inner, inner))).toBe(`3016${hex(inner)}${hex(inner)}`);
  });

  it('encodes INTEGERs minimally, with a sign octet when the high bit is set', () => {
    expect(hex(unsignedInteger(Buffer.from([0, 0, 1])))).toBe('020101');
    expect(hex(unsignedInteger(Buffer.from([0x80])))).toBe('02020080');
    expect(hex(unsignedInteger(Buffer.from([0, 0])))).toBe('020100');
    expect(hex(smallInteger(0))).toBe('020100');
    expect(hex(smallInteger(2))).toBe('020102');
    expect(hex(smallInteger(65537))).toBe('0203010001');
  });

  it('encodes OBJECT IDENTIFIERs, including multi-byte arcs, and reads them back', () => {
    expect(oid('1.2.840.10045.4.3.2').toString('hex')).toBe('06082a8648ce3d040302');
    expect(oid('2.5.29.17').toString('hex')).toBe('0603551d11');
    for (const dotted of ['1.3.6.1.5.5.7.3.1', '2.999.1', '1.2.840.113549.1.9.14', '0.9.2342.19200300.100.1.25']) {
      expect(readOid(decodeDer(oid(dotted)))).toBe(dotted);
    }
    expect(() => oid('3.1')).toThrow(RangeError);
    expect(() => oid('1.40')).toThrow(RangeError);
  });

  it('writes UTCTime through 2049 and GeneralizedTime from 2050, without fractions', () => {
    expect(
      encode(time(new Date('2049-12-31T23:59:59.999Z')))
        .toString('latin1')
        .slice(2),
    ).toBe('491231235959Z');
    expect(
      encode(time(new Date('2050-01-01T00:00:00Z')))
        .toString('latin1')
        .slice(2),
    ).toBe('20500101000000Z');
    expect(encode(time(new Date('2049-01-01T00:00:00Z')))[0]).toBe(Tag.UTC_TIME);
    expect(encode(time(new Date('2050-01-01T00:00:00Z')))[0]).toBe(Tag.GENERALIZED_TIME);
    for (const iso of [
      '1999-02-28T01:02:03Z',
      '2049-12-31T23:59:59Z',
      '2050-01-01T00:00:00Z',
      '2199-07-04T12:00:00Z',
    ]) {
      expect(readTime(decodeDer(encode(time(new Date(iso))))).toISOString()).toBe(new Date(iso).toISOString());
    }
  });

  it('writes BOOLEAN and BIT STRING in DER form', () => {
    expect(boolean(true).toString('hex')).toBe('0101ff');
    expect(hex(bitString(Buffer.from([1, 2])))).toBe('0303000102');
  });
});

describe('DER reader', () => {
  it('walks constructed elements and exposes raw and content views', () => {
    const root = el('30050201010500');
    const [a, b] = children(root);
    expect(a?.tag).toBe(Tag.INTEGER);
    expect(b?.raw.toString('hex')).toBe('0500');
    expect(readSmallInteger(a as NonNullable<typeof a>)).toBe(1);
    expect(readSequence(root, 2)).toHaveLength(2);
    expect(() => readSequence(root, 3)).toThrow(DerError);
  });

  it.each([
    ['trailing data', '3000ff'],
    ['indefinite length', '30800000'],
    ['non-minimal short length in long form', '04810100'],
    ['non-minimal long length (leading zero)', `0482007f${'00'.repeat(127)}`],
    ['truncated content', '0405010203'],
    ['truncated header', '04'],
    ['truncated length bytes', '0482ff'],
    ['high tag number', '1f2100'],
    ['child overrunning its parent', '3003040501'],
  ])('refuses %s', (_, h) => {
    expect(() => {
      const root = el(h);
      if (root.tag & 0x20) children(root);
    }).toThrow(DerError);
  });

  it('refuses non-minimal and negative INTEGERs', () => {
    expect(() => readUnsignedInteger(el('02020001'))).toThrow(DerError);
    expect(() => readUnsignedInteger(el('0202ff80'))).toThrow(DerError);
    expect(() => readUnsignedInteger(el('020180'))).toThrow(DerError);
    expect(readUnsignedInteger(el('02020080')).toString('hex')).toBe('80');
  });

  it('accepts only 0x00 and 0xff as BOOLEAN', () => {
    expect(readBoolean(el('0101ff'))).toBe(true);
    expect(readBoolean(el('010100'))).toBe(false);
    expect(() => readBoolean(el('010101'))).toThrow(DerError);
  });

  it('reads named bits strictly (no trailing zero bits)', () => {
    expect(readNamedBits(el('03020780'))).toEqual([0]);
    expect(readNamedBits(el('030205a0'))).toEqual([0, 2]);
    expect(readNamedBits(el('03020106'))).toEqual([5, 6]);
    expect(() => readNamedBits(el('03020080'))).toThrow(DerError);
    expect(() => readBitString(el('03020780'))).toThrow(DerError);
  });

  it('reads the string types a CSR may use and refuses others', () => {
    expect(readString(decodeDer(encode(utf8String('日本'))))).toBe('日本');
    expect(readString(el('1303616263'))).toBe('abc');
    expect(() => readString(el('13022a2a'))).toThrow(DerError);
    expect(() => readString(el('0c02c328'))).toThrow(DerError);
    expect(() => readString(el('1e0400610062'))).toThrow(DerError);
    expect(readString(el('8203616263'), Tag.IA5_STRING)).toBe('abc');
  });

  it('refuses impossible times', () => {
    expect(() => readTime(el('170d3235303233303030303030305a'))).toThrow(DerError);
    expect(() => readTime(el('170d3235303130313234303030305a'))).toThrow(DerError);
    expect(() => readTime(el('170b323530313031303030305a'))).toThrow(DerError);
  });

  it('reads OIDs strictly', () => {
    expect(() => readOid(el('0600'))).toThrow(DerError);
    expect(() => readOid(el('0602802a'))).toThrow(DerError);
    expect(() => readOid(el('060181'))).toThrow(DerError);
  });

  it('round-trips what tlv writes', () => {
    const bytes = encode(tlv(0xa3, sequence(octetString(Buffer.from('x')))));
    expect(decodeDer(bytes).raw.equals(bytes)).toBe(true);
  });
});

describe('ECDSA signature conversion', () => {
  it.each([
    ['P-256', 32],
    ['P-384', 48],
  ] as const)('converts %s signatures between DER and raw r‖s losslessly', (namedCurve, size) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    for (let i = 0; i < 50; i++) {
      const data = Buffer.from(`message ${i}`);
      const der = sign(null, data, privateKey);
      const raw = ecdsaDerToRaw(der, size);
      expect(raw).toHaveLength(2 * size);
      expect(verify(null, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
      expect(ecdsaRawToDer(raw).equals(der)).toBe(true);
    }
  });

  it('refuses a DER signature too large for the curve', () => {
    const big = encode(sequence(unsignedInteger(Buffer.alloc(33, 1)), unsignedInteger(Buffer.from([1]))));
    expect(() => ecdsaDerToRaw(big, 32)).toThrow(DerError);
  });
});
