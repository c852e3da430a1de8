import 'reflect-metadata';
import { createHash, createPublicKey } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
} from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftwareSigner } from '#lib/adapters/software-signer.ts';
import { AuthorizationError, ControlPlaneError } from '#lib/domain/errors.ts';
import { policyDocumentSchema } from '#lib/domain/policy.ts';
import { type IssuanceAsk, PolicySet } from '#lib/domain/policy-engine.ts';
import { decodeDer, readBitString, readSequence } from '#lib/pki/der.ts';
import { type IssuanceRequest, type IssuedCertificate, issueLeafCertificate } from '#lib/pki/issuance-core.ts';
import { loadIssuerContext } from '#lib/pki/issuer.ts';
import { decodePem } from '#lib/pki/pem.ts';
import type { SigningKeyAlgorithm } from '#lib/ports/signer.ts';
import {
  createTestCa,
  defaultContext,
  hasCerttool,
  type OpensslKeyType,
  opensslCsr,
  run,
  TEST_PRINCIPAL,
  type TestCa,
  tempDir,
} from '#test/support/pki-fixtures.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let certtool = false;
beforeAll(async () => {
  dir = await tempDir();
  certtool = await hasCerttool();
});
afterAll(async () => {
  await dir.remove();
});

const SIGNATURE_NAMES: Record<SigningKeyAlgorithm, string> = {
  EC_P256: 'ecdsa-with-SHA256',
  EC_P384: 'ecdsa-with-SHA384',
  RSA_2048: 'sha256WithRSAEncryption',
  RSA_3072: 'sha256WithRSAEncryption',
  RSA_4096: 'sha256WithRSAEncryption',
};

const LEAF_KEYS: Record<string, { key: OpensslKeyType; algorithm: string; size: number; text: RegExp }> = {
  'EC P-256': { key: 'ec-p256', algorithm: 'EC_P256', size: 256, text: /id-ecPublicKey[\s\S]*NIST CURVE: P-256/ },
  'EC P-384': { key: 'ec-p384', algorithm: 'EC_P384', size: 384, text: /id-ecPublicKey[\s\S]*NIST CURVE: P-384/ },
  'RSA 2048': { key: 'rsa2048', algorithm: 'RSA', size: 2048, text: /rsaEncryption[\s\S]*Public-Key: \(2048 bit\)/ },
  Ed25519: { key: 'ed25519', algorithm: 'ED25519', size: 256, text: /Public Key Algorithm: ED25519/ },
};

async function issue(ca: TestCa, request: IssuanceRequest, now = new Date()): Promise<IssuedCertificate> {
  return issueLeafCertificate(request, defaultContext(ca.issuer, now));
}

/** Verifies the chain with openssl (strict RFC 5280 checks) and, when installed, gnutls certtool. */
async function verifyChain(ca: TestCa, leafPem: string, purpose: 'sslserver' | 'sslclient'): Promise<void> {
  const id = Math.random().toString(36).slice(2);
  const root = await dir.write(`${id}-root.pem`, ca.rootPem);
  const intermediate = await dir.write(`${id}-int.pem`, ca.intermediatePem);
  const leaf = await dir.write(`${id}-leaf.pem`, leafPem);
  const out = await run('openssl', [
    'verify',
    '-x509_strict',
    '-purpose',
    purpose,
    '-CAfile',
    root,
    '-untrusted',
    intermediate,
    leaf,
  ]);
  expect(out.trim()).toBe(`${leaf}: OK`);
  expect(certtool).toBe(true);
  const chain = await dir.write(`${id}-chain.pem`, leafPem + ca.intermediatePem);
  const result = await run('certtool', ['--verify', '--load-ca-certificate', root, '--infile', chain]);
  expect(result).toMatch(/Chain verification output: Verified\./);
}

