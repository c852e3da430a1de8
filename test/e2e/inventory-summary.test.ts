import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, callApi } from '../support/api-client.ts';
import { opensslCsr, run } from '../support/pki-fixtures.ts';
import { localPlaneAccess, type StartedProcess, startLocalPlane } from '../support/processes.ts';

/**
 * `GET /v1/inventory/summary` end to end against `npm start` (the repository's mim.config.json): certificates issued
 * and one revoked, identities imported, and the summary, kept from the table's stream by its own pump, counting them
 * by type, source, status, risk, account and owner, with the certificates in their expiry buckets. Who may read it is
 * decided like the rest of the inventory's reads.
 */

const PRINCIPALS = ['admin', 'operator', 'auditor', 'payments-api'] as const;
type Who = (typeof PRINCIPALS)[number];
/** The summary is kept from the stream, after the requests returned: it is read until it shows them, this long at most. */
const CATCH_UP_MS = 30_000;

let dir: string;
let dataDir: string;
let plane: StartedProcess | undefined;
let base: string;
const bearer = {} as Record<Who, string>;

function api(method: string, path: string, options: { as?: Who | null; raw?: string; contentType?: string } = {}) {
  const { as, ...call } = options;
  return callApi(base, method, path, {
    ...call,
    authorization: as === null ? undefined : `Bearer ${bearer[as ?? 'admin']}`,
  });
}

async function issue(name: string, validity: string): Promise<{ identityId: string; serialNumber: string }> {
  const { csrPem } = await opensslCsr(dir, 'ec-p256', {
    subject: `/CN=${name}.local.test`,
    addext: [`subjectAltName=DNS:${name}.local.test`],
  });
  const res = await callApi(base, 'POST', '/v1/certificates', {
    authorization: `Bearer ${bearer.admin}`,
    body: { csr: csrPem, policy: 'local-dev', validity },
  });
  expect(res.status, res.text).toBe(201);
  return { identityId: res.json.identityId, serialNumber: res.json.serialNumber };
}

/** Reads the summary until `done` says it shows what was committed (bounded), and returns that answer. */
async function summaryWhen(done: (summary: any) => boolean): Promise<ApiResponse> {
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    const res = await api('GET', '/v1/inventory/summary', { as: 'auditor' });
    expect(res.status, res.text).toBe(200);
    if (done(res.json)) return res;
    if (Date.now() > deadline) {
      throw new Error(`the summary did not catch up within ${CATCH_UP_MS} ms: ${res.text}\n${plane?.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mim-summary-'));
  dataDir = join(dir, 'data');
  const started = await startLocalPlane(dataDir);
  plane = started.plane;
  base = started.base;
  const access = await localPlaneAccess(plane, dataDir, PRINCIPALS);
  access.dynamo.destroy();
  Object.assign(bearer, access.bearer);
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('GET /v1/inventory/summary', () => {
  it('answers an empty inventory with every known value at zero', async () => {
    const res = await api('GET', '/v1/inventory/summary');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      total: 0,
      byType: { 'x509-certificate': 0, 'iam-role': 0 },
      bySource: { issued: 0, import: 0 },
      byStatus: { active: 0, revoked: 0, missing: 0, retired: 0 },
      byRisk: { none: 0, low: 0, medium: 0, high: 0, critical: 0 },
      byAccount: {},
      topOwners: [],
      expiry: { expired: 0, under7d: 0, under30d: 0, under90d: 0, later: 0 },
    });
    expect(res.json.asOf).toBeUndefined();
  });

  it('counts issued, revoked and imported identities, with the certificates in their expiry buckets', async () => {
    const soon = await issue('summary-soon', '24h');
    await issue('summary-month', '20d');
    const revoked = await issue('summary-revoked', '24h');
    const revoke = await api('POST', `/v1/certificates/${revoked.serialNumber}/revoke`, {
      raw: JSON.stringify({ reason: 'superseded' }),
      contentType: 'application/json',
    });
    expect(revoke.status, revoke.text).toBe(200);

    // A certificate kept elsewhere, valid for 120 days, and two other identities.
    const key = join(dir, 'imported.key');
    const cert = join(dir, 'imported.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-subj',
      '/CN=imported.summary.test',
      '-addext',
      'subjectAltName=DNS:imported.summary.test',
      '-days',
      '120',
      '-out',
      cert,
    ]);
    const lines = [
      JSON.stringify({ type: 'x509-certificate', pem: await readFile(cert, 'utf8'), owner: 'e2e-owner' }),
      JSON.stringify({ type: 'api-key', name: 'summary-key', owner: 'e2e-owner' }),
      JSON.stringify({ type: 'secret', name: 'summary-secret' }),
    ].join('\n');
    const imported = await api('POST', '/v1/identities/import', { raw: lines, contentType: 'application/x-ndjson' });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.json).toMatchObject({ created: 3 });

    const res = await summaryWhen((s) => s.total === 6 && s.byStatus.revoked === 1);
    const summary = res.json;
    expect(summary).toMatchObject({
      total: 6,
      byType: { 'x509-certificate': 4, 'api-key': 1, secret: 1, 'iam-role': 0 },
      bySource: { issued: 3, import: 3, 'aws-iam': 0 },
      byStatus: { active: 5, revoked: 1, missing: 0, retired: 0 },
      byAccount: { imported: 3 },
      // Issued ones are owned by the policy's owner tag; imported ones by their line's owner, when it has one.
      topOwners: [
        { owner: 'platform-team', count: 3 },
        { owner: 'e2e-owner', count: 2 },
      ],
      // The revoked certificate is in none: 24 hours, 20 days, 120 days.
      expiry: { expired: 0, under7d: 1, under30d: 1, under90d: 0, later: 1 },
    });
    expect(Object.values(summary.byRisk as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(6);
    expect(Date.parse(summary.asOf)).not.toBeNaN();

    // The identities listing agrees, read the expensive way.
    const listed = await api('GET', '/v1/identities?source=issued&status=active&limit=100');
    expect(listed.json.items.map((i: { identityId: string }) => i.identityId)).toContain(soon.identityId);
    expect(listed.json.items).toHaveLength(2);

    // The summary's pump keeps its own checkpoints beside the publisher's, owner-only.
    expect(((await stat(join(dataDir, 'summary-checkpoints.json'))).mode & 0o777).toString(8)).toBe('600');
    expect(plane?.output()).not.toContain('warning: summary pump');
  });

  it('is read by whoever may read the inventory, and refused to workloads and to anonymous callers', async () => {
    for (const who of ['admin', 'operator', 'auditor'] as const) {
      expect((await api('GET', '/v1/inventory/summary', { as: who })).status, who).toBe(200);
    }
    const workload = await api('GET', '/v1/inventory/summary', { as: 'payments-api' });
    expect(workload.status, workload.text).toBe(403);
    expect(workload.json.error.code).toBe('FORBIDDEN');
    const anonymous = await api('GET', '/v1/inventory/summary', { as: null });
    expect(anonymous.status, anonymous.text).toBe(401);
    expect(anonymous.json.error.code).toBe('UNAUTHENTICATED');
    const post = await api('POST', '/v1/inventory/summary', { raw: '{}', contentType: 'application/json' });
    expect(post.status, post.text).toBe(405);
    expect(post.json.error.code).toBe('METHOD_NOT_ALLOWED');
  });
});
