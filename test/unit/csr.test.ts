import { createPublicKey, ECDH, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '#lib/domain/errors.ts';
import { parseCsr } from '#lib/pki/csr.ts';
import { bitString, decodeDer, encode, NULL, oid, readSequence, sequence, set, tlv } from '#lib/pki/der.ts';
import { decodePem, encodePem } from '#lib/pki/pem.ts';
import { buildCsr, extension, type OpensslKeyType, opensslCsr, run, tempDir } from '#test/support/pki-fixtures.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

const SAN = 'subjectAltName=DNS:api.local.test,URI:spiffe://local.test/ns/a';

function derOf(pem: string): Buffer {
  return decodePem(pem, ['CERTIFICATE REQUEST']).der;
}

function pemOf(der: Uint8Array): string {
  return encodePem(der, 'CERTIFICATE REQUEST');
}

/** The ValidationError parseCsr throws; also checks that its message quotes no part of the CSR. */
function refusal(csr: string): ValidationError {
  try {
    parseCsr(csr);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const e = error as ValidationError;
    expect(e.status).toBe(400);
    const body = csr.replace(/-----[^-]+-----|\s/g, '');
    for (let i = 0; i + 24 <= body.length; i += 24) expect(e.message).not.toContain(body.slice(i, i + 24));
    return e;
  }
  throw new Error('expected the CSR to be refused');
}

describe('parseCsr accepts standard CSRs from openssl req', () => {
  it.each([
    ['ec-p256', undefined, 'EC_P256', 256],
    ['ec-p384', 'sha384', 'EC_P384', 384],
    ['ec-p256', 'sha512', 'EC_P256', 256],
    ['rsa2048', undefined, 'RSA', 2048],
    ['rsa3072', 'sha384', 'RSA', 3072],
    ['rsa2048', 'sha512', 'RSA', 2048],
    ['ed25519', undefined, 'ED25519', 256],
  ] as const)('%s (digest %s)', async (key, digest, algorithm, keySize) => {
    const { csrPem, keyPem } = await opensslCsr(dir.path, key as OpensslKeyType, {
      subject: '/CN=api.local.test/O=Ignored',
      addext: [SAN],
      ...(digest ? { digest } : {}),
    });
    const csr = parseCsr(csrPem);
    expect(csr.publicKey.algorithm).toBe(algorithm);
    expect(csr.publicKey.keySize).toBe(keySize);
    const spki = createPublicKey(keyPem).export({ format: 'der', type: 'spki' });
    expect(csr.publicKey.spki.equals(spki)).toBe(true);
    expect(csr.requestedNames).toEqual([
      { type: 'dns', value: 'api.local.test' },
      { type: 'uri', value: 'spiffe://local.test/ns/a' },
    ]);
  });

  it('reads every CN and SAN type it supports, adding a CN that is not a SAN', async () => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', {
      subject: '/CN=other.local.test',
      addext: ['subjectAltName=DNS:a.local.test,IP:10.0.0.1,IP:2001:db8::1,URI:spiffe://local.test/x'],
    });
    expect(parseCsr(csrPem).requestedNames).toEqual([
      { type: 'dns', value: 'a.local.test' },
      { type: 'ip', value: '10.0.0.1' },
      { type: 'ip', value: '2001:db8::1' },
      { type: 'uri', value: 'spiffe://local.test/x' },
      { type: 'dns', value: 'other.local.test' },
    ]);
  });

  it('accepts the NEW CERTIFICATE REQUEST label and whitespace around the block', async () => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: [SAN] });
    const legacy = csrPem.replaceAll('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST');
    expect(parseCsr(`\n\n  ${legacy.replaceAll('\n', '\r\n')}  \n`).requestedNames).toHaveLength(2);
  });

  it('ignores extensions other than SAN, basicConstraints CA:FALSE and a leaf keyUsage', async () => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', {
      addext: [SAN, 'basicConstraints=critical,CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=codeSigning'],
    });
    expect(parseCsr(csrPem).requestedNames).toHaveLength(2);
  });
});

