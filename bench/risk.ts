import { pathToFileURL } from 'node:url';
import { afterSeen, type DiscoveredIdentity, type Observation } from '#lib/domain/discovery.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfDiscovered } from '#lib/domain/risk/subject.ts';
import { fmt } from './stats.ts';

/**
 * Risk scoring (issue #10): every rule over a synthetic estate of 10,000 discovered identities (roles with policy
 * facts, users, access keys, secrets, KMS keys, ACM certificates, a quarter of them unowned), one core, no I/O. Prints
 * identities per second and the level counts. Asserts nothing.
 */

const ESTATE = 10_000;
const NOW = new Date('2026-11-29T12:00:00.000Z');

function observation(i: number): Observation {
  const account = String(100000000001 + (i % 5));
  const tags = i % 4 === 0 ? {} : { owner: `team-${i % 20}` };
  const old = new Date(Date.parse('2024-01-01T00:00:00.000Z') + (i % 700) * 86_400_000).toISOString();
  const base = { account, tags, name: `n-${i}` };
  switch (i % 6) {
    case 0:
      return {
        ...base,
        source: 'aws-iam',
        type: 'iam-role',
        arn: `arn:aws:iam::${account}:role/r-${i}`,
        region: 'global',
        facts: {
          createDate: old,
          path: '/',
          roleLastUsed: i % 3 === 0 ? null : { lastUsedDate: old.slice(0, 10), region: 'eu-west-1' },
          risk: {
            adminActions: i % 50 === 0 ? [{ action: '*', conditional: false, grantedBy: ['inline:admin'] }] : [],
            privilegeEscalation: [],
            wildcardServiceActions: i % 7 === 0 ? [{ action: 's3:*', conditional: false, grantedBy: ['x'] }] : [],
            trustAnyPrincipal: null,
            crossAccountTrustWithoutExternalId: [],
            githubOidcWithoutSub: [],
          },
        },
      };
    case 1:
      return {
        ...base,
        source: 'aws-iam',
        type: 'iam-access-key',
        arn: `arn:aws:iam::${account}:user/u-${i}/access-key/AKIA${i}`,
        region: 'global',
        facts: { status: 'Active', createDate: old, lastUsed: i % 2 === 0 ? null : { date: old.slice(0, 10) } },
      };
    case 2:
      return {
        ...base,
        source: 'aws-secrets-manager',
        type: 'secret',
        arn: `arn:aws:secretsmanager:eu-west-1:${account}:secret:s-${i}`,
        region: 'eu-west-1',
        facts: { rotationEnabled: i % 2 === 0, lastRotatedDate: old, lastAccessedDate: old, createdDate: old },
      };
    case 3:
      return {
        ...base,
        source: 'aws-kms',
        type: 'kms-key',
        arn: `arn:aws:kms:eu-west-1:${account}:key/k-${i}`,
        region: 'eu-west-1',
        facts: {
          keyManager: 'CUSTOMER',
          keySpec: 'SYMMETRIC_DEFAULT',
          keyUsage: 'ENCRYPT_DECRYPT',
          keyState: 'Enabled',
          rotationEnabled: i % 3 !== 0,
          creationDate: old,
        },
      };
    case 4:
      return {
        ...base,
        source: 'aws-acm',
        type: 'x509-certificate',
        arn: `arn:aws:acm:eu-west-1:${account}:certificate/c-${i}`,
        region: 'eu-west-1',
        facts: {
          domainName: `svc-${i}.example.com`,
          subjectAlternativeNames: [i % 9 === 0 ? '*.example.com' : `svc-${i}.example.com`],
          keyAlgorithm: i % 11 === 0 ? 'RSA_1024' : 'EC_prime256v1',
          signatureAlgorithm: 'SHA256WITHECDSA',
          notBefore: old,
          notAfter: new Date(NOW.getTime() + ((i % 120) - 20) * 86_400_000).toISOString(),
          status: 'ISSUED',
          type: 'AMAZON_ISSUED',
          inUseBy: i % 2 === 0 ? [`arn:aws:elasticloadbalancing:eu-west-1:${account}:loadbalancer/app/lb-${i}/1`] : [],
        },
      };
    default:
      return {
        ...base,
        source: 'aws-iam',
        type: 'iam-user',
        arn: `arn:aws:iam::${account}:user/u-${i}`,
        region: 'global',
        facts: {
          createDate: old,
          passwordLastUsed: i % 2 === 0 ? null : old.slice(0, 10),
          consolePassword: i % 2 === 1,
          activeAccessKeys: i % 3 === 0 ? [`AKIA${i}`] : [],
          agentSignals: [],
          risk: { adminActions: [], privilegeEscalation: [], wildcardServiceActions: [] },
        },
      };
  }
}

export function benchRisk(): void {
  const estate: DiscoveredIdentity[] = [];
  for (let i = 0; i < ESTATE; i++) {
    const seen = afterSeen(undefined, observation(i), '2026-11-01T00:00:00.000Z');
    if (seen) estate.push(seen.identity);
  }
  const levels = new Map<string, number>();
  let findings = 0;
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (const identity of estate) {
      const risk = assessRisk(riskSubjectOfDiscovered(identity), NOW);
      if (round === 0) {
        levels.set(risk.level, (levels.get(risk.level) ?? 0) + 1);
        findings += risk.findings.length;
      }
    }
    rounds.push(ESTATE / ((performance.now() - started) / 1000));
  }
  rounds.sort((a, b) => a - b);
  console.log(
    `risk: ${fmt(rounds[2] ?? 0)} identities/s scored (median of 5 rounds over ${fmt(ESTATE)} identities, every rule, ` +
      `one core); ${fmt(findings)} findings; levels ${[...levels.entries()].map(([l, n]) => `${l} ${fmt(n)}`).join(', ')}`,
  );
  console.log(
    'risk: reference — the issue names no figure; a 10,000-identity rescoring at this rate takes ' +
      `${fmt((ESTATE / (rounds[2] ?? 1)) * 1000)} ms of CPU, next to the seconds its reads and writes take.`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) benchRisk();
