import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfDiscovered } from '#lib/domain/risk/subject.ts';
import { consolidationReport } from '#lib/use-cases/consolidation.ts';
import { importIdentities } from '#lib/use-cases/import-identities.ts';
import { listIdentities } from '#lib/use-cases/read-inventory.ts';
import { countItems, type FreshTable, freshTable } from '../support/dynamodb.ts';
import { run } from '../support/pki-fixtures.ts';
import { makeTestCertificates, type TestCertificates } from '../support/tls-servers.ts';

/**
 * Imports against DynamoDB Local, with certificates made by openssl: validated whole before anything is written,
 * idempotent, one identity per certificate fingerprint, and judged by the risk rules like any other identity.
 */

let table: FreshTable;
let certificates: TestCertificates;
const clock = { now: () => new Date('2026-11-29T12:00:00.000Z') };

beforeAll(async () => {
  table = await freshTable();
  certificates = await makeTestCertificates();
});

afterAll(async () => {
  await rm(certificates.dir, { recursive: true, force: true });
});

const ndjson = (...lines: object[]) => lines.map((line) => JSON.stringify(line)).join('\n');

describe('importing identities', () => {
  it('writes each new identity once, then nothing for the same lines, and only what changed after', async () => {
    const discovered = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
    const deps = { discovered, clock };
    const body = ndjson(
      { type: 'x509-certificate', pem: certificates.good.pem, owner: 'web', locations: ['good.test:443'] },
      { type: 'x509-certificate', pem: certificates.expired.pem, locations: ['old.test:8443'] },
      { type: 'api-key', name: 'stripe-live', owner: 'payments', createdAt: '2024-01-01T00:00:00Z' },
      { type: 'ssh-key', name: 'deploy@ci' },
    );
    expect(await importIdentities(deps, body)).toEqual({ lines: 4, created: 4, changed: 0, unchanged: 0 });
    const written = await countItems(table.client, table.tableName);
    expect(await importIdentities(deps, body)).toEqual({ lines: 4, created: 0, changed: 0, unchanged: 4 });
    expect(await countItems(table.client, table.tableName)).toBe(written);
    // One audit entry per import that changed something: the first, not the repeat.
    const inventoryForAudit = new DynamoDbInventory(table.doc, table.tableName);
    const audited = await inventoryForAudit.listAuditEvents('2026-11-29', { limit: 50 });
    expect(audited.items.filter((a) => a.action === 'IdentitiesImported').map((a) => a.details)).toEqual([
      { lines: 4, created: 4, changed: 0, unchanged: 0 },
    ]);
    const changed = body.replace('"owner":"payments"', '"owner":"billing"');
    expect(await importIdentities(deps, changed)).toEqual({ lines: 4, created: 0, changed: 1, unchanged: 3 });

    // One inventory: the imports are listed by source, their certificates keyed by fingerprint, judged by the rules.
    const inventory = new DynamoDbInventory(table.doc, table.tableName);
    const page = await listIdentities({ inventory }, { source: 'import' }, { limit: 10 });
    expect(page.items.map((i) => `${i.type} ${i.name} ${i.owner ?? '-'}`).sort()).toEqual([
      'api-key stripe-live billing',
      'ssh-key deploy@ci -',
      'x509-certificate expired.test -',
      'x509-certificate good.test web',
    ]);
    const critical = await listIdentities({ inventory }, { rule: 'CERT_EXPIRING_DEPLOYED' }, { limit: 10 });
    expect(critical.items).toHaveLength(1);
    const expired = await discovered.get(critical.items[0]?.identityId ?? '');
    expect(expired?.arn).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(expired?.facts).toMatchObject({ locations: ['old.test:8443'], type: 'IMPORTED' });
    const findings = assessRisk(riskSubjectOfDiscovered(expired as never), clock.now()).findings.map((f) => f.rule);
    expect(findings).toEqual(expect.arrayContaining(['CERT_EXPIRING_DEPLOYED', 'CERT_EXPIRED', 'OWNER_MISSING']));
  });

  it('writes nothing when any line is invalid, and lists every bad line', async () => {
    const discovered = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
    const before = await countItems(table.client, table.tableName);
    const body = ndjson(
      { type: 'api-key', name: 'fine' },
      { type: 'x509-certificate', pem: '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----' },
      { type: 'password' },
    );
    await expect(importIdentities({ discovered, clock }, body)).rejects.toMatchObject({
      code: 'IMPORT_INVALID',
      details: { lines: [expect.objectContaining({ line: 3, field: 'name' })] },
    });
    // Schema errors come first; a certificate that cannot be read is reported once the lines parse.
    await expect(
      importIdentities({ discovered, clock }, body.split('\n').slice(0, 2).join('\n')),
    ).rejects.toMatchObject({
      code: 'IMPORT_INVALID',
      details: { lines: [{ line: 2, field: 'pem', reason: expect.any(String) }] },
    });
    expect(await countItems(table.client, table.tableName)).toBe(before);
  });
});

describe('certificates sharing a key pair', () => {
  it('each holder learns how many others share its key: CERT_SHARED_KEY fires, and consolidation groups them', async () => {
    const shared = await freshTable();
    const discovered = new DynamoDbDiscoveredInventory(shared.doc, shared.tableName);
    // A second certificate made with the good leaf's own key.
    const twinPem = await run(
      'openssl',
      ['req', '-x509', '-key', join(certificates.dir, 'good.key'), '-subj', '/CN=good.test', '-days', '30'],
      certificates.dir,
    );
    const line = (pem: string, owner: string) => ({ type: 'x509-certificate', pem, owner });
    await importIdentities({ discovered, clock }, ndjson(line(certificates.good.pem, 'web')));
    const inventory = new DynamoDbInventory(shared.doc, shared.tableName);
    const sharing = () => listIdentities({ inventory }, { rule: 'CERT_SHARED_KEY' }, { limit: 10 });
    expect((await sharing()).items).toHaveLength(0);

    await importIdentities({ discovered, clock }, ndjson(line(twinPem, 'web')));
    const found = (await sharing()).items.map((i) => i.name).sort();
    expect(found).toEqual(['good.test', 'good.test']);
    const detail = await discovered.get((await sharing()).items[0]?.identityId ?? '');
    expect(detail?.sharedKeyCount).toBe(1);
    const report = await consolidationReport({ inventory, discovered });
    const group = report.groups.find((g) => g.kind === 'shared-keys');
    expect(Object.values(group?.byAccount ?? {}).flat()).toHaveLength(2);
    // The same name from two issuers (the test intermediate, and the self-signed twin): candidates to merge.
    const duplicates = report.groups.find((g) => g.kind === 'duplicate-certificates');
    expect(
      Object.values(duplicates?.byAccount ?? {})
        .flat()
        .map((m) => `${m.name} ${m.issuer}`)
        .sort(),
    ).toEqual(['good.test CN=Scan Test Issuing CA,O=Scan Test', 'good.test CN=good.test']);

    // The same import again writes nothing more.
    const items = await countItems(shared.client, shared.tableName);
    await importIdentities({ discovered, clock }, ndjson(line(twinPem, 'web')));
    expect(await countItems(shared.client, shared.tableName)).toBe(items);
  });
});
