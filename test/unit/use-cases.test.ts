import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBootstrapCaHandler } from '#functions/bootstrap-ca/handler.ts';
import { SoftwareSigner } from '#lib/adapters/software-signer.ts';
import { DEFAULT_PROFILES } from '#lib/domain/certificate-profile.ts';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import { DEFAULT_LOCAL_NAME_POLICY } from '#lib/domain/name-policy.ts';
import type { Principal } from '#lib/domain/principal.ts';
import type { RevocationWrite } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import { bootstrapCa } from '#lib/use-cases/bootstrap-ca.ts';
import { issueCertificate } from '#lib/use-cases/issue-certificate.ts';
import { getCertificate, getIdentity } from '#lib/use-cases/read-inventory.ts';
import { revokeCertificate } from '#lib/use-cases/revoke-certificate.ts';
import { InMemoryInventory } from '../support/in-memory-inventory.ts';
import { createTestCa, opensslCsr, type TestCa, tempDir } from '../support/pki-fixtures.ts';

/** Use cases with in-memory ports and a fixed clock. */

const now = new Date('2026-11-23T12:00:00.000Z');
const clock: Clock = { now: () => now };
const alice: Principal = { kind: 'local-token', id: 'alice' };
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
    profiles: DEFAULT_PROFILES,
    namePolicy: DEFAULT_LOCAL_NAME_POLICY,
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
      issuedBy: 'alice',
      issuedAt: now.toISOString(),
      subject: 'CN=api.local.test',
      subjectAltNames: [{ type: 'dns', value: 'api.local.test' }],
      certificatePem: issued.certificate,
    });
    expect(await getIdentity({ inventory }, issued.identityId)).toMatchObject({
      owner: 'alice',
      name: 'api.local.test',
      currentSerialNumber: issued.serialNumber,
      expiresAt: issued.notAfter,
    });
    expect(inventory.audit).toEqual([
      expect.objectContaining({
        action: 'CertificateIssued',
        actor: 'alice',
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
    expect(await codeOf(getIdentity({ inventory }, '00000000-0000-4000-8000-000000000000'))).toBe('IDENTITY_NOT_FOUND');
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
    expect((await getIdentity({ inventory }, issued.identityId)).status).toBe('revoked');
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
