import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { policyDocumentSchema } from '#lib/domain/policy.ts';
import { type IssuanceDecision, PolicySet } from '#lib/domain/policy-engine.ts';
import type { Principal } from '#lib/domain/principal.ts';
import { type IssuanceContext, issueLeafCertificate } from '#lib/pki/issuance-core.ts';
import type { IssuerContext } from '#lib/pki/issuer.ts';
import { buildCsr, createTestCa } from '../test/support/pki-fixtures.ts';
import { fmt } from './stats.ts';

export interface IssuanceCoreResult {
  /** Certificates issued with policy evaluation, approximately (median rate × seconds). */
  readonly certificates: number;
  /** With policy evaluation on the path: 50 policies, the matching one templated by the requester. */
  readonly certificatesPerSecond: number;
  /** The same core with a fixed decision instead of the policy engine, measured interleaved in the same run. */
  readonly withoutPolicyPerSecond: number;
  /** The share of throughput policy evaluation costs: median over paired rounds of 1 − with/without. */
  readonly policyCost: number;
  /** node:crypto ECDSA P-256 signatures per second over 400 bytes with a reused KeyObject, same process and run. */
  readonly rawSignaturesPerSecond: number;
}

/**
 * The issuance core alone, as the hot path runs it: CSR parse and proof of possession, policy decision, DER
 * encoding and signing with an EC P-256 software CA key, one certificate after the other on one core, no I/O. CSRs
 * (distinct P-256 keys, 3 names each) are made beforehand. The policy set is a realistic worst case: 49 policies for
 * other principals, each with deny rules, a global deny list, then the one that applies, whose names are templated by
 * the requester (`{principalName}.local.test`, …); each CSR is asked for by its own principal. The same core with a
 * fixed decision (no policy evaluation) runs interleaved with it, in 1-second rounds, so both see the same machine.
 * Prints and returns figures; asserts nothing.
 */
export async function benchIssuanceCore(
  options: { seconds?: number; csrCount?: number } = {},
): Promise<IssuanceCoreResult> {
  const seconds = options.seconds ?? 6;
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
  const principals: Principal[] = csrs.map((_, i) => ({ kind: 'local-token', id: `local:svc-${i}` }));
  const withPolicy = (i: number) => policyContext(ca.issuer, principals[i] as Principal);
  const withoutPolicy = (i: number) => fixedContext(ca.issuer, i);

  // Warm-up, so that JIT compilation is not measured.
  for (const [i, csr] of csrs.entries()) {
    await issueLeafCertificate({ csr }, withPolicy(i));
    await issueLeafCertificate({ csr }, withoutPolicy(i));
  }

  let next = 0;
  /** Certificates per second over one round of `ms`. */
  const round = async (ctxFor: (i: number) => IssuanceContext, ms: number) => {
    let n = 0;
    const start = performance.now();
    while (performance.now() < start + ms) {
      for (let k = 0; k < 25; k++) {
        const i = next++ % csrCount;
        await issueLeafCertificate({ csr: csrs[i] ?? '' }, ctxFor(i));
        n++;
      }
    }
    return n / ((performance.now() - start) / 1000);
  };
  // Pairs of half-second rounds, alternating which goes first (neither always runs right after the other's
  // garbage); the cost of policy evaluation is the median of the pairs' ratios, which shrugs off a noisy neighbour.
  const withRates: number[] = [];
  const withoutRates: number[] = [];
  const costs: number[] = [];
  for (let r = 0; r < seconds * 2; r++) {
    const [a, b] =
      r % 2 === 0
        ? [await round(withPolicy, 500), await round(withoutPolicy, 500)]
        : [await round(withoutPolicy, 500), await round(withPolicy, 500)].reverse();
    withRates.push(a ?? 0);
    withoutRates.push(b ?? 0);
    costs.push(1 - (a ?? 0) / (b ?? 1));
  }
  const certificatesPerSecond = median(withRates);
  const withoutPolicyPerSecond = median(withoutRates);
  const policyCost = median(costs);
  const certificates = Math.round(certificatesPerSecond * seconds);

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
    `core with policy evaluation: ${fmt(certificatesPerSecond)} certificates/s (median of ${costs.length} rounds, ` +
      `${csrCount} CSRs, 50 policies)`,
  );
  console.log(`core with a fixed decision:  ${fmt(withoutPolicyPerSecond)} certificates/s (interleaved, same run)`);
  const sorted = [...costs].sort((x, y) => x - y);
  console.log(
    `core: policy evaluation costs ${fmt(100 * policyCost)} % (median of paired rounds; range ` +
      `${fmt(100 * (sorted[0] ?? 0))} to ${fmt(100 * (sorted[sorted.length - 1] ?? 0))} %); budget: at most 10 %`,
  );
  console.log(`core: raw node:crypto ECDSA P-256 sign: ${fmt(rawSignaturesPerSecond)} signatures/s (same run)`);
  return { certificates, certificatesPerSecond, withoutPolicyPerSecond, policyCost, rawSignaturesPerSecond };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const BENCH_POLICIES = new PolicySet(
  [
    ...Array.from({ length: 49 }, (_, k) => ({
      name: `team-${k}`,
      principals: [`arn:aws:iam::123456789012:role/team-${k}-*`, `local:team-${k}-*`],
      allow: { dnsNames: [`{roleName}.team-${k}.example.internal`], dnsSuffixes: [`team-${k}.example.internal`] },
      deny: { dnsNames: [`admin.team-${k}.example.internal`] },
    })),
    {
      name: 'services',
      principals: ['local:svc-*'],
      allow: {
        dnsNames: ['{principalName}.local.test', '{principalName}.ns.local.test'],
        uris: ['spiffe://local.test/ns/bench/sa/{principalName}'],
      },
      deny: { dnsSuffixes: ['admin.local.test'] },
      extendedKeyUsages: ['serverAuth', 'clientAuth'],
      tags: { owner: '{principalName}', purpose: 'bench' },
    },
  ].map((p) => policyDocumentSchema.parse(p)),
  policyDocumentSchema.shape.allow.parse({ dnsSuffixes: ['corp.example.internal', 'prod.example.internal'] }),
);

function policyContext(issuer: IssuerContext, principal: Principal): IssuanceContext {
  return { issuer, now: new Date(), decide: (ask) => BENCH_POLICIES.decide(principal, ask) };
}

/** What the engine would decide for CSR i, decided in advance: the core without policy evaluation. */
function fixedContext(issuer: IssuerContext, i: number): IssuanceContext {
  const decision: IssuanceDecision = {
    policy: 'services',
    names: [
      { type: 'dns', value: `svc-${i}.local.test` },
      { type: 'dns', value: `svc-${i}.ns.local.test` },
      { type: 'uri', value: `spiffe://local.test/ns/bench/sa/svc-${i}` },
    ],
    validitySeconds: 86_400,
    extendedKeyUsages: ['serverAuth', 'clientAuth'],
    withCommonName: true,
    renewBeforeSeconds: undefined,
    tags: { owner: `svc-${i}`, purpose: 'bench' },
  };
  return { issuer, now: new Date(), decide: () => decision };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchIssuanceCore();
}
