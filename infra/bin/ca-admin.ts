import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { createKmsSigner } from '#lib/adapters/kms-signer.ts';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import { createCaCsr } from '#lib/pki/ca-csr.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { importCaChain } from '#lib/use-cases/import-ca-chain.ts';

/**
 * `npm run ca -- <command>`: have the issuing CA signed by your own root instead of the generated one.
 *
 *   csr    --key-id <IssuingKeyArn> --common-name <name>          prints a CSR signed by the KMS key
 *   import --key-id <IssuingKeyArn> --table <TableName> --chain <file> [--ca-id default]
 *                                                                  adopts the chain (issuing CA first, root last)
 *
 * Uses the standard AWS credential chain and region (AWS_PROFILE, AWS_REGION, …).
 */

const usage = `usage:
  npm run ca -- csr --key-id <IssuingKeyArn> --common-name "<name>" > issuing-ca.csr
  npm run ca -- import --key-id <IssuingKeyArn> --table <TableName> --chain chain.pem [--ca-id default]`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'key-id': { type: 'string' },
    'common-name': { type: 'string' },
    table: { type: 'string' },
    chain: { type: 'string' },
    'ca-id': { type: 'string', default: 'default' },
  },
});

function required(name: keyof typeof values): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') {
    console.error(`ca: --${name} is required\n${usage}`);
    process.exit(2);
  }
  return value;
}

/** Splits a PEM bundle into its certificates, in file order. */
function certificatesOf(bundle: string): string[] {
  return [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

try {
  switch (positionals[0]) {
    case 'csr': {
      const signer = await createKmsSigner({ keyId: required('key-id') });
      process.stdout.write(await createCaCsr(signer, required('common-name')));
      break;
    }
    case 'import': {
      const chainPem = certificatesOf(await readFile(required('chain'), 'utf8'));
      const signer = await createKmsSigner({ keyId: required('key-id') });
      const inventory = new DynamoDbInventory(createDocumentClient({}).doc, required('table'));
      await importCaChain(
        { issuingSigner: signer, chainStore: inventory, clock: systemClock },
        { caId: required('ca-id'), chainPem },
      );
      console.error(
        `ca: chain of ${chainPem.length} certificates adopted for CA "${values['ca-id']}"; GET /v1/ca serves it within five minutes.`,
      );
      break;
    }
    default:
      console.error(usage);
      process.exit(2);
  }
} catch (error) {
  const message = error instanceof ControlPlaneError || error instanceof RangeError ? error.message : String(error);
  console.error(`ca: ${message}`);
  process.exit(1);
}
