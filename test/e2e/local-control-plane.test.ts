import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiCall, type ApiResponse, callApi, countIdentities } from '../support/api-client.ts';
import { type OpensslKeyType, opensslCsr } from '../support/pki-fixtures.ts';
import { execFileAsync, type StartedProcess, startLocalPlane } from '../support/processes.ts';

/**
 * The control plane as a user runs it: `npm start` in a fresh data directory, CSRs made by `openssl req`, the
 * answers checked by `openssl verify` and gnutls `certtool --verify`.
 */

let dir: string;
let dataDir: string;
let plane: StartedProcess;
let base: string;
let token: string;

async function start(env: Record<string, string> = {}): Promise<StartedProcess> {
  // Not quiet: the plane prints a line per event put on its bus, which the events test reads.
  const started = await startLocalPlane(dataDir, { env: { MIM_QUIET: '', ...env } });
  base = started.base;
  return started.plane;
}

function api(
  method: string,
  path: string,
  options: Omit<ApiCall, 'authorization'> & { auth?: string | null } = {},
): Promise<ApiResponse> {
  const { auth, ...call } = options;
  return callApi(base, method, path, {
    ...call,
    authorization: auth === null ? undefined : (auth ?? `Bearer ${token}`),
  });
}

async function makeCsr(name: string, key: OpensslKeyType, extra: string[] = []): Promise<string> {
  const { csrPem } = await opensslCsr(dir, key, {
    subject: `/CN=${name}.local.test`,
    addext: [`subjectAltName=DNS:${name}.local.test,URI:spiffe://local.test/ns/e2e/sa/${name}`, ...extra],
  });
  return csrPem;
}

