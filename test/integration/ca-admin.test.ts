import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { createKmsSigner } from '#lib/adapters/kms-signer.ts';
import { issueLeafCertificate } from '#lib/pki/issuance-core.ts';
import { loadIssuerContext } from '#lib/pki/issuer.ts';
import { dynamoDbEndpoint, freshTable } from '../support/dynamodb.ts';
import { type FakeKms, startFakeKms } from '../support/fake-kms-server.ts';
import { defaultContext, opensslCsr, run, tempDir } from '../support/pki-fixtures.ts';
import { execFileAsync } from '../support/processes.ts';

/**
 * The corporate-root flow with `npm run ca`: a CSR for the KMS issuing key, signed by a root made with openssl,
 * imported into the table; leaves issued with the KMS key then verify up to the corporate root.
 */

let kms: FakeKms;
let keyId: string;
let tableName: string;
let inventory: DynamoDbInventory;
let dir: Awaited<ReturnType<typeof tempDir>>;
let env: NodeJS.ProcessEnv;

async function ca(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await execFileAsync('npx', ['tsx', 'infra/bin/ca-admin.ts', ...args], { env, cwd: process.cwd() });
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  kms = await startFakeKms();
  keyId = await kms.createKey('ECC_NIST_P256');
  const table = await freshTable();
  tableName = table.tableName;
  inventory = new DynamoDbInventory(table.doc, tableName);
  dir = await tempDir();
  env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoDbEndpoint(),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}, 60_000);

afterAll(async () => {
  await kms?.close();
  await dir?.remove();
});

describe('npm run ca', () => {
  it('makes a KMS-signed CSR, adopts the corporate-signed chain, and leaves verify to the corporate root', async () => {
    const csr = await ca('csr', '--key-id', keyId, '--common-name', 'Team Issuing CA');
    expect(csr.code, csr.stderr).toBe(0);
    const csrFile = await dir.write('issuing.csr', csr.stdout);
    expect(await run('openssl', ['req', '-in', csrFile, '-verify', '-noout'], dir.path)).toBe('');

    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'corp.key',
        '-subj',
        '/CN=Corp Root',
        '-days',
        '365',
        '-out',
        'corp.pem',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir.path,
    );
    await dir.write(
      'ext.cnf',
      'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
    );
    await run(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        'issuing.csr',
        '-CA',
        'corp.pem',
        '-CAkey',
        'corp.key',
        '-days',
        '100',
        '-extfile',
        'ext.cnf',
        '-out',
        'int.pem',
      ],
      dir.path,
    );
    await run('sh', ['-c', 'cat int.pem corp.pem > chain.pem'], dir.path);

    const imported = await ca(
      'import',
      '--key-id',
      keyId,
      '--table',
      tableName,
      '--chain',
      join(dir.path, 'chain.pem'),
    );
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain('chain of 2 certificates adopted');
    const chain = await inventory.getChain('default');
    expect(chain).toHaveLength(2);

    const client = new KMSClient({
      endpoint: kms.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const issuer = await loadIssuerContext(await createKmsSigner({ keyId, client }), chain ?? []);
    const { csrPem } = await opensslCsr(dir.path, 'ec-p256', {
      subject: '/CN=svc.local.test',
      addext: ['subjectAltName=DNS:svc.local.test'],
    });
    const leaf = await issueLeafCertificate({ csr: csrPem }, defaultContext(issuer));
    await writeFile(join(dir.path, 'leaf.pem'), leaf.pem);
    expect(
      await run('openssl', ['verify', '-CAfile', 'corp.pem', '-untrusted', 'int.pem', 'leaf.pem'], dir.path),
    ).toContain('leaf.pem: OK');
  }, 120_000);

  it('refuses a chain for another key or one that does not verify, and changes nothing', async () => {
    const before = await inventory.getChain('default');
    // The corporate root alone: a CA, self-signed, but not carrying the issuing key.
    const wrongKey = await ca('import', '--key-id', keyId, '--table', tableName, '--chain', join(dir.path, 'corp.pem'));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/ca: .*key/i);
    // The intermediate without its root: the chain does not end in a self-signed certificate.
    const broken = await ca('import', '--key-id', keyId, '--table', tableName, '--chain', join(dir.path, 'int.pem'));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('not self-signed');
    const usage = await ca('import', '--key-id', keyId);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--chain is required');
    expect(await inventory.getChain('default')).toEqual(before);
  }, 120_000);
});
