import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBootstrapCaHandler } from '#functions/bootstrap-ca/handler.ts';
import { SoftwareSigner } from '#lib/adapters/software-signer.ts';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import { policyDocumentSchema } from '#lib/domain/policy.ts';
import type { Principal } from '#lib/domain/principal.ts';
import type { RevocationWrite } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import { bootstrapCa } from '#lib/use-cases/bootstrap-ca.ts';
import { createEnrollmentToken } from '#lib/use-cases/create-enrollment-token.ts';
import { issueCertificate } from '#lib/use-cases/issue-certificate.ts';
import { invalidatingPolicyStore, policySetLoader, putPolicy, seedPolicies } from '#lib/use-cases/manage-policies.ts';
import { getCertificate, getIdentity } from '#lib/use-cases/read-inventory.ts';
import { rescoreIssuedRisk } from '#lib/use-cases/rescore-issued-risk.ts';
import { revokeCertificate } from '#lib/use-cases/revoke-certificate.ts';
import { InMemoryDiscoveredInventory } from '../support/in-memory-discovered-inventory.ts';
import { InMemoryInventory } from '../support/in-memory-inventory.ts';
import { InMemoryPolicyStore } from '../support/in-memory-policy-store.ts';
import { createTestCa, opensslCsr, TEST_POLICIES, type TestCa, tempDir } from '../support/pki-fixtures.ts';

/** No discovery runs on record. */
const NO_RUNS = { lastScopeRead: async () => undefined, locationScans: async () => new Map() };

/** Use cases with in-memory ports and a fixed clock. */

const now = new Date('2026-11-23T12:00:00.000Z');
const clock: Clock = { now: () => now };
const alice: Principal = { kind: 'local-token', id: 'local:alice' };
let ca: TestCa;
let dir: Awaited<ReturnType<typeof tempDir>>;
let csrPem: string;

beforeAll(async () => {
  ca = await createTestCa('EC_P256', { now });
  dir = await tempDir();
  ({ csrPem } = await opensslCsr(dir.path, 'ec-p256', {
    subject: '/CN=api.local.test',
    addext: ['subjectAltName=DNS:api.local.test'],
  }));
});

afterAll(() => dir.remove());

function deps(inventory: InMemoryInventory) {
  return {
    issuer: async () => ca.issuer,
    inventory,
    clock,
    policies: async () => TEST_POLICIES,
    tokens: inventory,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ControlPlaneError) return error.code;
    throw error;
  }
  throw new Error('expected a ControlPlaneError');
}

describe('issueCertificate', () => {
  it('records the certificate, its identity and the audit entry, owned by the requester', async () => {
    const inventory = new InMemoryInventory();
    const issued = await issueCertificate(deps(inventory), alice, { csr: csrPem, validity: '1h' });
    expect(issued.notBefore).toBe('2026-11-23T11:59:00.000Z');
    expect(issued.notAfter).toBe('2026-11-23T12:59:00.000Z');
    expect(issued.chain).toEqual(ca.issuer.chainPem);

    const cert = await getCertificate({ inventory }, issued.serialNumber);
    expect(cert).toMatchObject({
      identityId: issued.identityId,
      status: 'active',
      issuedBy: 'local:alice',
      issuedAt: now.toISOString(),
      subject: 'CN=api.local.test',
      subjectAltNames: [{ type: 'dns', value: 'api.local.test' }],
      certificatePem: issued.certificate,
    });
    expect(
      (
        await getIdentity(
          { inventory, discovered: new InMemoryDiscoveredInventory(), runs: NO_RUNS, clock },
          issued.identityId,
        )
      ).identity,
    ).toMatchObject({
      owner: 'local:alice',
      name: 'api.local.test',
      currentSerialNumber: issued.serialNumber,
      expiresAt: issued.notAfter,
    });
    expect(inventory.audit).toEqual([
      expect.objectContaining({
        action: 'CertificateIssued',
        actor: 'local:alice',
        target: `certificate/${issued.serialNumber}`,
      }),
    ]);
    expect(JSON.stringify(inventory.audit)).not.toContain('BEGIN');
  });

  it('writes nothing when the core refuses the request', async () => {
    const inventory = new InMemoryInventory();
    expect(await codeOf(issueCertificate(deps(inventory), alice, { csr: csrPem, validity: '100d' }))).toBe(
      'VALIDITY_TOO_LONG',
    );
    expect(await codeOf(issueCertificate(deps(inventory), alice, { csr: 'junk' }))).toBe('CSR_MALFORMED');
    expect(inventory.certificates.size + inventory.identities.size + inventory.audit.length).toBe(0);
  });

  it('answers 404 codes for unknown serials and identities', async () => {
    const inventory = new InMemoryInventory();
    expect(await codeOf(getCertificate({ inventory }, 'abcd'))).toBe('CERTIFICATE_NOT_FOUND');
    expect(
      await codeOf(
        getIdentity(
          { inventory, discovered: new InMemoryDiscoveredInventory(), runs: NO_RUNS, clock },
          '00000000-0000-4000-8000-000000000000',
        ),
      ),
    ).toBe('IDENTITY_NOT_FOUND');
  });
});

