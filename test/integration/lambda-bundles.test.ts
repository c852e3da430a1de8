import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEnrollmentTokens } from '#lib/adapters/dynamodb-enrollment-tokens.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { DynamoDbPolicyStore } from '#lib/adapters/dynamodb-policy-store.ts';
import { parseMimConfig } from '#lib/domain/policy.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { seedPolicies } from '#lib/use-cases/manage-policies.ts';
import { BUNDLE, configDefine } from '../../infra/constructs/control-plane-function.ts';

/** The configuration the bundles are built with, as `cdk synth` would write it into them. */
const CONFIG = parseMimConfig({
  version: 1,
  roles: { admin: ['arn:aws:iam::123456789012:role/admin'], workload: ['arn:aws:iam::123456789012:role/*'] },
  policies: [
    {
      name: 'bundle-apps',
      principals: ['arn:aws:iam::123456789012:role/*'],
      allow: { dnsNames: ['{roleName}.svc.local.test'], dnsSuffixes: ['local.test'] },
    },
  ],
});

import { freshTable } from '../support/dynamodb.ts';
import { type FakeKms, startFakeKms } from '../support/fake-kms-server.ts';
import { httpEvent, lambdaContext } from '../support/http-events.ts';
import { opensslCsr, run, tempDir } from '../support/pki-fixtures.ts';

/**
 * The Lambda bundles as they are deployed (esbuild, ESM, AWS SDK inside), run against DynamoDB Local and a loopback
 * KMS that speaks the KMS JSON protocol: the CA bootstrap custom resource builds the chain with KMS keys, then the
 * issuing function signs a leaf with KMS, and openssl verifies the result; the token function seals its stored
 * answers with the KMS HMAC key.
 */

let dir: string;
let kms: FakeKms;
let inventory: DynamoDbInventory;
let table: Awaited<ReturnType<typeof freshTable>>;
let issuingKeyId: string;
let sealKeyId: string;
const saved = { ...process.env };

async function bundle(name: string): Promise<Record<string, unknown>> {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [join(process.cwd(), 'functions', name, 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    define: configDefine(CONFIG),
    outfile,
    logLevel: 'silent',
  });
  return import(pathToFileURL(outfile).href);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mim-bundles-'));
  kms = await startFakeKms();
  const rootKeyId = await kms.createKey('ECC_NIST_P256');
  issuingKeyId = await kms.createKey('ECC_NIST_P256');
  sealKeyId = await kms.createKey('HMAC_256');
  table = await freshTable();
  inventory = new DynamoDbInventory(table.doc, table.tableName);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: (await import('../support/dynamodb.ts')).dynamoDbEndpoint(),
    MIM_TABLE_NAME: table.tableName,
    MIM_CA_ID: 'default',
    MIM_ROOT_KEY_ID: rootKeyId,
    MIM_ISSUING_KEY_ID: issuingKeyId,
    MIM_SEAL_KEY_ID: sealKeyId,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
}, 60_000);