describe.each(['EC_P256', 'EC_P384', 'RSA_2048'] as const)('issuance with a %s CA key', (caAlgorithm) => {
  let ca: TestCa;
  beforeAll(async () => {
    ca = await createTestCa(caAlgorithm);
  });

  it.each(Object.entries(LEAF_KEYS))(
    'issues for a %s leaf key what openssl, certtool and @peculiar/x509 read back',
    async (_, leafKey) => {
      const { csrPem, keyPem } = await opensslCsr(dir.path, leafKey.key, {
        subject: '/CN=API.local.test/O=Requested Org/OU=Ignored',
        addext: [
          'subjectAltName=DNS:API.local.test,DNS:www.local.test,URI:spiffe://local.test/ns/prod/sa/api',
          'extendedKeyUsage=codeSigning,clientAuth',
          'keyUsage=digitalSignature,nonRepudiation',
        ],
      });
      const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 750);
      const notBefore = new Date(now.getTime() - 60_750);
      const notAfter = new Date(notBefore.getTime() + 86_400_000);
      const issued = await issue(ca, { csr: csrPem }, now);

      // What the core reports.
      expect(issued.policy).toBe('server');
      expect(issued.renewAfter.getTime()).toBe(notAfter.getTime() - 86_400_000 / 3);
      expect(issued.subject).toBe('CN=api.local.test');
      expect(issued.subjectAltNames).toEqual([
        { type: 'dns', value: 'api.local.test' },
        { type: 'dns', value: 'www.local.test' },
        { type: 'uri', value: 'spiffe://local.test/ns/prod/sa/api' },
      ]);
      expect(issued.keyAlgorithm).toBe(leafKey.algorithm);
      expect(issued.keySize).toBe(leafKey.size);
      expect(issued.notBefore.toISOString()).toBe(notBefore.toISOString());
      expect(issued.notAfter.toISOString()).toBe(notAfter.toISOString());
      expect(issued.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
      expect(issued.fingerprintSha256).toBe(createHash('sha256').update(issued.der).digest('hex'));
      expect(decodePem(issued.pem, ['CERTIFICATE']).der.equals(issued.der)).toBe(true);

      // What @peculiar/x509's parser reads.
      const cert = new X509Certificate(issued.der);
      const issuerCert = new X509Certificate(ca.intermediatePem);
      expect(cert.serialNumber).toBe(issued.serialNumber);
      expect(cert.subject).toBe('CN=api.local.test');
      expect(cert.issuer).toBe(issuerCert.subject);
      expect(cert.notBefore.toISOString()).toBe(issued.notBefore.toISOString());
      expect(cert.notAfter.toISOString()).toBe(issued.notAfter.toISOString());
      expect(
        Buffer.from(cert.publicKey.rawData).equals(createPublicKey(keyPem).export({ format: 'der', type: 'spki' })),
      ).toBe(true);
      expect(await cert.verify({ publicKey: issuerCert.publicKey, signatureOnly: true })).toBe(true);
      expect(cert.extensions).toHaveLength(6);
      const bc = cert.getExtension(BasicConstraintsExtension);
      expect([bc?.critical, bc?.ca, bc?.pathLength]).toEqual([true, false, undefined]);
      const ku = cert.getExtension(KeyUsagesExtension);
      expect(ku?.critical).toBe(true);
      expect(ku?.usages).toBe(
        leafKey.algorithm === 'RSA'
          ? KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment
          : KeyUsageFlags.digitalSignature,
      );
      const eku = cert.getExtension(ExtendedKeyUsageExtension);
      expect([eku?.critical, eku?.usages]).toEqual([false, [ExtendedKeyUsage.serverAuth]]);
      const spkiBits = createPublicKey(keyPem).export({ format: 'der', type: 'spki' });
      const ski = cert.getExtension(SubjectKeyIdentifierExtension)?.keyId;
      expect(ski).toBe(createHash('sha1').update(subjectPublicKeyOf(spkiBits)).digest('hex'));
      expect(cert.getExtension(AuthorityKeyIdentifierExtension)?.keyId).toBe(
        issuerCert.getExtension(SubjectKeyIdentifierExtension)?.keyId,
      );
      const san = cert.getExtension(SubjectAlternativeNameExtension);
      expect(san?.critical).toBe(false);
      expect(san?.names.toJSON()).toEqual([
        { type: 'dns', value: 'api.local.test' },
        { type: 'dns', value: 'www.local.test' },
        { type: 'url', value: 'spiffe://local.test/ns/prod/sa/api' },
      ]);

      // What openssl reads.
      const file = await dir.write(`${issued.serialNumber}.pem`, issued.pem);
      const text = await run('openssl', ['x509', '-in', file, '-text', '-noout']);
      expect(text).toContain('Version: 3 (0x2)');
      expect(text).toContain(`Signature Algorithm: ${SIGNATURE_NAMES[caAlgorithm]}`);
      expect(text).toContain('Issuer: CN = Test Issuing CA');
      expect(text).toContain(`Not Before: ${opensslDate(notBefore)}`);
      expect(text).toContain(`Not After : ${opensslDate(notAfter)}`);
      expect(text).toMatch(/Subject: CN = api\.local\.test\n/);
      expect(text).toMatch(leafKey.text);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
      expect(text).toMatch(
        leafKey.algorithm === 'RSA'
          ? /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/
          : /X509v3 Key Usage: critical\n\s+Digital Signature\n/,
      );
      expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
      expect(text).toMatch(
        /X509v3 Subject Alternative Name: \n\s+DNS:api\.local\.test, DNS:www\.local\.test, URI:spiffe:\/\/local\.test\/ns\/prod\/sa\/api\n/,
      );
      expect(text).toContain(`X509v3 Subject Key Identifier: \n                ${colonHex(ski ?? '')}`);
      expect(text).not.toMatch(/Requested Org|Code Signing|Non Repudiation/);

      await verifyChain(ca, issued.pem, 'sslserver');
    },
  );

  it('issues a client certificate (clientAuth) under the client policy', async () => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: ['subjectAltName=DNS:worker.local.test'] });
    const issued = await issue(ca, { csr: csrPem, policy: 'client', validity: '90m' });
    expect(issued.policy).toBe('client');
    expect(issued.notAfter.getTime() - issued.notBefore.getTime()).toBe(90 * 60_000);
    const eku = new X509Certificate(issued.der).getExtension(ExtendedKeyUsageExtension);
    expect(eku?.usages).toEqual([ExtendedKeyUsage.clientAuth]);
    await verifyChain(ca, issued.pem, 'sslclient');
  });
});

