import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, callApi, type RefusedCase, refusedCase } from '../support/api-client.ts';
import { countItems } from '../support/dynamodb.ts';
import { opensslCsr } from '../support/pki-fixtures.ts';
import { localPlaneAccess, type StartedProcess, startLocalPlane } from '../support/processes.ts';

/**
 * The inventory routes end to end against `npm start` (the repository's mim.config.json): listing identities with
 * filters and cursors, reading one with its ETag and certificates, and annotating one with `PATCH` under `If-Match`.
 * Every refused request is answered with its status and stable error code, leaves the identity's version where it
 * was, writes no `IdentityUpdated` audit entry (nor any other item), and the server keeps serving.
 */

const TABLE = 'mim-inventory';
const PRINCIPALS = ['admin', 'operator', 'auditor', 'payments-api'] as const;
type Who = (typeof PRINCIPALS)[number];

const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';
const UNKNOWN_DISCOVERED = `d-${'A'.repeat(32)}`;
const NEW_OWNER = 'payments-team';
const DERIVED_OWNER = 'platform-team'; // the local-dev policy's owner tag
/** Loops over pages stop here, whatever the server answers. */
const MAX_PAGES = 50;

let dir: string;
let plane: StartedProcess | undefined;
let base: string;
let dynamo: DynamoDBClient | undefined;
const bearer = {} as Record<Who, string>;
/** The UTC day the plane started: audit entries are listed for it and for today (once past midnight, two days). */
let firstDay: string;

/** Two certificates issued in beforeAll: `a` is annotated by the PATCH tests, `b` by the null-clearing test. */
const issued = {
  a: { identityId: '', serialNumber: '' },
  b: { identityId: '', serialNumber: '' },
};

interface ApiOptions {
  /** The local principal whose bearer token is sent (default admin); null sends no Authorization header. */
  as?: Who | null;
  body?: unknown;
  raw?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
}

function api(method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse> {
  const { as, ...call } = options;
  return callApi(base, method, path, {
    ...call,
    authorization: as === null ? undefined : `Bearer ${bearer[as ?? 'admin']}`,
  });
}

const patch = (id: string, options: ApiOptions) => api('PATCH', `/v1/identities/${id}`, options);
const getIdentity = (id: string, as: Who = 'admin') => api('GET', `/v1/identities/${id}`, { as });
const utcDay = () => new Date().toISOString().slice(0, 10);

interface ListedIdentity {
  identityId: string;
  type: string;
  source: string;
  status: string;
  owner?: string;
}

/** Every identity a listing returns, page by page (bounded). */
async function listAll(query: string): Promise<ListedIdentity[]> {
  const items: ListedIdentity[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await api(
      'GET',
      `/v1/identities?${query}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(res.status, res.text).toBe(200);
    items.push(...res.json.items);
    cursor = res.json.nextCursor;
    if (!cursor) return items;
  }
  throw new Error(`GET /v1/identities?${query} had more than ${MAX_PAGES} pages`);
}

interface AuditEntry {
  eventId: string;
  at: string;
  action: string;
  actor: string;
  target: string;
  details: Record<string, string | number | boolean>;
}

/** The `IdentityUpdated` audit entries of one identity, read as an auditor through GET /v1/audit (bounded). */
async function identityUpdates(identityId: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const day of new Set([firstDay, utcDay()])) {
    let cursor: string | undefined;
    let pages = 0;
    do {
      if (++pages > MAX_PAGES) throw new Error(`GET /v1/audit?day=${day} had more than ${MAX_PAGES} pages`);
      const res = await api(
        'GET',
        `/v1/audit?day=${day}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { as: 'auditor' },
      );
      expect(res.status, res.text).toBe(200);
      entries.push(...(res.json.items as AuditEntry[]));
      cursor = res.json.nextCursor;
    } while (cursor);
  }
  return entries.filter((e) => e.action === 'IdentityUpdated' && e.target === `identity/${identityId}`);
}

/** Checks the shape every refused request shares: the error body, its request id, and no secret in it. */
function expectRefused(res: ApiResponse, status: number, code: string, what: string): void {
  expect(res.status, `${what}: ${res.text.slice(0, 500)}`).toBe(status);
  expect(res.json?.error?.code, `${what}: ${res.text.slice(0, 500)}`).toBe(code);
  expect(typeof res.json.error.message).toBe('string');
  expect(res.json.error.message.length).toBeGreaterThan(0);
  expect(res.json.error.requestId).toMatch(/\S/);
  expect(res.headers.get('x-request-id')).toBe(res.json.error.requestId);
  expect(res.text).not.toMatch(/\bat .+\.ts:\d+/);
  for (const token of Object.values(bearer)) expect(res.text).not.toContain(token);
}