afterAll(async () => {
  process.env = saved;
  await kms?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('deployed bundles', () => {
  it('bootstrap-ca builds the chain with the KMS keys, issue-certificate signs with KMS, openssl verifies', async () => {
    const bootstrap = (await bundle('bootstrap-ca')).handler as (
      e: unknown,
    ) => Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }>;
    const properties = {
      CaId: 'default',
      RootCommonName: 'Bundle Root CA',
      IssuingCommonName: 'Bundle Issuing CA',
      RootValidityDays: '3650',
      IssuingValidityDays: '1825',
    };
    const created = await bootstrap({ RequestType: 'Create', ResourceProperties: properties });
    expect(created).toMatchObject({ PhysicalResourceId: 'ca-default', Data: { Created: 'true' } });
    const chain = await inventory.getChain('default');
    expect(chain).toHaveLength(2);

    // A later deploy keeps the chain.
    const updated = await bootstrap({
      RequestType: 'Update',
      PhysicalResourceId: 'ca-default',
      ResourceProperties: properties,
    });
    expect(updated.Data?.Created).toBe('false');
    expect(await inventory.getChain('default')).toEqual(chain);
    // The bootstrap seeded the bundled configuration's policies.
    expect(
      (await new DynamoDbPolicyStore(table.doc, table.tableName).listPolicies()).map((p) => p.document.name),
    ).toEqual(['bundle-apps']);

    const issue = (await bundle('issue-certificate')).handler as HttpApiHandler;
    const work = await tempDir();
    const { csrPem } = await opensslCsr(work.path, 'ec-p256', {
      subject: '/CN=app.svc.local.test',
      addext: ['subjectAltName=DNS:app.svc.local.test'],
    });
    const signsBefore = kms.requests.filter((r) => r.target === 'Sign').length;
    const res = await issue(
      httpEvent({
        method: 'POST',
        path: '/v1/certificates',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ csr: csrPem }),
        iam: {
          accountId: '123456789012',
          userArn: 'arn:aws:sts::123456789012:assumed-role/app/session-1',
          userId: 'AROAEXAMPLE:session-1',
        },
      }),
      lambdaContext,
    );
    expect(res.statusCode, res.body).toBe(201);
    const issued = JSON.parse(res.body ?? '{}');
    const signs = kms.requests.filter((r) => r.target === 'Sign').slice(signsBefore);
    expect(signs).toHaveLength(1);
    expect(signs[0]?.body).toMatchObject({ MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(JSON.stringify(signs[0]?.body)).toContain(issuingKeyId);

    await writeFile(join(work.path, 'root.pem'), chain?.[1] ?? '');
    await writeFile(join(work.path, 'int.pem'), chain?.[0] ?? '');
    await writeFile(join(work.path, 'leaf.pem'), issued.certificate);
    const out = await run(
      'openssl',
      ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', 'root.pem', '-untrusted', 'int.pem', 'leaf.pem'],
      work.path,
    );
    expect(out).toContain('leaf.pem: OK');
    const record = await inventory.getCertificate(issued.serialNumber);
    expect(record?.issuedBy).toBe('arn:aws:sts::123456789012:assumed-role/app/session-1');
    expect(record?.policy).toBe('bundle-apps');

    const getChain = (await bundle('get-ca-chain')).handler as HttpApiHandler;
    const pem = await getChain(httpEvent({ method: 'GET', path: '/v1/ca' }), lambdaContext);
    expect(pem.statusCode).toBe(200);
    expect(pem.body).toContain(chain?.[0]?.trim());
    await work.remove();
  }, 120_000);

  it('create-enrollment-token seals its stored answer with the KMS HMAC key and replays the same token', async () => {
    await seedPolicies(
      { policyStore: new DynamoDbPolicyStore(table.doc, table.tableName), clock: systemClock },
      CONFIG,
    );
    const create = (await bundle('create-enrollment-token')).handler as HttpApiHandler;
    const request = () =>
      create(
        httpEvent({
          method: 'POST',
          path: '/v1/enrollment-tokens',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'z' },
          body: JSON.stringify({ policy: 'bundle-apps', names: [{ type: 'dns', value: 'door-1.local.test' }] }),
          iam: {
            accountId: '123456789012',
            userArn: 'arn:aws:sts::123456789012:assumed-role/admin/session-1',
            userId: 'AROAEXAMPLE:session-1',
          },
        }),
        lambdaContext,
      );
    const macsBefore = kms.requests.filter((r) => r.target === 'GenerateMac').length;
    const first = await request();
    expect(first.statusCode, first.body).toBe(201);
    const { token } = JSON.parse(first.body ?? '{}');
    expect(token).toMatch(/^mimet_/);
    const replay = await request();
    expect(replay.statusCode, replay.body).toBe(201);
    expect(JSON.parse(replay.body ?? '{}').token).toBe(token);

    // One GenerateMac per request, first call and replay, with the key the stack names.
    const macs = kms.requests.filter((r) => r.target === 'GenerateMac').slice(macsBefore);
    expect(macs).toHaveLength(2);
    expect(macs[0]?.body).toMatchObject({ KeyId: sealKeyId, MacAlgorithm: 'HMAC_SHA_256' });
    // One token was created, and the table holds it only hashed and sealed.
    const tokenHash = createHash('sha256').update(token).digest('hex');
    expect(await new DynamoDbEnrollmentTokens(table.doc, table.tableName).getToken(tokenHash)).toBeDefined();
    const scan = await table.doc.send(new ScanCommand({ TableName: table.tableName, ConsistentRead: true }));
    expect(JSON.stringify(scan.Items)).not.toContain(token.slice('mimet_'.length));
  }, 120_000);
});
