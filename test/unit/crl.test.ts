import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCrl, type CrlEntry } from '#lib/pki/crl.ts';
import { type IssuedCertificate, issueLeafCertificate } from '#lib/pki/issuance-core.ts';
import { encodePem } from '#lib/pki/pem.ts';
import { createTestCa, defaultContext, opensslCsr, run, type TestCa, tempDir } from '../support/pki-fixtures.ts';

/** CRLs (RFC 5280 v2) judged by openssl: its signature, fields and extensions, and `openssl verify -crl_check`. */

let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  dir = await tempDir();
});

afterAll(async () => {
  await dir.remove();
});

const DAY = 86_400_000;

async function leaf(ca: TestCa, name: string): Promise<IssuedCertificate> {
  const { csrPem } = await opensslCsr(dir.path, 'ec-p256', { addext: [`subjectAltName=DNS:${name}`] });
  return issueLeafCertificate({ csr: csrPem }, defaultContext(ca.issuer));
}

async function verify(ca: TestCa, crlDer: Buffer, certificatePem: string): Promise<string> {
  const id = Math.random().toString(36).slice(2);
  const chain = await dir.write(`${id}-chain.pem`, `${ca.intermediatePem.trim()}\n${ca.rootPem.trim()}\n`);
  const crl = await dir.write(`${id}-crl.pem`, encodePem(crlDer, 'X509 CRL'));
  const certificate = await dir.write(`${id}-leaf.pem`, certificatePem);
  return run('openssl', ['verify', '-crl_check', '-CAfile', chain, '-CRLfile', crl, certificate]).catch(
    (error: Error) => error.message,
  );
}

describe.each(['EC_P256', 'RSA_2048'] as const)('a CRL signed by a %s issuing CA', (algorithm) => {
  let ca: TestCa;
  beforeAll(async () => {
    ca = await createTestCa(algorithm);
  });

  it('lists revoked certificates with their dates and reasons, and verifies', async () => {
    const now = new Date();
    const revoked = await leaf(ca, 'revoked.local.test');
    const good = await leaf(ca, 'good.local.test');
    const entries: CrlEntry[] = [
      { serialNumber: revoked.serialNumber, revokedAt: new Date(now.getTime() - 60_000), reason: 'keyCompromise' },
      { serialNumber: '0a0b0c', revokedAt: new Date(now.getTime() - DAY), reason: 'unspecified' },
    ];
    const der = await buildCrl({
      issuer: ca.issuer,
      crlNumber: 7n,
      thisUpdate: new Date(now.getTime() - 1000),
      nextUpdate: new Date(now.getTime() + DAY),
      entries,
    });
    const file = await dir.write(`${algorithm}.crl`, encodePem(der, 'X509 CRL'));
    const chain = await dir.write(`${algorithm}-chain.pem`, `${ca.intermediatePem.trim()}\n${ca.rootPem.trim()}\n`);
    const text = await run('openssl', ['crl', '-in', file, '-noout', '-text', '-CAfile', chain]);
    expect(text).toContain('Version 2 (0x1)');
    expect(text).toContain('Issuer: CN = Test Issuing CA');
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*7/);
    expect(text).toContain('X509v3 Authority Key Identifier');
    expect(text).toContain(`Serial Number: ${revoked.serialNumber.toUpperCase()}`);
    expect(text).toContain('Key Compromise');
    expect(text).toContain('Serial Number: 0A0B0C');
    // Unspecified is left out (RFC 5280 §5.3.1): one reason line only.
    expect(text.match(/CRL Reason Code/g)).toHaveLength(1);
    const verified = await run('openssl', ['crl', '-in', file, '-noout', '-CAfile', chain]).catch(
      (error: Error) => error.message,
    );
    expect(`${verified}`).not.toMatch(/verify failure|error/i);

    expect(await verify(ca, der, revoked.pem)).toMatch(/certificate revoked/);
    expect(await verify(ca, der, good.pem)).toMatch(/: OK/);
  });

  it('with nothing revoked, leaves the list out and still verifies; refuses dates out of order and oversized numbers', async () => {
    const now = new Date();
    const good = await leaf(ca, 'fine.local.test');
    const empty = await buildCrl({
      issuer: ca.issuer,
      crlNumber: 2n ** 100n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + DAY),
      entries: [],
    });
    expect(await verify(ca, empty, good.pem)).toMatch(/: OK/);
    await expect(
      buildCrl({ issuer: ca.issuer, crlNumber: 1n, thisUpdate: now, nextUpdate: now, entries: [] }),
    ).rejects.toThrow(/nextUpdate/);
    await expect(
      buildCrl({
        issuer: ca.issuer,
        crlNumber: 2n ** 160n,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + DAY),
        entries: [],
      }),
    ).rejects.toThrow(/20 octets/);
  });
});
