import 'reflect-metadata';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
} from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftwareSigner } from '#lib/adapters/software-signer.ts';
import { createIntermediateCaCertificate, createRootCaCertificate } from '#lib/pki/ca-certificates.ts';
import { decodePem } from '#lib/pki/pem.ts';
import { createSignerCrypto } from '#lib/pki/signer-web-crypto.ts';
import type { SigningKeyAlgorithm } from '#lib/ports/signer.ts';
import { createTestCa, hasCerttool, run, tempDir } from '#test/support/pki-fixtures.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

const SIGNATURE_NAMES: Partial<Record<SigningKeyAlgorithm, string>> = {
  EC_P256: 'ecdsa-with-SHA256',
  EC_P384: 'ecdsa-with-SHA384',
  RSA_2048: 'sha256WithRSAEncryption',
};

describe.each(['EC_P256', 'EC_P384', 'RSA_2048'] as const)('CA certificates with %s keys', (algorithm) => {
  it('makes a root and an issuing CA that openssl, certtool and @peculiar/x509 accept', async () => {
    const ca = await createTestCa(algorithm);
    const root = new X509Certificate(ca.rootPem);
    const intermediate = new X509Certificate(ca.intermediatePem);

    expect(root.subject).toBe('CN=Test Root CA');
    expect(root.issuer).toBe('CN=Test Root CA');
    expect(await root.verify({ signatureOnly: true })).toBe(true);
    const rootBc = root.getExtension(BasicConstraintsExtension);
    expect([rootBc?.critical, rootBc?.ca, rootBc?.pathLength]).toEqual([true, true, undefined]);
    const rootKu = root.getExtension(KeyUsagesExtension);
    expect([rootKu?.critical, rootKu?.usages]).toEqual([true, KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign]);
    const rootSki = root.getExtension(SubjectKeyIdentifierExtension)?.keyId;
    expect(rootSki).toMatch(/^[0-9a-f]{40}$/);
    expect(root.getExtension(AuthorityKeyIdentifierExtension)?.keyId).toBe(rootSki);

    expect(intermediate.subject).toBe('CN=Test Issuing CA');
    expect(intermediate.issuer).toBe('CN=Test Root CA');
    expect(await intermediate.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
    const bc = intermediate.getExtension(BasicConstraintsExtension);
    expect([bc?.critical, bc?.ca, bc?.pathLength]).toEqual([true, true, 0]);
    expect(intermediate.getExtension(KeyUsagesExtension)?.critical).toBe(true);
    expect(intermediate.getExtension(AuthorityKeyIdentifierExtension)?.keyId).toBe(rootSki);
    expect(intermediate.getExtension(SubjectKeyIdentifierExtension)?.keyId).toBe(
      ca.issuer.subjectKeyIdentifier.toString('hex'),
    );
    expect(Buffer.from(intermediate.publicKey.rawData).equals(Buffer.from(await ca.issuing.getPublicKey()))).toBe(true);

    const rootFile = await dir.write(`${algorithm}-root.pem`, ca.rootPem);
    const intermediateFile = await dir.write(`${algorithm}-int.pem`, ca.intermediatePem);
    const text = await run('openssl', ['x509', '-in', intermediateFile, '-text', '-noout']);
    expect(text).toContain(`Signature Algorithm: ${SIGNATURE_NAMES[algorithm]}`);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
    const rootText = await run('openssl', ['x509', '-in', rootFile, '-text', '-noout']);
    expect(rootText).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);

    const out = await run('openssl', ['verify', '-x509_strict', '-CAfile', rootFile, intermediateFile]);
    expect(out.trim()).toBe(`${intermediateFile}: OK`);
    expect(await hasCerttool()).toBe(true);
    const certtool = await run('certtool', [
      '--verify',
      '--load-ca-certificate',
      rootFile,
      '--infile',
      intermediateFile,
    ]);
    expect(certtool).toMatch(/Chain verification output: Verified\./);
  });
});