describe('issuance details', () => {
  let ca: TestCa;
  beforeAll(async () => {
    ca = await createTestCa('EC_P256');
  });

  it('gives an empty subject and a critical subjectAltName when no DNS name is issued', async () => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', {
      addext: ['subjectAltName=URI:spiffe://local.test/ns/prod/sa/api'],
    });
    const issued = await issue(ca, { csr: csrPem });
    expect(issued.subject).toBe('');
    const cert = new X509Certificate(issued.der);
    expect(cert.subject).toBe('');
    expect(cert.getExtension(SubjectAlternativeNameExtension)?.critical).toBe(true);
    const text = await run('openssl', [
      'x509',
      '-in',
      await dir.write('empty-subject.pem', issued.pem),
      '-text',
      '-noout',
    ]);
    expect(text).toMatch(/Subject: \n/);
    expect(text).toMatch(
      /X509v3 Subject Alternative Name: critical\n\s+URI:spiffe:\/\/local\.test\/ns\/prod\/sa\/api\n/,
    );
    await verifyChain(ca, issued.pem, 'sslserver');
  });

  it('takes the CN from the first DNS name that fits in 64 characters, and a CN-only CSR works', async () => {
    const long = `${'a'.repeat(60)}.local.test`;
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', {
      subject: '/CN=short.local.test',
      addext: [`subjectAltName=URI:spiffe://local.test/x,DNS:${long},DNS:short.local.test`],
    });
    const issued = await issue(ca, { csr: csrPem });
    expect(issued.subject).toBe('CN=short.local.test');
    expect(issued.subjectAltNames.map((n) => n.value)).toEqual(['spiffe://local.test/x', long, 'short.local.test']);
    const cnOnly = await opensslCsr(dir.path, 'ec-p256', { subject: '/CN=cn-only.local.test' });
    const fromCn = await issue(ca, { csr: cnOnly.csrPem });
    expect(fromCn.subject).toBe('CN=cn-only.local.test');
    expect(fromCn.subjectAltNames).toEqual([{ type: 'dns', value: 'cn-only.local.test' }]);
    await verifyChain(ca, fromCn.pem, 'sslserver');
  });

  it('caps notAfter at the issuing CA notAfter', async () => {
    const shortCa = await createTestCa('EC_P256', { issuingDays: 2 });
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: ['subjectAltName=DNS:a.local.test'] });
    const issued = await issue(shortCa, { csr: csrPem, validity: '30d' });
    expect(issued.notAfter.getTime()).toBe(shortCa.issuer.notAfter.getTime());
    await verifyChain(shortCa, issued.pem, 'sslserver');
  });

  it('writes UTCTime before 2050 and GeneralizedTime from 2050', async () => {
    const now = new Date('2049-12-31T12:00:00Z');
    const lateCa = await createTestCa('EC_P256', { now });
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: ['subjectAltName=DNS:a.local.test'] });
    const issued = await issue(lateCa, { csr: csrPem, validity: '2d' }, now);
    const cert = new X509Certificate(issued.der);
    expect(cert.notBefore.toISOString()).toBe('2049-12-31T11:59:00.000Z');
    expect(cert.notAfter.toISOString()).toBe('2050-01-02T11:59:00.000Z');
    const tbs = issued.der.toString('latin1');
    expect(tbs).toContain('\x17\x0d491231115900Z');
    expect(tbs).toContain('\x18\x0f20500102115900Z');
    const text = await run('openssl', ['x509', '-in', await dir.write('2050.pem', issued.pem), '-dates', '-noout']);
    expect(text).toBe('notBefore=Dec 31 11:59:00 2049 GMT\nnotAfter=Jan  2 11:59:00 2050 GMT\n');
    const root = await dir.write('2050-root.pem', lateCa.rootPem);
    const intermediate = await dir.write('2050-int.pem', lateCa.intermediatePem);
    const out = await run('openssl', [
      'verify',
      '-x509_strict',
      '-attime',
      String(Math.floor(now.getTime() / 1000) + 3600),
      '-CAfile',
      root,
      '-untrusted',
      intermediate,
      await dir.write('2050-leaf.pem', issued.pem),
    ]);
    expect(out).toMatch(/: OK\n$/);
  });

  it('gives each certificate a distinct positive 16-byte serial', async () => {
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: ['subjectAltName=DNS:a.local.test'] });
    const serials = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const issued = await issue(ca, { csr: csrPem });
      expect(issued.der.subarray(0, 40).includes(Buffer.from(`0210${issued.serialNumber.slice(0, 4)}`, 'hex'))).toBe(
        true,
      );
      serials.add(issued.serialNumber);
    }
    expect(serials.size).toBe(300);
  });

  it('issues an IPv4-mapped IPv6 address as the 4-octet IPv4 address, which IPv4 deny rules see', async () => {
    const policies = new PolicySet([
      policyDocumentSchema.parse({
        name: 'ips',
        principals: ['local:*'],
        allow: { ipRanges: ['10.20.0.0/16', '::/0'] },
        deny: { ipRanges: ['10.20.9.0/24'] },
      }),
    ]);
    const context = {
      issuer: ca.issuer,
      decide: (ask: IssuanceAsk) => policies.decide(TEST_PRINCIPAL, ask),
      now: new Date(),
    };
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', {
      addext: ['subjectAltName=IP:::ffff:10.20.0.5,IP:0:0:0:0:0:FFFF:0a14:0006,IP:2001:db8::1'],
    });
    const issued = await issueLeafCertificate({ csr: csrPem }, context);
    expect(issued.subjectAltNames).toEqual([
      { type: 'ip', value: '10.20.0.5' },
      { type: 'ip', value: '10.20.0.6' },
      { type: 'ip', value: '2001:db8::1' },
    ]);
    const san = new X509Certificate(issued.der).getExtension(SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([
      { type: 'ip', value: '10.20.0.5' },
      { type: 'ip', value: '10.20.0.6' },
      { type: 'ip', value: '2001:db8::1' },
    ]);
    // The iPAddress GeneralNames themselves: [7] with 4 octets, then [7] with 16.
    const der = issued.der.toString('hex');
    expect(der).toContain('87040a14000587040a140006871020010db8000000000000000000000001');
    expect(der).not.toContain('00000000000000000000ffff0a14');
    const text = await run('openssl', [
      'x509',
      '-in',
      await dir.write('mapped-ip.pem', issued.pem),
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    expect(text).toMatch(/IP Address:10\.20\.0\.5, IP Address:10\.20\.0\.6, IP Address:2001:DB8:0:0:0:0:0:1/);

    const denied = await opensslCsr(dir.path, 'ec-p256', { addext: ['subjectAltName=IP:::ffff:10.20.9.1'] });
    await expect(issueLeafCertificate({ csr: denied.csrPem }, context)).rejects.toMatchObject({
      code: 'NAME_DENIED',
      status: 403,
    });
  });

  describe('refuses, with the error code the caller can act on', () => {
    let csrPem: string;
    beforeAll(async () => {
      csrPem = (await opensslCsr(dir.path, 'ec-p256', { addext: ['subjectAltName=DNS:a.local.test'] })).csrPem;
    });

    async function refusal(request: IssuanceRequest, target: TestCa = ca, now?: Date): Promise<ControlPlaneError> {
      try {
        await issue(target, request, now);
      } catch (error) {
        expect(error).toBeInstanceOf(ControlPlaneError);
        return error as ControlPlaneError;
      }
      throw new Error('expected a refusal');
    }

    it('names outside the policy (403 NAME_NOT_ALLOWED or WILDCARD_NOT_ALLOWED, with the name)', async () => {
      for (const [san, code] of [
        ['DNS:example.com', 'NAME_NOT_ALLOWED'],
        ['IP:127.0.0.1', 'NAME_NOT_ALLOWED'],
        ['DNS:*.local.test', 'WILDCARD_NOT_ALLOWED'],
        ['URI:spiffe://other.test/a', 'NAME_NOT_ALLOWED'],
      ] as const) {
        const csr = await opensslCsr(dir.path, 'ec-p256', { addext: [`subjectAltName=DNS:ok.local.test,${san}`] });
        const error = await refusal({ csr: csr.csrPem, policy: 'server' });
        expect(error).toBeInstanceOf(AuthorizationError);
        expect(error.code).toBe(code);
        expect(error.details).toEqual({ name: san.slice(san.indexOf(':') + 1), policy: 'server' });
        // Both policies refuse for the same reason: that reason is the answer, with each policy's message.
        const both = await refusal({ csr: csr.csrPem });
        expect(both.code).toBe(code);
        expect(both.details?.reasons).toHaveLength(2);
      }
    });

    it('a CN that is not one of the SANs (CSR_CN_NOT_IN_SAN)', async () => {
      const csr = await opensslCsr(dir.path, 'ec-p256', {
        subject: '/CN=evil.example',
        addext: ['subjectAltName=DNS:ok.local.test'],
      });
      expect((await refusal({ csr: csr.csrPem })).code).toBe('CSR_CN_NOT_IN_SAN');
    });

    it('a CSR without names (CSR_NO_NAMES)', async () => {
      const csr = await opensslCsr(dir.path, 'ec-p256', { subject: '/O=Nobody' });
      expect((await refusal({ csr: csr.csrPem })).code).toBe('CSR_NO_NAMES');
    });

    it('an unknown policy, a malformed or too long validity', async () => {
      // Answered as a policy the caller may not use, so that callers cannot probe which policies exist.
      expect((await refusal({ csr: csrPem, policy: 'ca' })).code).toBe('POLICY_NOT_PERMITTED');
      expect((await refusal({ csr: csrPem, validity: '0h' })).code).toBe('VALIDITY_INVALID');
      expect((await refusal({ csr: csrPem, validity: '-5m' })).code).toBe('VALIDITY_INVALID');
      expect((await refusal({ csr: csrPem, validity: 'forever' })).code).toBe('VALIDITY_INVALID');
      expect((await refusal({ csr: csrPem, validity: '91d' })).code).toBe('VALIDITY_TOO_LONG');
    });

    it('a CSR requesting a CA certificate (CSR_REQUESTS_CA)', async () => {
      const csr = await opensslCsr(dir.path, 'ec-p256', {
        addext: ['subjectAltName=DNS:a.local.test', 'basicConstraints=critical,CA:TRUE'],
      });
      expect((await refusal({ csr: csr.csrPem })).code).toBe('CSR_REQUESTS_CA');
    });

    it('issuing from an expired CA (CA_EXPIRED, 500)', async () => {
      const error = await refusal({ csr: csrPem }, ca, new Date(ca.issuer.notAfter.getTime() + 1000));
      expect([error.code, error.status]).toEqual(['CA_EXPIRED', 500]);
    });
  });
});