describe('parseCsr refuses', () => {
  let good: string;
  beforeAll(async () => {
    good = (await opensslCsr(dir.path, 'ec-p256', { subject: '/CN=api.local.test', addext: [SAN] })).csrPem;
  });

  it.each([
    ['garbage', () => 'hello world'],
    ['an empty string', () => ''],
    ['a certificate instead', () => good.replaceAll('CERTIFICATE REQUEST', 'CERTIFICATE')],
    ['two blocks', () => good + good],
    ['text before the block', () => `Subject: me\n${good}`],
    ['text after the block', () => `${good}junk\n`],
    ['a PEM header line', () => good.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n')],
    ['base64 garbage', () => pemOf(Buffer.from('not DER at all, not even close'))],
    ['invalid base64 characters', () => good.replace(/\n(.)/, '\n*')],
    ['DER with trailing junk', () => pemOf(Buffer.concat([derOf(good), Buffer.from([0])]))],
    ['truncated DER', () => pemOf(derOf(good).subarray(0, -1))],
    ['DER cut in half', () => pemOf(derOf(good).subarray(0, derOf(good).length >> 1))],
    ['an oversized text', () => `${good}${' '.repeat(70_000)}`],
  ])('%s with CSR_MALFORMED', (_, make) => {
    expect(refusal(make()).code).toBe('CSR_MALFORMED');
  });

  it('indefinite and non-minimal lengths with CSR_MALFORMED', () => {
    const top = decodeDer(derOf(good));
    const content = top.content;
    const n = content.length;
    const nonMinimal = Buffer.concat([Buffer.from([0x30, 0x83, 0, n >> 8, n & 0xff]), content]);
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), content, Buffer.from([0, 0])]);
    expect(refusal(pemOf(nonMinimal)).code).toBe('CSR_MALFORMED');
    expect(refusal(pemOf(indefinite)).code).toBe('CSR_MALFORMED');
  });

  it('a flipped signature byte with CSR_SIGNATURE_INVALID', () => {
    const der = Buffer.from(derOf(good));
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0x01;
    expect(refusal(pemOf(der)).code).toBe('CSR_SIGNATURE_INVALID');
  });

  it('a changed name (signed bytes altered) with CSR_SIGNATURE_INVALID', () => {
    const der = Buffer.from(derOf(good));
    const at = der.indexOf(Buffer.from('api.local.test'));
    der[at] = 'b'.charCodeAt(0);
    expect(refusal(pemOf(der)).code).toBe('CSR_SIGNATURE_INVALID');
  });

  it.each([
    ['RSA 1024', 'rsa1024', 'KEY_TOO_WEAK'],
    ['EC P-192', 'ec-p192', 'KEY_UNSUPPORTED'],
    ['EC P-521', 'ec-p521', 'KEY_UNSUPPORTED'],
    ['Ed448', 'ed448', 'KEY_UNSUPPORTED'],
  ] as const)('an %s key with %s', async (_, key, code) => {
    const { csrPem } = await opensslCsr(dir.path, key, { addext: [SAN] });
    const error = refusal(csrPem);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/P-256|2048/);
  });

  it('an RSA-PSS key with KEY_UNSUPPORTED', async () => {
    const { csrPem } = await opensslCsrRaw(['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048']);
    expect(refusal(csrPem).code).toBe('KEY_UNSUPPORTED');
  });

  it('explicit EC parameters with KEY_UNSUPPORTED', async () => {
    const { csrPem } = await opensslCsrRaw([
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-pkeyopt',
      'ec_param_enc:explicit',
    ]);
    expect(refusal(csrPem).code).toBe('KEY_UNSUPPORTED');
  });

  it('a compressed EC point with KEY_UNSUPPORTED', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const point = publicKey.export({ format: 'der', type: 'spki' }).subarray(-65);
    const compressed = ECDH.convertKey(point, 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const spki = encode(
      sequence(sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), bitString(compressed)),
    );
    expect(
      refusal(buildCsr({ privateKey, publicKeySpki: spki, names: [{ type: 'dns', value: 'a.local.test' }] })).code,
    ).toBe('KEY_UNSUPPORTED');
  });

  it('an EC point off the curve with CSR_MALFORMED', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = Buffer.from(publicKey.export({ format: 'der', type: 'spki' }));
    spki[spki.length - 1] = (spki[spki.length - 1] ?? 0) ^ 1;
    expect(
      refusal(buildCsr({ privateKey, publicKeySpki: spki, names: [{ type: 'dns', value: 'a.local.test' }] })).code,
    ).toBe('CSR_MALFORMED');
  });

  it('a SHA-1 signature with CSR_SIGNATURE_ALGORITHM_UNSUPPORTED', async () => {
    const { csrPem } = await opensslCsr(dir.path, 'rsa2048', { addext: [SAN], digest: 'sha1' });
    const error = refusal(csrPem);
    expect(error.code).toBe('CSR_SIGNATURE_ALGORITHM_UNSUPPORTED');
    expect(error.message).toContain('sha1WithRSAEncryption');
  });

  it('a signature algorithm that does not match the key with CSR_SIGNATURE_ALGORITHM_UNSUPPORTED', () => {
    const [info, , signature] = readSequence(decodeDer(derOf(good)), 3);
    const rsaSha256 = sequence(oid('1.2.840.113549.1.1.11'), NULL);
    const csr = encode(sequence(info?.raw ?? Buffer.alloc(0), rsaSha256, signature?.raw ?? Buffer.alloc(0)));
    expect(refusal(pemOf(csr)).code).toBe('CSR_SIGNATURE_ALGORITHM_UNSUPPORTED');
  });

  it.each([
    ['basicConstraints CA:TRUE', 'basicConstraints=critical,CA:TRUE'],
    ['basicConstraints CA:TRUE (not critical)', 'basicConstraints=CA:TRUE,pathlen:0'],
    ['keyUsage keyCertSign', 'keyUsage=critical,digitalSignature,keyCertSign'],
    ['keyUsage cRLSign', 'keyUsage=cRLSign'],
  ])('%s with CSR_REQUESTS_CA', async (_, ext) => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: [SAN, ext] });
    expect(refusal(csrPem).code).toBe('CSR_REQUESTS_CA');
  });

  it.each([
    ['an email SAN', 'subjectAltName=DNS:a.local.test,email:me@local.test', 'rfc822Name'],
    ['an otherName SAN', 'subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:me@local.test', 'otherName'],
    ['a registeredID SAN', 'subjectAltName=RID:1.2.3.4', 'registeredID'],
  ])('%s with NAME_INVALID', async (_, ext, type) => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: [ext] });
    const error = refusal(csrPem);
    expect(error.code).toBe('NAME_INVALID');
    expect(error.details).toEqual({ type });
  });

  it('a CN of an unsupported string type (BMPString) with NAME_INVALID', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bmp = Buffer.from('\0a\0.\0l\0o\0c\0a\0l\0.\0t\0e\0s\0t', 'latin1');
    const subject = encode(sequence(set(sequence(oid('2.5.4.3'), tlv(0x1e, bmp)))));
    const csr = buildCsr({ privateKey, publicKeySpki: publicKey.export({ format: 'der', type: 'spki' }), subject });
    expect(refusal(csr).code).toBe('NAME_INVALID');
  });

  it('the same extension twice with CSR_MALFORMED', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const csr = buildCsr({
      privateKey,
      publicKeySpki: publicKey.export({ format: 'der', type: 'spki' }),
      names: [{ type: 'dns', value: 'a.local.test' }],
      extensions: [extension('2.5.29.17', encode(sequence(Buffer.from([0x82, 1, 0x62]))))],
    });
    expect(refusal(csr).code).toBe('CSR_MALFORMED');
  });
});

/** openssl req with -newkey options the fixture's list does not name. */
async function opensslCsrRaw(newkey: string[]): Promise<{ csrPem: string }> {
  const id = Math.random().toString(36).slice(2);
  const out = join(dir.path, `${id}.csr`);
  await run('openssl', [
    'req',
    '-new',
    ...newkey,
    '-nodes',
    '-keyout',
    join(dir.path, `${id}.key`),
    '-out',
    out,
    '-subj',
    '/CN=api.local.test',
    '-addext',
    SAN,
  ]);
  return { csrPem: await readFile(out, 'utf8') };
}
