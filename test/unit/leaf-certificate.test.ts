import 'reflect-metadata';
import { generateKeyPairSync, sign } from 'node:crypto';
import { KeyUsageFlags, KeyUsagesExtension, SubjectAlternativeNameExtension, X509Certificate } from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { decodeDer, encode, oid, readBitString, readSequence, sequence, set, utf8String } from '#lib/pki/der.ts';
import { signatureAlgorithmFor } from '#lib/pki/issuer.ts';
import {
  chooseCommonName,
  encodeCertificate,
  encodeLeafTbsCertificate,
  formatSubject,
  keyIdentifier,
  keyUsageFor,
  type LeafCertificateFields,
  randomSerialNumber,
} from '#lib/pki/leaf-certificate.ts';

const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ISSUER = encode(sequence(set(sequence(oid('2.5.4.3'), utf8String('Issue')))));

function fields(overrides: Partial<LeafCertificateFields> = {}): LeafCertificateFields {
  const spki = leaf.publicKey.export({ format: 'der', type: 'spki' });
  const [, bits] = readSequence(decodeDer(spki), 2);
  return {
    serialNumber: randomSerialNumber(),
    signatureAlgorithm: signatureAlgorithmFor('EC_P256'),
    issuer: ISSUER,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-02T00:00:00Z'),
    commonName: 'a.local.test',
    subjectPublicKeyInfo: spki,
    subjectKeyIdentifier: keyIdentifier(readBitString(bits ?? decodeDer(spki))),
    authorityKeyIdentifier: Buffer.alloc(20, 7),
    keyUsage: ['digitalSignature'],
    extendedKeyUsages: ['serverAuth'],
    subjectAltNames: [{ type: 'dns', value: 'a.local.test' }],
    ...overrides,
  };
}

function certificate(f: LeafCertificateFields): X509Certificate {
  const tbs = encodeLeafTbsCertificate(f);
  return new X509Certificate(encodeCertificate(tbs, f.signatureAlgorithm, sign('sha256', tbs, ca.privateKey)));
}

describe('encodeLeafTbsCertificate', () => {
  it('writes the issuer name byte for byte and a signature @peculiar/x509 verifies', async () => {
    const cert = certificate(fields());
    expect(cert.issuer).toBe('CN=Issue');
    expect(
      await cert.verify({ publicKey: ca.publicKey.export({ format: 'der', type: 'spki' }), signatureOnly: true }),
    ).toBe(true);
  });

  it('writes IPv4 and IPv6 addresses as 4 and 16 octets', () => {
    const cert = certificate(
      fields({
        subjectAltNames: [
          { type: 'ip', value: '10.1.2.3' },
          { type: 'ip', value: '2001:db8::1' },
          { type: 'uri', value: 'spiffe://local.test/a' },
        ],
      }),
    );
    expect(cert.getExtension(SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'ip', value: '10.1.2.3' },
      { type: 'ip', value: '2001:db8::1' },
      { type: 'url', value: 'spiffe://local.test/a' },
    ]);
  });

  it('encodes keyUsage bits in DER (trailing zero bits dropped)', () => {
    for (const [usage, flags, bytes] of [
      [['digitalSignature'], KeyUsageFlags.digitalSignature, '03020780'],
      [
        ['digitalSignature', 'keyEncipherment'],
        KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment,
        '030205a0',
      ],
    ] as const) {
      const cert = certificate(fields({ keyUsage: usage }));
      expect(cert.getExtension(KeyUsagesExtension)?.usages).toBe(flags);
      expect(Buffer.from(cert.rawData).toString('hex')).toContain(`0603551d0f0101ff0404${bytes}`);
    }
  });

  it('refuses an IP address that is not canonical text', () => {
    expect(() => encodeLeafTbsCertificate(fields({ subjectAltNames: [{ type: 'ip', value: 'localhost' }] }))).toThrow(
      RangeError,
    );
  });
});

describe('leaf helpers', () => {
  it('keyUsageFor: digitalSignature, plus keyEncipherment for RSA', () => {
    expect(keyUsageFor('EC_P256')).toEqual(['digitalSignature']);
    expect(keyUsageFor('ED25519')).toEqual(['digitalSignature']);
    expect(keyUsageFor('RSA')).toEqual(['digitalSignature', 'keyEncipherment']);
  });

  it('randomSerialNumber: 16 octets, positive, no leading zero octet, all distinct', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const serial = randomSerialNumber();
      expect(serial).toHaveLength(16);
      expect((serial[0] ?? 0) & 0xc0).toBe(0x40);
      seen.add(serial.toString('hex'));
    }
    expect(seen.size).toBe(2000);
  });

  it('chooseCommonName: the first DNS name of at most 64 characters', () => {
    const long = `${'x'.repeat(60)}.local.test`;
    expect(
      chooseCommonName([
        { type: 'uri', value: 'spiffe://local.test/a' },
        { type: 'dns', value: long },
        { type: 'dns', value: 'b.local.test' },
      ]),
    ).toBe('b.local.test');
    expect(chooseCommonName([{ type: 'uri', value: 'spiffe://local.test/a' }])).toBeUndefined();
  });

  it('formatSubject: RFC 4514 with escaping, least significant attribute first', () => {
    expect(formatSubject({ commonName: undefined })).toBe('');
    expect(formatSubject({ commonName: 'a.local.test' })).toBe('CN=a.local.test');
    expect(formatSubject({ commonName: '#a, b+c ' })).toBe('CN=\\#a\\, b\\+c\\ ');
    expect(
      formatSubject({ commonName: 'a.local.test', organization: 'Example, Inc.', organizationalUnit: 'pay' }),
    ).toBe('CN=a.local.test,OU=pay,O=Example\\, Inc.');
    expect(formatSubject({ commonName: undefined, organization: 'Example' })).toBe('O=Example');
  });
});