describe('loadIssuerContext', () => {
  it('precomputes what leaves need and refuses a chain made for another key', async () => {
    const ca = await createTestCa('EC_P384');
    const issuerCert = new X509Certificate(ca.intermediatePem);
    expect(ca.issuer.subjectKeyIdentifier.toString('hex')).toBe(
      issuerCert.getExtension(SubjectKeyIdentifierExtension)?.keyId,
    );
    expect(ca.issuer.notAfter.getTime()).toBe(issuerCert.notAfter.getTime());
    expect(ca.issuer.subject.equals(Buffer.from(issuerCert.subjectName.toArrayBuffer()))).toBe(true);
    expect(ca.issuer.chainPem).toEqual([ca.intermediatePem, ca.rootPem]);

    await expect(
      loadIssuerContext(SoftwareSigner.generate('EC_P384'), [ca.intermediatePem, ca.rootPem]),
    ).rejects.toMatchObject({ code: 'CA_KEY_MISMATCH', status: 500 });
    await expect(loadIssuerContext(ca.issuing, [])).rejects.toMatchObject({ code: 'CA_CHAIN_INVALID' });
    await expect(loadIssuerContext(ca.issuing, ['not a certificate'])).rejects.toMatchObject({
      code: 'CA_CHAIN_INVALID',
    });
  });

  it('refuses a leaf certificate as the issuing CA', async () => {
    const ca = await createTestCa('EC_P256');
    const leafKey = SoftwareSigner.generate('EC_P256');
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: ['subjectAltName=DNS:a.local.test'] });
    const leaf = await issue(ca, { csr: csrPem });
    await expect(loadIssuerContext(leafKey, [leaf.pem])).rejects.toMatchObject({ code: 'CA_CHAIN_INVALID' });
  });
});

function subjectPublicKeyOf(spki: Buffer): Buffer {
  const [, bits] = readSequence(decodeDer(spki), 2);
  return readBitString(bits ?? decodeDer(spki));
}

/** A date as `openssl x509 -text` prints it, e.g. `Nov  3 09:59:30 2026 GMT`. */
function opensslDate(d: Date): string {
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(d.getUTCDate()).padStart(2, ' ');
  return `${month} ${day} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()} GMT`;
}

function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}