describe('revokeCertificate', () => {
  it('revokes once; a repeat with another reason changes nothing and says so', async () => {
    const inventory = new InMemoryInventory();
    const issued = await issueCertificate(deps(inventory), alice, { csr: csrPem });
    const first = await revokeCertificate({ inventory, clock }, alice, {
      serialNumber: issued.serialNumber,
      reason: 'keyCompromise',
    });
    expect(first).toMatchObject({ changed: true, revocationReason: 'keyCompromise', revokedAt: now.toISOString() });
    const again = await revokeCertificate({ inventory, clock }, alice, {
      serialNumber: issued.serialNumber,
      reason: 'superseded',
    });
    expect(again).toMatchObject({ changed: false, revocationReason: 'keyCompromise' });
    expect(again.message).toContain('"superseded" was not applied');
    expect(inventory.audit.filter((a) => a.action === 'CertificateRevoked')).toHaveLength(1);
    expect(
      (
        await getIdentity(
          { inventory, discovered: new InMemoryDiscoveredInventory(), runs: NO_RUNS, clock },
          issued.identityId,
        )
      ).identity.status,
    ).toBe('revoked');
  });

  it('reports a concurrent revocation that won the race as already revoked', async () => {
    const inventory = new (class extends InMemoryInventory {
      override async recordRevocation(write: RevocationWrite): Promise<boolean> {
        await super.recordRevocation({ ...write, reason: 'cessationOfOperation' });
        return false;
      }
    })();
    const issued = await issueCertificate(deps(inventory), alice, { csr: csrPem });
    const lost = await revokeCertificate({ inventory, clock }, alice, {
      serialNumber: issued.serialNumber,
      reason: 'superseded',
    });
    expect(lost).toMatchObject({ changed: false, revocationReason: 'cessationOfOperation' });
  });

  it('refuses unknown serials', async () => {
    const inventory = new InMemoryInventory();
    expect(
      await codeOf(revokeCertificate({ inventory, clock }, alice, { serialNumber: 'ab', reason: 'unspecified' })),
    ).toBe('CERTIFICATE_NOT_FOUND');
  });
});

