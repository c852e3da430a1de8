import { cpus } from 'node:os';
import { benchDiscovery } from './discovery.ts';
import { benchHttpIssuance } from './http-issuance.ts';
import { benchIssuanceCore } from './issuance-core.ts';
import { benchPrincipalPatterns } from './principal-pattern.ts';
import { benchRisk } from './risk.ts';
import { fmt } from './stats.ts';
import { benchTlsScan } from './tls-scan.ts';

/**
 * `npm run bench`: prints figures next to the references named in the issues, measured in the same run. Nothing
 * here asserts a timing.
 */

/** The reference: 5,000 certificates/s on one core where raw ECDSA P-256 signing ran at ≈ 49,700/s (TOOLCHAIN.md). */
const REFERENCE_CORE = 5_000;
const REFERENCE_RAW_SIGN = 49_700;

console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})\n`);
console.log('== Issuance core (CSR parse + proof of possession, policy decision, DER encode, sign; one core, no I/O)');
const core = await benchIssuanceCore();
const normalized = (core.certificatesPerSecond * REFERENCE_RAW_SIGN) / core.rawSignaturesPerSecond;
console.log(
  `core: reference ≥ ${fmt(REFERENCE_CORE)} certificates/s at a raw sign rate of ${fmt(REFERENCE_RAW_SIGN)}/s; ` +
    `this run scaled to that sign rate: ${fmt(normalized)} certificates/s ` +
    `(${fmt((100 * normalized) / REFERENCE_CORE)} % of the reference)`,
);
console.log('\n== Principal patterns (glob matcher; the RegExp it replaced as the reference, same run)');
benchPrincipalPatterns();
console.log('\n== Issuance over HTTP (npm start: local server, DynamoDB Local, software CA key)');
await benchHttpIssuance();
console.log('\n== Discovery (10,000 identities, 5 accounts, loopback IAM and Secrets Manager, DynamoDB Local)');
await benchDiscovery();
console.log('\n== Risk scoring (every rule over 10,000 discovered identities; one core, no I/O)');
benchRisk();
console.log('\n== TLS scanning (256 loopback endpoints, default concurrency)');
await benchTlsScan();