describe('createIntermediateCaCertificate', () => {
  it('refuses a root certificate made for another key (CA_KEY_MISMATCH) and caps notAfter at the root', async () => {
    const ca = await createTestCa('EC_P256');
    const common = {
      rootCertificatePem: ca.rootPem,
      issuingPublicKey: await ca.issuing.getPublicKey(),
      commonName: 'Another Issuing CA',
      notBefore: new Date(),
    };
    await expect(
      createIntermediateCaCertificate({
        ...common,
        rootSigner: SoftwareSigner.generate('EC_P256'),
        notAfter: new Date(Date.now() + 86_400_000),
      }),
    ).rejects.toMatchObject({ code: 'CA_KEY_MISMATCH' });
    const longLived = await createIntermediateCaCertificate({
      ...common,
      rootSigner: ca.root,
      notAfter: new Date(Date.now() + 100 * 365 * 86_400_000),
    });
    expect(new X509Certificate(longLived).notAfter.getTime()).toBe(new X509Certificate(ca.rootPem).notAfter.getTime());
  });

  it('refuses an empty validity window and an over-long common name', async () => {
    const signer = SoftwareSigner.generate('EC_P256');
    const now = new Date();
    await expect(
      createRootCaCertificate({ signer, commonName: 'Root', notBefore: now, notAfter: now }),
    ).rejects.toThrow(RangeError);
    await expect(
      createRootCaCertificate({ signer, commonName: 'x'.repeat(65), notBefore: now, notAfter: new Date(+now + 1000) }),
    ).rejects.toThrow(RangeError);
  });

  it('encodes any common name text as a UTF8String', async () => {
    const signer = SoftwareSigner.generate('EC_P256');
    const now = new Date();
    const pem = await createRootCaCertificate({
      signer,
      commonName: 'Ünïcode, "Root" + CA',
      notBefore: now,
      notAfter: new Date(+now + 86_400_000),
    });
    const text = await run('openssl', [
      'x509',
      '-in',
      await dir.write('utf8.pem', pem),
      '-noout',
      '-subject',
      '-nameopt',
      'utf8',
    ]);
    expect(text.trim()).toBe('subject=CN=Ünïcode, "Root" + CA');
    const utf8 = Buffer.from('Ünïcode, "Root" + CA', 'utf8');
    const der = decodePem(pem, ['CERTIFICATE']).der;
    expect(der.includes(Buffer.concat([Buffer.from([0x0c, utf8.length]), utf8]))).toBe(true);
  });
});

describe('createSignerCrypto', () => {
  it.each(['EC_P256', 'EC_P384', 'RSA_2048'] as const)(
    'signs through the Signer and returns what WebCrypto would (%s)',
    async (algorithm) => {
      const signer = SoftwareSigner.generate(algorithm);
      const { crypto, signingKey, signingAlgorithm } = createSignerCrypto(signer);
      const data = Buffer.from('to be signed');
      const signature = Buffer.from(await crypto.subtle.sign(signingAlgorithm, signingKey, data));
      const publicKey = createPublicKey({ key: Buffer.from(await signer.getPublicKey()), format: 'der', type: 'spki' });
      const hash = algorithm === 'EC_P384' ? 'sha384' : 'sha256';
      if (algorithm === 'RSA_2048') {
        expect(verify(hash, data, publicKey, signature)).toBe(true);
      } else {
        expect(signature).toHaveLength(algorithm === 'EC_P256' ? 64 : 96);
        expect(verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
      }
      const digest = Buffer.from(await crypto.subtle.digest('SHA-256', data));
      expect(digest).toHaveLength(32);
    },
  );

  it('refuses another hash or another key', async () => {
    const signer = SoftwareSigner.generate('EC_P256');
    const { crypto, signingKey } = createSignerCrypto(signer);
    await expect(crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-512' }, signingKey, Buffer.from('x'))).rejects.toThrow(
      /SHA-256/,
    );
    const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await expect(
      crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, other.privateKey, Buffer.from('x')),
    ).rejects.toThrow(TypeError);
  });
});

describe('SoftwareSigner', () => {
  it.each(['EC_P256', 'EC_P384', 'RSA_2048'] as const)('round-trips through PKCS#8 PEM (%s)', async (algorithm) => {
    const signer = SoftwareSigner.generate(algorithm);
    const again = SoftwareSigner.fromPkcs8Pem(signer.toPkcs8Pem());
    expect(again.algorithm).toBe(algorithm);
    expect(Buffer.from(await again.getPublicKey()).equals(Buffer.from(await signer.getPublicKey()))).toBe(true);
    const data = Buffer.from('tbs');
    const publicKey = createPublicKey({ key: Buffer.from(await signer.getPublicKey()), format: 'der', type: 'spki' });
    expect(verify(algorithm === 'EC_P384' ? 'sha384' : 'sha256', data, publicKey, await again.sign(data))).toBe(true);
  });

  it('refuses keys a CA does not use here (CA_KEY_UNSUPPORTED)', () => {
    for (const key of [
      generateKeyPairSync('ed25519').privateKey,
      generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
    ]) {
      const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
      expect(() => SoftwareSigner.fromPkcs8Pem(pem)).toThrow(expect.objectContaining({ code: 'CA_KEY_UNSUPPORTED' }));
    }
  });
});