describe('bootstrapCa and its custom resource handler', () => {
  const options = {
    caId: 'default',
    rootCommonName: 'Root',
    issuingCommonName: 'Issuing',
    rootValidityDays: 3650,
    issuingValidityDays: 1825,
  };

  it('creates the chain once and keeps it afterwards', async () => {
    const store = new InMemoryInventory();
    const signers = {
      rootSigner: SoftwareSigner.generate('EC_P256'),
      issuingSigner: SoftwareSigner.generate('EC_P256'),
    };
    const first = await bootstrapCa({ ...signers, chainStore: store, clock }, options);
    expect(first.created).toBe(true);
    expect(first.chainPem).toHaveLength(2);
    const second = await bootstrapCa({ ...signers, chainStore: store, clock }, options);
    expect(second.chainPem).toEqual(first.chainPem);
    expect(second.created).toBe(false);
    expect(second.issuer.chainPem).toEqual(first.chainPem);
  });

  it('refuses to adopt a chain made for another issuing key', async () => {
    const store = new InMemoryInventory();
    await bootstrapCa(
      {
        rootSigner: SoftwareSigner.generate('EC_P256'),
        issuingSigner: SoftwareSigner.generate('EC_P256'),
        chainStore: store,
        clock,
      },
      options,
    );
    const other = { rootSigner: SoftwareSigner.generate('EC_P256'), issuingSigner: SoftwareSigner.generate('EC_P256') };
    expect(await codeOf(bootstrapCa({ ...other, chainStore: store, clock }, options))).toBe('CA_KEY_MISMATCH');
  });

  it('handles Create, Update and Delete events and refuses malformed properties', async () => {
    const store = new InMemoryInventory();
    const root = SoftwareSigner.generate('EC_P256');
    const issuing = SoftwareSigner.generate('EC_P256');
    const handler = makeBootstrapCaHandler({
      rootSigner: async () => root,
      issuingSigner: async () => issuing,
      chainStore: store,
      clock,
      logger: new Logger({ logLevel: 'SILENT' }),
      policyStore: new InMemoryPolicyStore(),
      config: { policies: [] },
    });
    const props = {
      CaId: 'team-a',
      RootCommonName: 'R',
      IssuingCommonName: 'I',
      RootValidityDays: '3650',
      IssuingValidityDays: '365',
    };
    expect(await handler({ RequestType: 'Create', ResourceProperties: props })).toEqual({
      PhysicalResourceId: 'ca-team-a',
      Data: { CaId: 'team-a', Created: 'true' },
    });
    expect(store.chains.get('team-a')).toHaveLength(2);
    expect((await handler({ RequestType: 'Update', ResourceProperties: props })).Data?.Created).toBe('false');
    expect(
      await handler({ RequestType: 'Delete', PhysicalResourceId: 'ca-team-a', ResourceProperties: props }),
    ).toEqual({
      PhysicalResourceId: 'ca-team-a',
    });
    expect(store.chains.get('team-a')).toHaveLength(2);
    await expect(
      handler({ RequestType: 'Create', ResourceProperties: { ...props, RootValidityDays: 'ten' } }),
    ).rejects.toThrow();
  });
});