async function issue(name: string): Promise<{ identityId: string; serialNumber: string }> {
  const { csrPem } = await opensslCsr(dir, 'ec-p256', {
    subject: `/CN=${name}.local.test`,
    addext: [`subjectAltName=DNS:${name}.local.test`],
  });
  const res = await api('POST', '/v1/certificates', { body: { csr: csrPem, policy: 'local-dev' } });
  expect(res.status, res.text).toBe(201);
  return { identityId: res.json.identityId, serialNumber: res.json.serialNumber };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mim-identities-'));
  const dataDir = join(dir, 'data');
  const started = await startLocalPlane(dataDir);
  plane = started.plane;
  base = started.base;
  firstDay = utcDay();

  const access = await localPlaneAccess(plane, dataDir, PRINCIPALS);
  dynamo = access.dynamo;
  Object.assign(bearer, access.bearer);

  issued.a = await issue('ident-a');
  issued.b = await issue('ident-b');
}, 120_000);

afterAll(async () => {
  dynamo?.destroy();
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

// ---- GET /v1/identities ---------------------------------------------------------------------------------------------

describe('GET /v1/identities', () => {
  const invalid: ReadonlyArray<[string, string, string]> = [
    ['an unknown type', 'type=x509', 'type'],
    ['an unknown source', 'source=aws-s3', 'source'],
    ['an unknown status', 'status=expired', 'status'],
    ['an account of 5 digits', 'account=12345', 'account'],
    ['an account with a letter', 'account=11112222333a', 'account'],
    ['an account of 13 digits', 'account=1111222233334', 'account'],
    ['an unknown risk level', 'risk=none', 'risk'],
    ['an unknown rule code', 'rule=CERT_TOO_SHINY', 'rule'],
    ['a rule code in lower case', 'rule=cert_expired', 'rule'],
    ['a limit of 0', 'limit=0', 'limit'],
    ['a limit that is not a number', 'limit=ten', 'limit'],
  ];

  it.each(invalid)('refuses %s with 400 VALIDATION_FAILED', async (what, query, field) => {
    const res = await api('GET', `/v1/identities?${query}`);
    expectRefused(res, 400, 'VALIDATION_FAILED', what);
    const paths = (res.json.error.details?.issues ?? []).map((i: { path: string }) => i.path);
    expect(paths, res.text).toContain(field);
  });

  it('refuses owner and account together with 400 UNSUPPORTED_FILTER', async () => {
    const res = await api('GET', `/v1/identities?owner=${DERIVED_OWNER}&account=111122223333`);
    expectRefused(res, 400, 'UNSUPPORTED_FILTER', 'owner and account');
    const rule = await api('GET', '/v1/identities?rule=OWNER_MISSING&account=111122223333');
    expectRefused(rule, 400, 'UNSUPPORTED_FILTER', 'rule and account');
  });

  it('imports NDJSON: refuses bad lines (listing each), a wrong media type, the wrong role and too much; then imports', async () => {
    const ndjson = 'application/x-ndjson';
    const lines = [
      JSON.stringify({ type: 'api-key', name: 'e2e-key', owner: 'e2e' }),
      JSON.stringify({ type: 'password' }),
      '{oops',
    ].join('\n');
    const before = await api('GET', '/v1/identities?source=import');
    const bad = await api('POST', '/v1/identities/import', { raw: lines, contentType: ndjson });
    expectRefused(bad, 400, 'IMPORT_INVALID', 'bad lines');
    expect(bad.json.error.details.lines).toEqual([
      expect.objectContaining({ line: 2, field: 'name' }),
      expect.objectContaining({ line: 3, field: '' }),
    ]);
    expectRefused(
      await api('POST', '/v1/identities/import', { raw: lines, contentType: 'application/json' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'json',
    );
    expectRefused(
      await api('POST', '/v1/identities/import', {
        raw: lines.split('\n')[0] ?? '',
        contentType: ndjson,
        as: 'operator',
      }),
      403,
      'FORBIDDEN',
      'operator',
    );
    const huge = `${JSON.stringify({ type: 'secret', name: 'x'.repeat(500) })}\n`.repeat(11_000);
    expectRefused(
      await api('POST', '/v1/identities/import', { raw: huge, contentType: ndjson }),
      413,
      'PAYLOAD_TOO_LARGE',
      'big',
    );
    const after = await api('GET', '/v1/identities?source=import');
    expect(after.json.items).toEqual(before.json.items);

    const good = lines.split('\n')[0] ?? '';
    const first = await api('POST', '/v1/identities/import', { raw: good, contentType: ndjson });
    expect(first.status, first.text).toBe(200);
    expect(first.json).toEqual({ lines: 1, created: 1, changed: 0, unchanged: 0 });
    const again = await api('POST', '/v1/identities/import', { raw: good, contentType: ndjson });
    expect(again.json).toEqual({ lines: 1, created: 0, changed: 0, unchanged: 1 });
  });

  it('answers what to consolidate, and refuses a bad limit or an unknown parameter', async () => {
    const report = await api('GET', '/v1/inventory/consolidation');
    expect(report.status, report.text).toBe(200);
    expect(report.json.groups.map((g: { kind: string }) => g.kind)).toContain('unowned');
    expectRefused(await api('GET', '/v1/inventory/consolidation?limit=0'), 400, 'VALIDATION_FAILED', 'limit 0');
    expectRefused(await api('GET', '/v1/inventory/consolidation?owner=x'), 400, 'VALIDATION_FAILED', 'unknown');
  });

  it('lists by risk level and by rule, and shows an identity its findings as of now', async () => {
    const byRisk = await api('GET', '/v1/identities?risk=low&source=issued');
    expect(byRisk.status, byRisk.text).toBe(200);
    const byRule = await api('GET', '/v1/identities?rule=CERT_EXPIRED');
    expect(byRule.status, byRule.text).toBe(200);
    expect(byRule.json.items).toEqual([]);
    const one = await api('GET', `/v1/identities/${issued.a.identityId}`);
    expect(one.json.risk, one.text).toEqual({ score: expect.any(Number), level: expect.any(String) });
    expect(Array.isArray(one.json.findings)).toBe(true);
  });

  it('refuses a cursor handed out for another filter with 400 INVALID_CURSOR, and takes it for its own', async () => {
    const first = await api('GET', '/v1/identities?source=issued&limit=1');
    expect(first.status, first.text).toBe(200);
    expect(first.json.items).toHaveLength(1);
    const cursor = first.json.nextCursor;
    expect(typeof cursor, first.text).toBe('string');
    const c = encodeURIComponent(cursor);
    for (const query of [
      `source=issued&status=active&limit=1&cursor=${c}`,
      `source=aws-iam&limit=1&cursor=${c}`,
      `type=x509-certificate&limit=1&cursor=${c}`,
      `owner=${DERIVED_OWNER}&limit=1&cursor=${c}`,
      `limit=1&cursor=${c}`,
    ]) {
      expectRefused(await api('GET', `/v1/identities?${query}`), 400, 'INVALID_CURSOR', query);
    }
    const second = await api('GET', `/v1/identities?source=issued&limit=1&cursor=${c}`);
    expect(second.status, second.text).toBe(200);
    expect(second.json.items).toHaveLength(1);
    expect(second.json.items[0].identityId).not.toBe(first.json.items[0].identityId);
  });

  it('lists the issued certificates under source=issued, and only issued ones', async () => {
    const items = await listAll('source=issued');
    const ids = items.map((i) => i.identityId);
    expect(ids).toContain(issued.a.identityId);
    expect(ids).toContain(issued.b.identityId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const item of items) expect(item.source).toBe('issued');
    expect(items.find((i) => i.identityId === issued.a.identityId)).toMatchObject({
      type: 'x509-certificate',
      source: 'issued',
      status: 'active',
      owner: DERIVED_OWNER,
    });
    // A discovery source lists none of them.
    const discovered = await listAll('source=aws-acm');
    expect(discovered.map((i) => i.identityId)).not.toContain(issued.a.identityId);
  });

  it('serves auditors and operators, not workloads', async () => {
    expect((await api('GET', '/v1/identities?source=issued', { as: 'auditor' })).status).toBe(200);
    expect((await api('GET', '/v1/identities?source=issued', { as: 'operator' })).status).toBe(200);
    expectRefused(
      await api('GET', '/v1/identities?source=issued', { as: 'payments-api' }),
      403,
      'FORBIDDEN',
      'workload lists',
    );
    expectRefused(
      await api('GET', '/v1/identities?source=issued', { as: null }),
      401,
      'UNAUTHENTICATED',
      'anonymous lists',
    );
  });
});

// ---- GET /v1/identities/{id} ----------------------------------------------------------------------------------------

describe('GET /v1/identities/{id}', () => {
  it('answers the identity with its version as ETag and its certificate', async () => {
    const res = await getIdentity(issued.a.identityId);
    expect(res.status, res.text).toBe(200);
    expect(res.json.identityId).toBe(issued.a.identityId);
    expect(Number.isInteger(res.json.version)).toBe(true);
    expect(res.headers.get('etag')).toBe(`"${res.json.version}"`);
    expect(res.json.currentSerialNumber).toBe(issued.a.serialNumber);
    expect(res.json.certificates).toHaveLength(1);
    expect(res.json.certificates[0]).toMatchObject({
      serialNumber: issued.a.serialNumber,
      identityId: issued.a.identityId,
      status: 'active',
    });
    expect(res.json.certificates[0].fingerprintSha256).toMatch(/\S/);
    expect(res.text).not.toContain('BEGIN CERTIFICATE');
    const asAuditor = await getIdentity(issued.a.identityId, 'auditor');
    expect(asAuditor.status, asAuditor.text).toBe(200);
    expect(asAuditor.headers.get('etag')).toBe(res.headers.get('etag'));
  });

  it('answers 404 IDENTITY_NOT_FOUND for an unknown UUID or discovered id', async () => {
    expectRefused(await getIdentity(UNKNOWN_UUID), 404, 'IDENTITY_NOT_FOUND', 'unknown UUID');
    expectRefused(await getIdentity(UNKNOWN_DISCOVERED), 404, 'IDENTITY_NOT_FOUND', 'unknown discovered id');
  });

  it.each([
    ['not a UUID', 'not-a-uuid'],
    ['a UUID with a trailing character', `${UNKNOWN_UUID}0`],
    ['a short discovered id', 'd-abc'],
    ['a traversal', '..%2F..%2Fetc%2Fpasswd'],
  ])('answers 400 VALIDATION_FAILED for a malformed id: %s', async (what, id) => {
    expectRefused(await getIdentity(id), 400, 'VALIDATION_FAILED', what);
  });

  it('refuses a workload with 403 FORBIDDEN', async () => {
    expectRefused(await getIdentity(issued.a.identityId, 'payments-api'), 403, 'FORBIDDEN', 'workload reads');
  });
});

// ---- PATCH /v1/identities/{id} --------------------------------------------------------------------------------------

describe('PATCH /v1/identities/{id}', () => {
  /** The version of identity a, read before the refused requests. */
  let version = 0;
  const goodBody = { owner: NEW_OWNER, purpose: 'orders API TLS', tags: { 'cost-center': 'cc-42' } };
  const ifMatch = () => ({ 'if-match': `"${version}"` });

  const c = refusedCase;
  const a = () => issued.a.identityId;
  const manyTags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));

  const REFUSED: RefusedCase[] = [
    c('no If-Match', 428, 'PRECONDITION_REQUIRED', () => patch(a(), { body: goodBody })),
    c('If-None-Match: * beside If-Match', 400, 'PRECONDITION_CONFLICT', () =>
      patch(a(), { body: goodBody, headers: { ...ifMatch(), 'if-none-match': '*' } }),
    ),
    c('If-None-Match: * alone', 400, 'PRECONDITION_CONFLICT', () =>
      patch(a(), { body: goodBody, headers: { 'if-none-match': '*' } }),
    ),
    c('a malformed If-Match', 400, 'VALIDATION_FAILED', () =>
      patch(a(), { body: goodBody, headers: { 'if-match': 'latest' } }),
    ),
    c('an empty body {}', 400, 'VALIDATION_FAILED', () => patch(a(), { body: {}, headers: ifMatch() })),
    c('an unknown field', 400, 'VALIDATION_FAILED', () =>
      patch(a(), { body: { owner: NEW_OWNER, team: 'x' }, headers: ifMatch() }),
    ),
    c('an owner of 300 characters', 400, 'VALIDATION_FAILED', () =>
      patch(a(), { body: { owner: 'o'.repeat(300) }, headers: ifMatch() }),
    ),
    c('an owner of blanks', 400, 'VALIDATION_FAILED', () => patch(a(), { body: { owner: '   ' }, headers: ifMatch() })),
    c('an owner that is a number', 400, 'VALIDATION_FAILED', () =>
      patch(a(), { body: { owner: 42 }, headers: ifMatch() }),
    ),
    c('51 tags', 400, 'VALIDATION_FAILED', () => patch(a(), { body: { tags: manyTags }, headers: ifMatch() })),
    c('a tag key with a space', 400, 'VALIDATION_FAILED', () =>
      patch(a(), { body: { tags: { 'cost center': 'cc-42' } }, headers: ifMatch() }),
    ),
    c('a tag value of 257 characters', 400, 'VALIDATION_FAILED', () =>
      patch(a(), { body: { tags: { k: 'v'.repeat(257) } }, headers: ifMatch() }),
    ),
    c('a JSON array as body', 400, 'VALIDATION_FAILED', () => patch(a(), { body: [goodBody], headers: ifMatch() })),
    c('a body that is not JSON', 400, 'BODY_NOT_JSON', () =>
      patch(a(), { raw: '{"owner": "payments-team"', headers: ifMatch() }),
    ),
    c('an empty JSON body', 400, 'BODY_REQUIRED', () => patch(a(), { raw: '', headers: ifMatch() })),
    c('a text/plain body', 415, 'UNSUPPORTED_MEDIA_TYPE', () =>
      patch(a(), { raw: JSON.stringify(goodBody), contentType: 'text/plain', headers: ifMatch() }),
    ),
    c('a workload', 403, 'FORBIDDEN', () => patch(a(), { body: goodBody, headers: ifMatch(), as: 'payments-api' })),
    c('an auditor', 403, 'FORBIDDEN', () => patch(a(), { body: goodBody, headers: ifMatch(), as: 'auditor' })),
    c('no credentials', 401, 'UNAUTHENTICATED', () => patch(a(), { body: goodBody, headers: ifMatch(), as: null })),
    c('a stale If-Match', 409, 'IDENTITY_VERSION_MISMATCH', () =>
      patch(a(), { body: goodBody, headers: { 'if-match': `"${version + 7}"` } }),
    ),
    c('an unknown UUID', 404, 'IDENTITY_NOT_FOUND', () =>
      patch(UNKNOWN_UUID, { body: goodBody, headers: { 'if-match': '"1"' } }),
    ),
    c('an unknown discovered id', 404, 'IDENTITY_NOT_FOUND', () =>
      patch(UNKNOWN_DISCOVERED, { body: goodBody, headers: { 'if-match': '"1"' } }),
    ),
    c('a malformed id', 400, 'VALIDATION_FAILED', () =>
      patch('not-a-uuid', { body: goodBody, headers: { 'if-match': '"1"' } }),
    ),
  ];

  beforeAll(async () => {
    const res = await getIdentity(issued.a.identityId);
    expect(res.status, res.text).toBe(200);
    version = res.json.version;
    expect(res.json.annotations).toBeUndefined();
    expect(await identityUpdates(issued.a.identityId)).toEqual([]);
  });

  it('has distinct case names', () => {
    expect(new Set(REFUSED.map((x) => x.name)).size).toBe(REFUSED.length);
  });

  it.each(REFUSED)('refuses $name with $status $code, and changes nothing', async ({ name, status, code, send }) => {
    const itemsBefore = await countItems(dynamo as DynamoDBClient, TABLE, { requestsOnly: true });
    expect(itemsBefore).toBeGreaterThan(0);
    const res = await send();
    expectRefused(res, status, code, name);
    if (code === 'IDENTITY_VERSION_MISMATCH') expect(res.json.error.details).toEqual({ currentVersion: version });
    expect(await countItems(dynamo as DynamoDBClient, TABLE, { requestsOnly: true }), `${name} wrote to ${TABLE}`).toBe(
      itemsBefore,
    );
    const after = await getIdentity(issued.a.identityId);
    expect(after.status, after.text).toBe(200);
    expect(after.json.version).toBe(version);
    expect(after.headers.get('etag')).toBe(`"${version}"`);
    expect(after.json.owner).toBe(DERIVED_OWNER);
    expect(after.json.annotations).toBeUndefined();
    expect(await identityUpdates(issued.a.identityId)).toEqual([]);
    for (const id of [UNKNOWN_UUID, UNKNOWN_DISCOVERED]) expect(await identityUpdates(id)).toEqual([]);
    expect((await api('GET', '/v1/health', { as: null })).status, `alive after ${name}`).toBe(200);
  });

  it('applies a change with the current If-Match (as an operator): 200, the next version as ETag, audited once', async () => {
    const res = await patch(issued.a.identityId, { body: goodBody, headers: ifMatch(), as: 'operator' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${version + 1}"`);
    expect(res.json).toMatchObject({
      identityId: issued.a.identityId,
      version: version + 1,
      owner: NEW_OWNER,
      annotations: {
        owner: NEW_OWNER,
        purpose: 'orders API TLS',
        tags: { 'cost-center': 'cc-42' },
        updatedBy: 'local:operator',
      },
    });
    expect(Number.isNaN(Date.parse(res.json.annotations.updatedAt))).toBe(false);

    const read = await getIdentity(issued.a.identityId);
    expect(read.status, read.text).toBe(200);
    expect(read.headers.get('etag')).toBe(`"${version + 1}"`);
    expect(read.json).toMatchObject({ version: version + 1, owner: NEW_OWNER, annotations: res.json.annotations });
    expect(read.json.certificates[0].serialNumber).toBe(issued.a.serialNumber);

    const updates = await identityUpdates(issued.a.identityId);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      actor: 'local:operator',
      details: { fields: 'owner,purpose,tags', version: version + 1 },
    });
  });

  it('refuses the same, now stale, If-Match with 409 IDENTITY_VERSION_MISMATCH and changes nothing', async () => {
    const itemsBefore = await countItems(dynamo as DynamoDBClient, TABLE, { requestsOnly: true });
    const res = await patch(issued.a.identityId, { body: { owner: 'someone-else' }, headers: ifMatch() });
    expectRefused(res, 409, 'IDENTITY_VERSION_MISMATCH', 'stale If-Match');
    expect(res.json.error.details).toEqual({ currentVersion: version + 1 });
    expect(await countItems(dynamo as DynamoDBClient, TABLE, { requestsOnly: true })).toBe(itemsBefore);
    const read = await getIdentity(issued.a.identityId);
    expect(read.json.version).toBe(version + 1);
    expect(read.headers.get('etag')).toBe(`"${version + 1}"`);
    expect(read.json.owner).toBe(NEW_OWNER);
    expect(await identityUpdates(issued.a.identityId)).toHaveLength(1);
  });

  it('lists the identity under its new owner, no longer under the derived one', async () => {
    const byNew = await listAll(`owner=${NEW_OWNER}`);
    expect(byNew.map((i) => i.identityId)).toEqual([issued.a.identityId]);
    expect(byNew[0]).toMatchObject({ owner: NEW_OWNER, source: 'issued', status: 'active' });
    const byNewIssued = await listAll(`owner=${NEW_OWNER}&source=issued&status=active`);
    expect(byNewIssued.map((i) => i.identityId)).toEqual([issued.a.identityId]);
    const byDerived = (await listAll(`owner=${DERIVED_OWNER}`)).map((i) => i.identityId);
    expect(byDerived).not.toContain(issued.a.identityId);
    expect(byDerived).toContain(issued.b.identityId);
    const inIssued = (await listAll('source=issued')).find((i) => i.identityId === issued.a.identityId);
    expect(inIssued?.owner).toBe(NEW_OWNER);
  });

  it('clears fields with null: the derived owner comes back', async () => {
    const id = issued.b.identityId;
    const start = await getIdentity(id);
    expect(start.status, start.text).toBe(200);
    const v = start.json.version as number;
    const set = await patch(id, {
      body: { owner: 'team-b', purpose: 'to be cleared', tags: { a: '1' } },
      headers: { 'if-match': `"${v}"` },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.json).toMatchObject({ owner: 'team-b', version: v + 1 });
    // A weak ETag names the same version.
    const cleared = await patch(id, {
      body: { owner: null, tags: null },
      headers: { 'if-match': `W/"${v + 1}"` },
    });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.headers.get('etag')).toBe(`"${v + 2}"`);
    expect(cleared.json.owner).toBe(DERIVED_OWNER);
    expect(cleared.json.annotations.owner).toBeUndefined();
    expect(cleared.json.annotations.tags).toBeUndefined();
    expect(cleared.json.annotations.purpose).toBe('to be cleared');
    expect(cleared.json.annotations.updatedBy).toBe('local:admin');
    const updates = await identityUpdates(id);
    expect(updates.map((u) => u.details)).toEqual([
      { fields: 'owner,purpose,tags', version: v + 1 },
      { fields: 'owner,tags', version: v + 2 },
    ]);
    expect((await listAll('owner=team-b')).map((i) => i.identityId)).not.toContain(id);
    expect((await listAll(`owner=${DERIVED_OWNER}`)).map((i) => i.identityId)).toContain(id);
  });
});

describe('after all this', () => {
  it('keeps serving', async () => {
    const res = await api('GET', '/v1/health', { as: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
    expect((await getIdentity(issued.a.identityId)).status).toBe(200);
  });
});
