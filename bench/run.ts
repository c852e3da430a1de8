import { cpus } from 'node:os';
import { benchHttpIssuance } from './http-issuance.ts';
import { benchIssuanceCore } from './issuance-core.ts';

/**
 * `npm run bench`: prints figures next to the references named in the issues, measured in the same run. Nothing
 * here asserts a timing.
 */
console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})\n`);
console.log('== Issuance core (CSR parse + proof of possession, policy, profile, DER encode, sign; one core, no I/O)');
console.log('   reference: at least 5,000 certificates/s with an EC P-256 software CA key');
await benchIssuanceCore();
console.log('\n== Issuance over HTTP (local server, DynamoDB Local, software CA key)');
await benchHttpIssuance();