const identityCount = () => countIdentities((path) => api('GET', path));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mim-e2e-'));
  dataDir = join(dir, 'data');
  plane = await start();
  token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('local control plane (npm start)', () => {
  it('answers health without authentication and keeps secrets 0600', async () => {
    const res = await api('GET', '/v1/health', { auth: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
    for (const file of ['admin-token', 'ca/root-key.pem', 'ca/issuing-key.pem', 'seal.key', 'dynamodb-access-key']) {
      expect(((await stat(join(dataDir, file))).mode & 0o777).toString(8)).toBe('600');
    }
  });

  it('serves its OpenAPI description without authentication', async () => {
    const res = await api('GET', '/v1/openapi.json', { auth: null });
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    expect(Object.keys(res.json.paths)).toContain('/v1/certificates');
  });

  it('serves the CA chain as PEM', async () => {
    const res = await api('GET', '/v1/ca', { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pem-certificate-chain');
    expect(res.text.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
  });

  const keyTypes: Array<[string, OpensslKeyType]> = [
    ['ec256', 'ec-p256'],
    ['ec384', 'ec-p384'],
    ['rsa2048', 'rsa2048'],
    ['ed25519', 'ed25519'],
  ];

  it.each(keyTypes)('issues a certificate for a %s CSR that openssl and certtool verify', async (name, key) => {
    const csr = await makeCsr(name, key);
    const res = await api('POST', '/v1/certificates', {
      body: { csr, policy: 'local-dev', validity: '24h', extendedKeyUsages: ['serverAuth'] },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.serialNumber).toMatch(/^[0-9a-f]{16,40}$/);
    expect(res.json.chain).toHaveLength(2);
    expect(new Date(res.json.notAfter).getTime() - new Date(res.json.notBefore).getTime()).toBe(24 * 3600 * 1000);

    const leaf = join(dir, `${name}.pem`);
    const intermediate = join(dir, `${name}-int.pem`);
    const root = join(dir, `${name}-root.pem`);
    await writeFile(leaf, res.json.certificate);
    await writeFile(intermediate, res.json.chain[0]);
    await writeFile(root, res.json.chain[1]);
    const verified = await execFileAsync('openssl', ['verify', '-CAfile', root, '-untrusted', intermediate, leaf]);
    expect(verified.stdout).toContain(': OK');

    const bundle = join(dir, `${name}-bundle.pem`);
    await writeFile(bundle, `${res.json.certificate.trim()}\n${res.json.chain[0].trim()}\n`);
    const gnutls = await execFileAsync('certtool', ['--verify', '--load-ca-certificate', root, '--infile', bundle]);
    expect(gnutls.stdout).toMatch(/Chain verification output: Verified/);

    const text = (await execFileAsync('openssl', ['x509', '-in', leaf, '-noout', '-text'])).stdout;
    expect(text).toContain(`DNS:${name}.local.test`);
    expect(text).toContain(`URI:spiffe://local.test/ns/e2e/sa/${name}`);
    expect(text).toContain('TLS Web Server Authentication');
    expect(text).toMatch(/CA:FALSE/);

    const record = await api('GET', `/v1/certificates/${res.json.serialNumber}`);
    expect(record.status).toBe(200);
    expect(record.json.certificatePem).toBe(res.json.certificate);
    const identity = await api('GET', `/v1/identities/${res.json.identityId}`);
    expect(identity.status).toBe(200);
    expect(identity.json).toMatchObject({
      status: 'active',
      owner: 'platform-team',
      policy: 'local-dev',
      tags: { owner: 'platform-team', purpose: 'local development' },
      currentSerialNumber: res.json.serialNumber,
    });
  });

  it('issues client certificates with clientAuth', async () => {
    const csr = await makeCsr('client1', 'ec-p256');
    const res = await api('POST', '/v1/certificates', { body: { csr, extendedKeyUsages: ['clientAuth'] } });
    expect(res.status, res.text).toBe(201);
    const leaf = join(dir, 'client1.pem');
    await writeFile(leaf, res.json.certificate);
    const text = (await execFileAsync('openssl', ['x509', '-in', leaf, '-noout', '-text'])).stdout;
    expect(text).toContain('TLS Web Client Authentication');
    expect(text).not.toContain('TLS Web Server Authentication');
  });

  it('lists identities with filters and an opaque cursor', async () => {
    const first = await api('GET', '/v1/identities?limit=2&type=x509-certificate&status=active');
    expect(first.status).toBe(200);
    expect(first.json.items).toHaveLength(2);
    expect(typeof first.json.nextCursor).toBe('string');
    const second = await api(
      'GET',
      `/v1/identities?limit=2&type=x509-certificate&status=active&cursor=${encodeURIComponent(first.json.nextCursor)}`,
    );
    expect(second.status).toBe(200);
    const ids = new Set([...first.json.items, ...second.json.items].map((i: { identityId: string }) => i.identityId));
    expect(ids.size).toBe(first.json.items.length + second.json.items.length);
    const byOwner = await api('GET', '/v1/identities?owner=somebody-else');
    expect(byOwner.json.items).toEqual([]);
    const badCursor = await api('GET', '/v1/identities?cursor=not-a-cursor');
    expect(badCursor.status).toBe(400);
    expect(badCursor.json.error.code).toBe('INVALID_CURSOR');
  });

  it('revokes idempotently: a second revoke with another reason changes nothing and says so', async () => {
    const csr = await makeCsr('revoke-me', 'ec-p256');
    const issued = await api('POST', '/v1/certificates', { body: { csr } });
    expect(issued.status).toBe(201);
    const serial = issued.json.serialNumber as string;
    const first = await api('POST', `/v1/certificates/${serial}/revoke`, { body: { reason: 'keyCompromise' } });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ changed: true, status: 'revoked', revocationReason: 'keyCompromise' });
    const second = await api('POST', `/v1/certificates/${serial.toUpperCase()}/revoke`, {
      body: { reason: 'superseded' },
    });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({
      changed: false,
      revocationReason: 'keyCompromise',
      revokedAt: first.json.revokedAt,
    });
    expect(second.json.message).toContain('nothing changed');
    const record = await api('GET', `/v1/certificates/${serial}`);
    expect(record.json).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const identity = await api('GET', `/v1/identities/${issued.json.identityId}`);
    expect(identity.json.status).toBe('revoked');
    const missing = await api('POST', '/v1/certificates/0badc0de/revoke', { body: { reason: 'superseded' } });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('CERTIFICATE_NOT_FOUND');
  });

  it('applies a policy created through the API at once, and stops applying it once deleted', async () => {
    const workload = `Bearer ${(await readFile(join(dataDir, 'tokens', 'orders-api'), 'utf8')).trim()}`;
    const { csrPem } = await opensslCsr(dir, 'ec-p256', {
      addext: ['subjectAltName=DNS:orders.extra.example.internal'],
    });
    const issue = () => api('POST', '/v1/certificates', { body: { csr: csrPem }, auth: workload });
    expect((await issue()).status).toBe(403);

    const document = {
      name: 'extra',
      principals: ['local:orders-api'],
      allow: { dnsSuffixes: ['extra.example.internal'] },
    };
    const blind = await api('PUT', '/v1/policies/extra', { body: document });
    expect(blind.status).toBe(428);
    const created = await api('PUT', '/v1/policies/extra', { body: document, headers: { 'if-none-match': '*' } });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    const issued = await issue();
    expect(issued.status, issued.text).toBe(201);
    expect(issued.json.policy).toBe('extra');

    const stale = await api('DELETE', '/v1/policies/extra', { headers: { 'if-match': '"7"' } });
    expect(stale.status).toBe(409);
    expect(stale.json.error).toMatchObject({ code: 'POLICY_VERSION_MISMATCH', details: { currentVersion: 1 } });
    expect((await api('DELETE', '/v1/policies/extra', { headers: { 'if-match': '"1"' } })).status).toBe(200);
    expect((await issue()).status).toBe(403);
  });

  it('refuses *.example.internal, which covers the globally denied corp.example.internal, at issuance and for tokens', async () => {
    // The shipped configuration denies the zone corp.example.internal; a wildcard one label above it would match
    // corp.example.internal itself (`openssl verify -verify_hostname corp.example.internal` accepts it).
    const document = {
      name: 'wildcards',
      principals: ['local:admin'],
      allow: { dnsSuffixes: ['example.internal'] },
      allowWildcardCertificates: true,
    };
    const created = await api('PUT', '/v1/policies/wildcards', { body: document, headers: { 'if-none-match': '*' } });
    expect(created.status, created.text).toBe(201);
    try {
      const before = await identityCount();
      const { csrPem } = await opensslCsr(dir, 'ec-p256', { addext: ['subjectAltName=DNS:*.example.internal'] });
      const issued = await api('POST', '/v1/certificates', { body: { csr: csrPem, policy: 'wildcards' } });
      expect(issued.status, issued.text).toBe(403);
      expect(issued.json.error).toMatchObject({ code: 'NAME_DENIED', details: { name: '*.example.internal' } });
      const tokenFor = (value: string) =>
        api('POST', '/v1/enrollment-tokens', { body: { policy: 'wildcards', names: [{ type: 'dns', value }] } });
      const refusedToken = await tokenFor('*.example.internal');
      expect(refusedToken.status, refusedToken.text).toBe(403);
      expect(refusedToken.json.error).toMatchObject({ code: 'NAME_DENIED', details: { name: '*.example.internal' } });
      expect(refusedToken.text).not.toContain('mimet_');
      expect(await identityCount()).toBe(before);

      // A wildcard that covers no denied name is issued, and verifies for a name one label below it.
      const web = await opensslCsr(dir, 'ec-p256', { addext: ['subjectAltName=DNS:*.web.example.internal'] });
      const res = await api('POST', '/v1/certificates', { body: { csr: web.csrPem, policy: 'wildcards' } });
      expect(res.status, res.text).toBe(201);
      const leaf = join(dir, 'wildcard-web.pem');
      const intermediate = join(dir, 'wildcard-web-int.pem');
      const root = join(dir, 'wildcard-web-root.pem');
      await writeFile(leaf, res.json.certificate);
      await writeFile(intermediate, res.json.chain[0]);
      await writeFile(root, res.json.chain[1]);
      const verify = (hostname: string) =>
        execFileAsync('openssl', [
          'verify',
          '-verify_hostname',
          hostname,
          '-CAfile',
          root,
          '-untrusted',
          intermediate,
          leaf,
        ]);
      expect((await verify('a.web.example.internal')).stdout).toContain(': OK');
      await expect(verify('corp.example.internal')).rejects.toThrow();
      expect((await tokenFor('*.web.example.internal')).status).toBe(201);
    } finally {
      const deleted = await api('DELETE', '/v1/policies/wildcards', { headers: { 'if-match': '"1"' } });
      expect(deleted.status, deleted.text).toBe(200);
    }
  });

  it("serves the day's audit log to admins and auditors only, oldest first", async () => {
    const day = new Date().toISOString().slice(0, 10);
    const auditor = (await readFile(join(dataDir, 'tokens', 'auditor'), 'utf8')).trim();
    const workload = (await readFile(join(dataDir, 'tokens', 'payments-api'), 'utf8')).trim();
    const res = await api('GET', `/v1/audit?day=${day}&limit=100`, { auth: `Bearer ${auditor}` });
    expect(res.status, res.text).toBe(200);
    const actions = res.json.items.map((e: { action: string }) => e.action);
    expect(actions).toContain('PolicyCreated');
    expect(actions).toContain('CertificateIssued');
    const times = res.json.items.map((e: { at: string }) => e.at);
    expect(times).toEqual([...times].sort());
    expect(res.text).not.toContain('BEGIN');
    const refused = await api('GET', `/v1/audit?day=${day}`, { auth: `Bearer ${workload}` });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('FORBIDDEN');
    expect((await api('GET', '/v1/audit?day=yesterday')).json.error.code).toBe('VALIDATION_FAILED');
  });

  it('publishes every committed change once, as a catalog event derived from its audit entry', async () => {
    const csr = await makeCsr('evented', 'ec-p256');
    const issued = await api('POST', '/v1/certificates', { body: { csr } });
    expect(issued.status, issued.text).toBe(201);
    const serial: string = issued.json.serialNumber;
    const revoked = await api('POST', `/v1/certificates/${serial}/revoke`, { body: { reason: 'superseded' } });
    expect(revoked.status, revoked.text).toBe(200);
    // Published from the table's stream, after the request returned: wait for the lines, bounded.
    const lines = () =>
      plane
        .output()
        .split('\n')
        .filter((l) => l.startsWith('mim: event '));
    for (let i = 0; i < 100 && !lines().some((l) => l.startsWith(`mim: event CertificateRevoked ${serial}`)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(plane.output()).not.toContain('warning: event pump');
    expect(lines()).toContainEqual(expect.stringMatching(new RegExp(`^mim: event CertificateIssued ${serial} `)));
    expect(lines()).toContainEqual(expect.stringMatching(new RegExp(`^mim: event CertificateRevoked ${serial} `)));

    // Every audit entry so far has become exactly one event, with the entry's id as the event id.
    const day = new Date().toISOString().slice(0, 10);
    const audit = await api('GET', `/v1/audit?day=${day}&limit=100`);
    expect(audit.status, audit.text).toBe(200);
    const eventIds = lines().map((l) => /\(event ([0-9a-f-]+), by /.exec(l)?.[1]);
    for (const entry of audit.json.items as { eventId: string }[]) {
      expect(
        eventIds.filter((id) => id === entry.eventId),
        entry.eventId,
      ).toHaveLength(1);
    }
    expect(await stat(join(dataDir, 'stream-checkpoints.json')).then((s) => (s.mode & 0o777).toString(8))).toBe('600');
  });

  it('starts a discovery run; without AWS credentials every source is skipped with the reason, and the run completes', async () => {
    const started = await api('POST', '/v1/discovery/runs', { body: {} });
    expect(started.status, started.text).toBe(202);
    expect(started.headers.get('location')).toBe(`/v1/discovery/runs/${started.json.runId}`);
    expect(started.json.parts.map((p: { source: string }) => p.source).sort()).toEqual([
      'aws-acm',
      'aws-iam',
      'aws-kms',
      'aws-secrets-manager',
    ]);
    const run = await api('GET', `/v1/discovery/runs/${started.json.runId}`);
    expect(run.status, run.text).toBe(200);
    expect(run.json.status).toBe('completed');
    for (const part of run.json.parts) {
      expect(part.status).toBe('skipped');
      expect(part.reason).toContain('credentials');
    }
    const listed = await api('GET', '/v1/discovery/runs?limit=5');
    expect(listed.json.items[0].runId).toBe(started.json.runId);

    const auditor = (await readFile(join(dataDir, 'tokens', 'auditor'), 'utf8')).trim();
    expect((await api('GET', '/v1/discovery/runs', { auth: `Bearer ${auditor}` })).status).toBe(200);
    const refused = await api('POST', '/v1/discovery/runs', { body: {}, auth: `Bearer ${auditor}` });
    expect(refused.json.error.code).toBe('FORBIDDEN');
    const unknownSource = await api('POST', '/v1/discovery/runs', { body: { sources: ['aws-s3'] } });
    expect([unknownSource.status, unknownSource.json.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const unknownRun = await api('GET', '/v1/discovery/runs/20261129T000000Z-nope');
    expect([unknownRun.status, unknownRun.json.error.code]).toEqual([404, 'RUN_NOT_FOUND']);
    const badId = await api('GET', '/v1/discovery/runs/..%2F..');
    expect(badId.status).toBe(400);
    expect((await api('GET', '/v1/discovery/runs?limit=0')).status).toBe(400);
    const unknownIdentity = await api('GET', `/v1/identities/d-${'A'.repeat(32)}`);
    expect([unknownIdentity.status, unknownIdentity.json.error.code]).toEqual([404, 'IDENTITY_NOT_FOUND']);
    expect((await api('GET', '/v1/identities/d-short')).status).toBe(400);
  });

  it('refuses bad input with a clear 4xx, writes nothing, and keeps serving', async () => {
    const good = await makeCsr('good', 'ec-p256');
    const weak = await makeCsr('weak', 'rsa1024');
    const ca = await makeCsr('wants-ca', 'ec-p256', ['basicConstraints=critical,CA:TRUE']);
    const { csrPem: outside } = await opensslCsr(dir, 'ec-p256', { subject: '/CN=www.example.com' });
    // Flip one character inside the base64 body near the end (the signature) so the proof of possession fails.
    const lines = good.trim().split('\n');
    const sigLine = lines.length - 3;
    const line = lines[sigLine] ?? '';
    lines[sigLine] = `${line.slice(0, 10)}${line[10] === 'A' ? 'B' : 'A'}${line.slice(11)}`;
    const tampered = `${lines.join('\n')}\n`;

    const before = await identityCount();
    const cases: Array<{ name: string; status: number; code: string; send: () => ReturnType<typeof api> }> = [
      {
        name: 'garbage',
        status: 400,
        code: 'CSR_MALFORMED',
        send: () => api('POST', '/v1/certificates', { body: { csr: 'hello' } }),
      },
      {
        name: 'truncated',
        status: 400,
        code: 'CSR_MALFORMED',
        send: () => api('POST', '/v1/certificates', { body: { csr: good.slice(0, 200) } }),
      },
      {
        name: 'bad signature',
        status: 400,
        code: 'CSR_SIGNATURE_INVALID',
        send: () => api('POST', '/v1/certificates', { body: { csr: tampered } }),
      },
      {
        name: 'CA request',
        status: 400,
        code: 'CSR_REQUESTS_CA',
        send: () => api('POST', '/v1/certificates', { body: { csr: ca } }),
      },
      {
        name: 'weak key',
        status: 400,
        code: 'KEY_TOO_WEAK',
        send: () => api('POST', '/v1/certificates', { body: { csr: weak } }),
      },
      {
        name: 'outside names',
        status: 403,
        code: 'NAME_NOT_ALLOWED',
        send: () => api('POST', '/v1/certificates', { body: { csr: outside } }),
      },
      {
        name: 'too long',
        status: 403,
        code: 'VALIDITY_TOO_LONG',
        send: () => api('POST', '/v1/certificates', { body: { csr: good, policy: 'local-dev', validity: '91d' } }),
      },
      {
        name: 'bad validity',
        status: 400,
        code: 'VALIDITY_INVALID',
        send: () => api('POST', '/v1/certificates', { body: { csr: good, validity: '-1h' } }),
      },
      {
        // Answered as a policy the caller may not use: whether a policy exists is not the caller's to learn.
        name: 'unknown policy',
        status: 403,
        code: 'POLICY_NOT_PERMITTED',
        send: () => api('POST', '/v1/certificates', { body: { csr: good, policy: 'ca' } }),
      },
      {
        name: 'unknown field',
        status: 400,
        code: 'VALIDATION_FAILED',
        send: () => api('POST', '/v1/certificates', { body: { csr: good, isCa: true } }),
      },
      {
        name: 'not JSON',
        status: 400,
        code: 'BODY_NOT_JSON',
        send: () => api('POST', '/v1/certificates', { raw: '{"csr":' }),
      },
      {
        name: 'too large',
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        send: () => api('POST', '/v1/certificates', { body: { csr: 'A'.repeat(70_000) } }),
      },
      {
        name: 'wrong type',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        send: () => api('POST', '/v1/certificates', { raw: good, contentType: 'application/pkcs10' }),
      },
      {
        name: 'no auth',
        status: 401,
        code: 'UNAUTHENTICATED',
        send: () => api('POST', '/v1/certificates', { body: { csr: good }, auth: null }),
      },
      {
        name: 'bad token',
        status: 401,
        code: 'INVALID_TOKEN',
        send: () => api('POST', '/v1/certificates', { body: { csr: good }, auth: 'Bearer nope' }),
      },
      { name: 'unknown route', status: 404, code: 'ROUTE_NOT_FOUND', send: () => api('GET', '/v1/nothing-here') },
      { name: 'wrong method', status: 405, code: 'METHOD_NOT_ALLOWED', send: () => api('DELETE', '/v1/certificates') },
      {
        name: 'bad serial',
        status: 400,
        code: 'VALIDATION_FAILED',
        send: () => api('GET', '/v1/certificates/not-hex'),
      },
      {
        name: 'bad reason',
        status: 400,
        code: 'VALIDATION_FAILED',
        send: () => api('POST', '/v1/certificates/0a/revoke', { body: { reason: 'bored' } }),
      },
    ];
    for (const c of cases) {
      const res = await c.send();
      expect(res.status, `${c.name}: ${res.text}`).toBe(c.status);
      expect(res.json?.error?.code, c.name).toBe(c.code);
      expect(typeof res.json.error.message, c.name).toBe('string');
      expect(res.json.error.requestId, c.name).toBeTruthy();
      expect(res.text, c.name).not.toContain('BEGIN CERTIFICATE REQUEST');
      expect(res.text, c.name).not.toMatch(/\bat .+\.ts:\d+/);
      expect((await api('GET', '/v1/health', { auth: null })).status, `alive after ${c.name}`).toBe(200);
    }
    expect(await identityCount()).toBe(before);
    const wrongMethod = await api('DELETE', '/v1/certificates');
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('stops on Ctrl-C and reuses the CA, the inventory and the seal key on the next start', async () => {
    const chainBefore = (await api('GET', '/v1/ca', { auth: null })).text;
    const countBefore = await identityCount();
    const createToken = () =>
      api('POST', '/v1/enrollment-tokens', {
        body: { policy: 'devices', names: [{ type: 'dns', value: 'door-restart.devices.example.internal' }] },
        headers: { 'idempotency-key': 'z' },
      });
    const created = await createToken();
    expect(created.status, created.text).toBe(201);
    // Ctrl-C in a terminal sends SIGINT to the whole foreground process group: npm, tsx, node and java.
    await plane.stop('SIGINT');
    for (let i = 0; i < 150 && !plane.output().includes('mim: stopped'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(plane.output()).toContain('mim: stopped');
    // DynamoDB Local (a Java child started with the data directory in its arguments) is gone too.
    const left = await execFileAsync('pgrep', ['-f', join(dataDir, 'dynamodb')]).catch(() => ({ stdout: '' }));
    expect(left.stdout.trim()).toBe('');
    plane = await start({ MIM_DISCOVERY_SCHEDULE: 'rate(5 minutes)' });
    expect((await api('GET', '/v1/ca', { auth: null })).text).toBe(chainBefore);
    expect(await identityCount()).toBe(countBefore);
    expect(plane.output()).toContain('local CA reused');
    expect(plane.output()).toContain('discovery: a run starts on the schedule rate(5 minutes)');
    // The stored answer was sealed with seal.key as well as the Idempotency-Key: it opens only with the same key file.
    const replayed = await createToken();
    expect(replayed.status, replayed.text).toBe(201);
    expect(replayed.json.token).toBe(created.json.token);
  }, 120_000);
});
