import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { issueLeafCertificate } from '#lib/pki/issuance-core.ts';
import { buildCsr, createTestCa, defaultContext } from '../test/support/pki-fixtures.ts';
import { fmt } from './stats.ts';

export interface IssuanceCoreResult {
  readonly certificates: number;
  readonly certificatesPerSecond: number;
  /** node:crypto ECDSA P-256 signatures per second over 400 bytes with a reused KeyObject, same process and run. */
  readonly rawSignaturesPerSecond: number;
}

/**
 * The issuance core alone, as the hot path runs it: CSR parse and proof of possession, name policy, profile, DER
 * encoding and signing with an EC P-256 software CA key, one certificate after the other on one core, no I/O. CSRs
 * (distinct P-256 keys, 3 names each) are made beforehand. Prints and returns figures; asserts nothing.
 */
export async function benchIssuanceCore(
  options: { seconds?: number; csrCount?: number } = {},
): Promise<IssuanceCoreResult> {
  const seconds = options.seconds ?? 5;
  const csrCount = options.csrCount ?? 200;
  const ca = await createTestCa('EC_P256');
  const csrs = Array.from({ length: csrCount }, (_, i) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return buildCsr({
      privateKey,
      publicKeySpki: publicKey.export({ format: 'der', type: 'spki' }),
      commonName: `svc-${i}.local.test`,
      names: [
        { type: 'dns', value: `svc-${i}.local.test` },
        { type: 'dns', value: `svc-${i}.ns.local.test` },
        { type: 'uri', value: `spiffe://local.test/ns/bench/sa/svc-${i}` },
      ],
    });
  });
  const ctx = defaultContext(ca.issuer);

  // Warm-up, so that JIT compilation is not measured.
  for (const csr of csrs) await issueLeafCertificate({ csr }, ctx);

  let certificates = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i++) {
      await issueLeafCertificate({ csr: csrs[certificates % csrCount] ?? '' }, ctx);
      certificates++;
    }
  }
  const certificatesPerSecond = certificates / ((performance.now() - start) / 1000);

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = randomBytes(400);
  let signatures = 0;
  const signStart = performance.now();
  while (performance.now() < signStart + 2000) {
    for (let i = 0; i < 100; i++) sign('sha256', data, privateKey);
    signatures += 100;
  }
  const rawSignaturesPerSecond = signatures / ((performance.now() - signStart) / 1000);

  console.log(
    `core: ${fmt(certificatesPerSecond)} certificates/s (${fmt(certificates)} in ${seconds} s, ${csrCount} CSRs)`,
  );
  console.log(`core: raw node:crypto ECDSA P-256 sign: ${fmt(rawSignaturesPerSecond)} signatures/s (same run)`);
  return { certificates, certificatesPerSecond, rawSignaturesPerSecond };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchIssuanceCore();
}