describe('policies and enrollment tokens', () => {
  const policy = (name: string, extra: Record<string, unknown> = {}) =>
    policyDocumentSchema.parse({ name, principals: ['local:*'], allow: { dnsSuffixes: ['local.test'] }, ...extra });
  const admin: Principal = { kind: 'local-token', id: 'local:admin' };

  it('seeds the configuration: creates, replaces what differs or was edited through the API, deletes what it made', async () => {
    const store = new InMemoryPolicyStore();
    const deps = { policyStore: store, clock };
    expect(await seedPolicies(deps, { policies: [policy('a'), policy('b')] })).toEqual({
      created: ['a', 'b'],
      updated: [],
      deleted: [],
      unchanged: [],
    });
    expect(await seedPolicies(deps, { policies: [policy('a'), policy('b')] })).toMatchObject({ unchanged: ['a', 'b'] });
    await putPolicy(deps, admin, {
      name: 'b',
      document: policy('b', { validity: { default: '1h', max: '1d' } }),
      expectedVersion: 1,
    });
    await putPolicy(deps, admin, { name: 'api-made', document: policy('api-made'), expectedVersion: 0 });
    const report = await seedPolicies(deps, { policies: [policy('b')] });
    expect(report).toEqual({ created: [], updated: ['b'], deleted: ['a'], unchanged: [] });
    expect((await store.getPolicy('b'))?.document.validity).toEqual({ default: '24h', max: '30d' });
    expect(await store.getPolicy('api-made')).toBeDefined();
    expect(store.audit.map((a) => [a.action, a.actor, a.target])).toEqual([
      ['PolicyCreated', 'config', 'policy/a'],
      ['PolicyCreated', 'config', 'policy/b'],
      ['PolicyUpdated', 'local:admin', 'policy/b'],
      ['PolicyCreated', 'local:admin', 'policy/api-made'],
      ['PolicyUpdated', 'config', 'policy/b'],
      ['PolicyDeleted', 'config', 'policy/a'],
    ]);
  });

  it('refuses a body that names another policy than the path', async () => {
    const deps = { policyStore: new InMemoryPolicyStore(), clock };
    expect(await codeOf(putPolicy(deps, admin, { name: 'x', document: policy('y'), expectedVersion: 0 }))).toBe(
      'POLICY_NAME_MISMATCH',
    );
  });

  it('reuses the compiled policy set for maxAgeMs, then reloads', async () => {
    const store = new InMemoryPolicyStore();
    let t = 0;
    const load = policySetLoader({ policyStore: store, clock: { now: () => new Date(t) }, maxAgeMs: 1000 });
    await Promise.all([load(), load()]);
    t = 999;
    await load();
    expect(store.listCalls).toBe(1);
    t = 1000;
    await load();
    expect(store.listCalls).toBe(2);
    // A write through the invalidating store makes the next load read the store again, whatever its age.
    await invalidatingPolicyStore(store, load).putPolicy({
      document: policy('new'),
      expectedVersion: 0,
      source: 'api',
      at: now.toISOString(),
      by: 'local:admin',
      audit: {
        eventId: 'e',
        at: now.toISOString(),
        action: 'PolicyCreated',
        actor: 'local:admin',
        target: 'policy/new',
        details: {},
      },
    });
    expect((await load()).names).toEqual(['new']);
    expect(store.listCalls).toBe(3);
  });

  it('an enrollment token pays for exactly one certificate of its names, then is spent', async () => {
    const inventory = new InMemoryInventory();
    const tokenDeps = {
      tokens: inventory,
      policies: async () => TEST_POLICIES,
      clock,
      defaultTtl: '1h',
      maxTtl: '24h',
    };
    const created = await createEnrollmentToken(tokenDeps, admin, {
      policy: 'client',
      names: [{ type: 'dns', value: 'API.local.test' }],
    });
    expect(created.token).toMatch(/^mimet_[A-Za-z0-9_-]{43}$/);
    expect(created.names).toEqual([{ type: 'dns', value: 'api.local.test' }]);
    expect(created.expiresAt).toBe('2026-11-23T13:00:00.000Z');
    const stored = [...inventory.tokens.values()][0];
    expect(JSON.stringify(stored)).not.toContain(created.token);
    expect(stored?.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'));

    const device: Principal = {
      kind: 'enrollment-token',
      id: `enrollment:${created.tokenId}`,
      tokenHash: stored?.tokenHash ?? '',
    };
    const issued = await issueCertificate(deps(inventory), device, { csr: csrPem });
    expect(issued.policy).toBe('client');
    expect(inventory.tokens.get(device.tokenHash)?.spentBySerial).toBe(issued.serialNumber);
    expect(await codeOf(issueCertificate(deps(inventory), device, { csr: csrPem }))).toBe('TOKEN_SPENT');
    expect(inventory.certificates.size).toBe(1);
  });

  it('refuses expired tokens, names outside the binding, unknown tokens and ttl above the maximum', async () => {
    const inventory = new InMemoryInventory();
    const tokenDeps = {
      tokens: inventory,
      policies: async () => TEST_POLICIES,
      clock,
      defaultTtl: '1h',
      maxTtl: '24h',
    };
    expect(
      await codeOf(
        createEnrollmentToken(tokenDeps, admin, {
          policy: 'client',
          names: [{ type: 'dns', value: 'a.local.test' }],
          ttl: '2d',
        }),
      ),
    ).toBe('TTL_TOO_LONG');
    expect(
      await codeOf(
        createEnrollmentToken(tokenDeps, admin, { policy: 'client', names: [{ type: 'dns', value: 'a.example.com' }] }),
      ),
    ).toBe('NAME_NOT_ALLOWED');
    const other = await createEnrollmentToken(tokenDeps, admin, {
      policy: 'client',
      names: [{ type: 'dns', value: 'other.local.test' }],
    });
    const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
    const holder = (token: string): Principal => ({
      kind: 'enrollment-token',
      id: 'enrollment:x',
      tokenHash: hashOf(token),
    });
    expect(await codeOf(issueCertificate(deps(inventory), holder(other.token), { csr: csrPem }))).toBe(
      'NAME_NOT_ALLOWED',
    );
    expect(await codeOf(issueCertificate(deps(inventory), holder('mimet_unknown'), { csr: csrPem }))).toBe(
      'INVALID_TOKEN',
    );
    const later = { ...deps(inventory), clock: { now: () => new Date(now.getTime() + 3_600_000) } };
    const mine = await createEnrollmentToken(tokenDeps, admin, {
      policy: 'client',
      names: [{ type: 'dns', value: 'api.local.test' }],
    });
    expect(await codeOf(issueCertificate(later, holder(mine.token), { csr: csrPem }))).toBe('TOKEN_EXPIRED');
    expect(inventory.certificates.size).toBe(0);
  });
});

describe('reading a discovered identity', () => {
  it('finds it by its d-… id, with its facts, and answers IDENTITY_NOT_FOUND for an unknown one', async () => {
    const discovered = new InMemoryDiscoveredInventory();
    const { afterSeen } = await import('#lib/domain/discovery.ts');
    const seen = afterSeen(
      undefined,
      {
        source: 'aws-kms',
        type: 'kms-key',
        arn: 'arn:aws:kms:eu-west-1:111122223333:key/1',
        name: 'alias/orders',
        account: '111122223333',
        region: 'eu-west-1',
        tags: { team: 'orders' },
        facts: { rotationEnabled: false },
      },
      '2026-11-29T12:00:00.000Z',
    );
    if (!seen) throw new Error('expected a new identity');
    await discovered.write([seen.identity]);
    const inventory = new InMemoryInventory();
    expect(
      (await getIdentity({ inventory, discovered, runs: NO_RUNS, clock }, seen.identity.identityId)).identity,
    ).toMatchObject({
      type: 'kms-key',
      owner: 'orders',
      status: 'active',
      facts: { rotationEnabled: false },
      firstSeenAt: '2026-11-29T12:00:00.000Z',
    });
    // Seen by its scope's latest successful read: last seen then.
    const runs = {
      locationScans: async () => new Map(),
      lastScopeRead: async (scope: { source: string; account: string; region: string }) =>
        scope.source === 'aws-kms' && scope.account === '111122223333' && scope.region === 'eu-west-1'
          ? '2026-11-29T18:10:00.000Z'
          : undefined,
    };
    const detail = await getIdentity({ inventory, discovered, runs, clock }, seen.identity.identityId);
    expect(detail).toMatchObject({ kind: 'discovered', lastSeenAt: '2026-11-29T18:10:00.000Z', certificates: [] });
    const unknown = `d-${'A'.repeat(32)}`;
    await expect(getIdentity({ inventory, discovered, runs: NO_RUNS, clock }, unknown)).rejects.toMatchObject({
      code: 'IDENTITY_NOT_FOUND',
    });
  });
});

describe('rescoreIssuedRisk: the daily sweep', () => {
  it('reassesses the issued identities whose renewal fell due or which expired, once, and nothing else', async () => {
    const inventory = new InMemoryInventory();
    // 24 h certificates: renewal due two thirds in (16 h), expiry at 24 h.
    const due = await issueCertificate(deps(inventory), alice, { csr: csrPem, validity: '24h' });
    const later = await issueCertificate(deps(inventory), alice, { csr: csrPem, validity: '60d' });
    expect(inventory.identities.get(due.identityId)?.risk).toEqual({ score: 0, level: 'none', rules: [] });
    const policyStore = new InMemoryPolicyStore();
    await policyStore.putPolicy({
      document: policyDocumentSchema.parse({
        name: 'server',
        principals: ['local:*'],
        allow: { dnsSuffixes: ['local.test'] },
        validity: { default: '24h', max: '90d' },
      }),
      expectedVersion: 0,
      by: 'test',
      at: now.toISOString(),
      source: 'api',
      audit: {
        eventId: 'e-policy',
        at: now.toISOString(),
        action: 'PolicyCreated',
        actor: 'test',
        target: 'policy/server',
        details: {},
      },
    });
    const at = (hours: number) => ({ now: () => new Date(now.getTime() + hours * 3_600_000) });

    // The 60-day certificate is outside the longest renewal window (90 days / 3): not even read.
    expect(await rescoreIssuedRisk({ inventory, policyStore, clock: at(1) })).toEqual({ read: 1, rescored: 0 });
    expect(await rescoreIssuedRisk({ inventory, policyStore, clock: at(17) })).toEqual({ read: 1, rescored: 1 });
    expect(inventory.identities.get(due.identityId)).toMatchObject({
      version: 2,
      risk: { level: 'medium', rules: ['CERT_RENEWAL_DUE'] },
    });
    expect(await rescoreIssuedRisk({ inventory, policyStore, clock: at(18) })).toEqual({ read: 1, rescored: 0 });
    expect(await rescoreIssuedRisk({ inventory, policyStore, clock: at(25) })).toMatchObject({ rescored: 1 });
    expect(inventory.identities.get(due.identityId)).toMatchObject({
      risk: { level: 'high', rules: ['CERT_EXPIRED'] },
    });
    expect(inventory.identities.get(later.identityId)).toMatchObject({ version: 1, risk: { level: 'none' } });
  });
});
