import { randomUUID, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { createTlsScanner } from '#lib/adapters/tls/tls-scanner.ts';
import { type DiscoveredIdentity, discoveredIdentityId } from '#lib/domain/discovery.ts';
import type { RunPart } from '#lib/domain/discovery-run.ts';
import type { CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { DiscoveryUnit } from '#lib/ports/discovery-runs.ts';
import { getIdentity } from '#lib/use-cases/read-inventory.ts';
import { runDiscoveryUnit, startDiscoveryRun } from '#lib/use-cases/run-discovery.ts';
import { countItems, type FreshTable, freshTable } from '../support/dynamodb.ts';
import { GOOD_SERIAL, startTlsTestServers, type TestCertificate, type TlsTestServers } from '../support/tls-servers.ts';

// Every endpoint is a loopback server (test/support/tls-servers.ts, or one started here); names resolve through a
// map to 127.0.0.1, never through the system's resolver. Timeouts are small and every wait bounded.

let servers: TlsTestServers;
let table: FreshTable;
let runs: DynamoDbDiscoveryRuns;
let discovered: DynamoDbDiscoveredInventory;
let inventory: DynamoDbInventory;
const clock = { now: () => new Date() };
const ALLOWED = ['127.0.0.1/32', '::1/128'];

beforeAll(async () => {
  [servers, table] = await Promise.all([startTlsTestServers(), freshTable()]);
  runs = new DynamoDbDiscoveryRuns(table.doc, table.tableName);
  discovered = new DynamoDbDiscoveredInventory(table.doc, table.tableName);
  inventory = new DynamoDbInventory(table.doc, table.tableName);
});

afterAll(async () => {
  await servers?.stop();
});

const fingerprint = (certificate: TestCertificate) =>
  new X509Certificate(certificate.pem).fingerprint256.replaceAll(':', '').toLowerCase();

const tlsId = (certificate: TestCertificate) =>
  discoveredIdentityId({ source: 'tls', arn: `sha256:${fingerprint(certificate)}` });

/** A run of these targets, as the API starts it and the workers run its units; the parts as they ended. */
async function scan(targets: string[]): Promise<RunPart[]> {
  const units: DiscoveryUnit[] = [];
  const run = await startDiscoveryRun(
    {
      runs,
      clock,
      queue: { enqueue: async (more) => void units.push(...more) },
      plan: async () => ({ unavailable: 'not used' }),
      randomId: () => randomUUID().slice(0, 8),
      tls: {
        targets: [],
        allowedRanges: ALLOWED,
        resolve: async (names) =>
          new Map(names.map((n) => [n, n === 'good.test' ? { addresses: ['127.0.0.1'] } : { code: 'ENOTFOUND' }])),
      },
    },
    { by: 'test', trigger: 'api', sources: ['tls'], tlsTargets: targets },
  );
  const scanner = createTlsScanner({
    allowedRanges: ALLOWED,
    trustedCaPems: [servers.certificates.root.pem],
    connectTimeoutMs: 500,
    handshakeTimeoutMs: 800,
  });
  const parts: RunPart[] = [];
  for (const unit of units) {
    parts.push(
      await runDiscoveryUnit(
        {
          runs,
          inventory: discovered,
          clock,
          missingAfterRuns: 2,
          sourceFor: async () => {
            throw new Error('a tls unit reads no AWS source');
          },
          tls: { scanner, issued: inventory },
        },
        unit,
      ),
    );
  }
  expect((await runs.getRun(run.runId))?.parts.every((p) => p.status === 'succeeded')).toBe(true);
  return parts;
}

const at = (endpoint: { host: string; port: number }) => `${endpoint.host}:${endpoint.port}`;

/** The good leaf as this plane's own issuance would have recorded it. */
async function recordGoodAsIssued(): Promise<string> {
  const identityId = randomUUID();
  const x509 = new X509Certificate(servers.certificates.good.pem);
  const notAfter = new Date(x509.validTo).toISOString();
  const certificate: CertificateRecord = {
    serialNumber: GOOD_SERIAL,
    identityId,
    policy: 'web',
    subject: 'CN=good.test',
    subjectAltNames: [{ type: 'dns', value: 'good.test' }],
    keyAlgorithm: 'EC_P256',
    keySize: 256,
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter,
    renewAfter: new Date(Date.parse(notAfter) - 86_400_000).toISOString(),
    fingerprintSha256: fingerprint(servers.certificates.good),
    issuedAt: new Date().toISOString(),
    issuedBy: 'test',
    status: 'active',
    certificatePem: servers.certificates.good.pem,
    tags: {},
  };
  const identity: IdentityRecord = {
    identityId,
    type: 'x509-certificate',
    status: 'active',
    owner: 'web-team',
    policy: 'web',
    tags: {},
    name: 'good.test',
    source: 'issued',
    currentSerialNumber: GOOD_SERIAL,
    expiresAt: notAfter,
    createdAt: certificate.issuedAt,
    updatedAt: certificate.issuedAt,
    version: 1,
  };
  const audit = { eventId: randomUUID(), at: certificate.issuedAt, action: 'CertificateIssued' as const };
  await inventory.recordIssuance({
    certificate,
    identity,
    audit: { ...audit, actor: 'test', target: 'x', details: {} },
  });
  return identityId;
}

describe('the tls discovery source', () => {
  it('records every endpoint with its outcome, one identity per certificate, and ours on its issued identity', async () => {
    const issuedId = await recordGoodAsIssued();
    const targets = [
      `good.test:${servers.good.port}`,
      at(servers.good),
      at(servers.expired),
      at(servers.weak),
      at(servers.sha1),
      at(servers.selfSigned),
      at(servers.wrongName),
      at(servers.garbage),
      at(servers.hang),
      at(servers.closed),
      `[::1]:${servers.ipv6.port}`,
      'nowhere.test:443',
    ];
    const [part] = await scan(targets);
    const outcome = Object.fromEntries((part?.endpoints ?? []).map((e) => [e.location, e.outcome]));
    expect(outcome).toEqual({
      [`good.test:${servers.good.port}`]: 'tls',
      [at(servers.good)]: 'tls',
      [at(servers.expired)]: 'tls',
      [at(servers.weak)]: 'tls',
      [at(servers.sha1)]: 'tls',
      [at(servers.selfSigned)]: 'tls',
      [at(servers.wrongName)]: 'tls',
      [at(servers.garbage)]: 'not-tls',
      [at(servers.hang)]: 'timeout',
      [at(servers.closed)]: 'refused',
      [`[::1]:${servers.ipv6.port}`]: 'tls',
      'nowhere.test:443': 'unreachable',
    });
    expect(servers.good.servernames).toContain('good.test');
    // Five certificates of others; the good one three times (by name, by address, on ::1), which is ours.
    expect(part?.counts).toMatchObject({ seen: 6, new: 5, changed: 1 });

    const issued = await inventory.getIdentity(issuedId);
    expect(issued?.servedAt?.map((e) => `${e.location} ${e.validatesTo} ${e.nameMatches}`)).toEqual([
      `127.0.0.1:${servers.good.port} ours true`,
      `[::1]:${servers.ipv6.port} ours true`,
      `good.test:${servers.good.port} ours true`,
    ]);
    expect(await discovered.get(tlsId(servers.certificates.good))).toBeUndefined();

    const rulesOf = async (certificate: TestCertificate) => (await discovered.get(tlsId(certificate)))?.risk?.rules;
    expect(await rulesOf(servers.certificates.expired)).toContain('CERT_EXPIRED');
    expect(await rulesOf(servers.certificates.weak)).toContain('CERT_WEAK_KEY');
    expect(await rulesOf(servers.certificates.sha1)).toContain('CERT_WEAK_SIGNATURE');
    expect(await rulesOf(servers.certificates.selfSigned)).toEqual(
      expect.arrayContaining(['CERT_SELF_SIGNED_ON_ENDPOINT', 'CERT_CHAIN_INVALID']),
    );
    expect(await rulesOf(servers.certificates.wrongName)).toContain('CERT_NAME_MISMATCH');
    const expired = (await discovered.get(tlsId(servers.certificates.expired))) as DiscoveredIdentity;
    expect(expired).toMatchObject({ source: 'tls', account: 'network', status: 'active' });
    expect(expired.facts).toMatchObject({
      fingerprintSha256: fingerprint(servers.certificates.expired),
      locations: [at(servers.expired)],
      endpoints: [{ location: at(servers.expired), address: '127.0.0.1', validatesTo: 'none' }],
    });
    // GET says when it was last seen: its location's last scan.
    const detail = await getIdentity({ inventory, discovered, runs, clock }, expired.identityId);
    const lastSeenAt = detail.kind === 'discovered' ? detail.lastSeenAt : undefined;
    expect(lastSeenAt !== undefined && lastSeenAt >= (part?.startedAt ?? '')).toBe(true);

    // The same scan again changes nothing: no identity is written (each location's scan is rewritten in place).
    const items = await countItems(table.client, table.tableName);
    const [again] = await scan(targets);
    expect(again?.counts).toEqual({ seen: 6, new: 0, changed: 0, missing: 0, reappeared: 0 });
    expect(await countItems(table.client, table.tableName)).toBe(items + 2);
    expect((await inventory.getIdentity(issuedId))?.version).toBe(issued?.version);

    // A scan of one location replaces what was known there only.
    await scan([`good.test:${servers.good.port}`]);
    expect((await inventory.getIdentity(issuedId))?.servedAt).toHaveLength(3);
  });

  it('makes a certificate that disappears from every endpoint missing after two runs, keeping where it was', async () => {
    // Two servers of a certificate no other test server presents.
    const certificate = servers.certificates.otherRoot;
    const listen = async (): Promise<{ server: Server; target: string }> => {
      const server = createServer({ key: certificate.keyPem, cert: certificate.pem });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, target: `127.0.0.1:${(server.address() as { port: number }).port}` };
    };
    const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));
    const [a, b] = [await listen(), await listen()];
    const id = tlsId(certificate);
    const targets = [a.target, b.target];
    await scan(targets);
    expect((await discovered.get(id))?.facts.locations).toEqual([...targets].sort());

    // Gone from one endpoint: still active, served at the other.
    await close(a.server);
    const [moved] = await scan(targets);
    expect(moved?.counts).toMatchObject({ seen: 1, changed: 1, missing: 0 });
    expect(await discovered.get(id)).toMatchObject({ status: 'active', facts: { locations: [b.target] } });

    // Gone from its last endpoint: a missed run, then missing, its last endpoint kept; never while another run
    // scanning elsewhere does not see it.
    await close(b.server);
    await scan(targets);
    const missed = await discovered.get(id);
    expect(missed).toMatchObject({ status: 'active', missedRuns: 1, facts: { locations: [b.target] } });
    expect(missed?.lastSeenAt).toBeDefined();
    await scan([at(servers.good)]);
    expect((await discovered.get(id))?.missedRuns).toBe(1);
    const [last] = await scan([b.target]);
    expect(last?.counts.missing).toBe(1);
    expect(await discovered.get(id)).toMatchObject({ status: 'missing', facts: { locations: [b.target] } });
  });
});
