import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEnrollmentTokens, TOKEN_RETENTION_SECONDS } from '#lib/adapters/dynamodb-enrollment-tokens.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { auditKey, enrollmentTokenKey } from '#lib/adapters/dynamodb-keys.ts';
import { AuthenticationError, ConflictError, ControlPlaneError } from '#lib/domain/errors.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { EnrollmentTokenRecord } from '#lib/ports/enrollment-token-store.ts';
import { countItems, type FreshTable, freshTable } from '../support/dynamodb.ts';

const CREATED_AT = '2030-01-01T12:00:00.000Z';
const EXPIRES_AT = '2030-01-01T13:00:00.000Z';
const ADMIN = 'arn:aws:iam::123456789012:role/admin';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYWJj\n-----END CERTIFICATE-----\n';

function token(options: { expiresAt?: string; owner?: string } = {}): EnrollmentTokenRecord {
  const tokenHash = createHash('sha256').update(randomBytes(32)).digest('hex');
  return {
    tokenHash,
    tokenId: tokenHash.slice(0, 16),
    policy: 'devices',
    names: ['dns:door-7.devices.local.test'],
    ...(options.owner === undefined ? {} : { owner: options.owner }),
    createdAt: CREATED_AT,
    createdBy: ADMIN,
    expiresAt: options.expiresAt ?? EXPIRES_AT,
  };
}

function tokenAudit(record: EnrollmentTokenRecord): AuditRecord {
  return {
    eventId: randomUUID(),
    at: record.createdAt,
    action: 'EnrollmentTokenCreated',
    actor: ADMIN,
    target: record.tokenId,
    details: { policy: record.policy, names: record.names.length },
  };
}

/** A complete issuance with fresh serial, identity and audit ids. */
function issuance(at: string): { certificate: CertificateRecord; identity: IdentityRecord; audit: AuditRecord } {
  const serialNumber = randomBytes(16).toString('hex');
  const identityId = randomUUID();
  const notAfter = '2030-01-02T12:00:00.000Z';
  return {
    certificate: {
      serialNumber,
      identityId,
      policy: 'devices',
      subject: 'CN=door-7.devices.local.test',
      subjectAltNames: [{ type: 'dns', value: 'door-7.devices.local.test' }],
      keyAlgorithm: 'EC_P256',
      keySize: 256,
      notBefore: at,
      notAfter,
      renewAfter: '2030-01-02T04:00:00.000Z',
      fingerprintSha256: createHash('sha256').update(serialNumber).digest('hex'),
      issuedAt: at,
      issuedBy: 'enrollment-token',
      status: 'active',
      certificatePem: PEM,
      tags: { owner: 'facilities' },
    },
    identity: {
      identityId,
      type: 'x509-certificate',
      status: 'active',
      version: 1,
      owner: 'facilities',
      policy: 'devices',
      tags: { owner: 'facilities' },
      name: 'door-7.devices.local.test',
      source: 'issued',
      currentSerialNumber: serialNumber,
      expiresAt: notAfter,
      createdAt: at,
      updatedAt: at,
    },
    audit: {
      eventId: randomUUID(),
      at,
      action: 'CertificateIssued',
      actor: 'enrollment-token',
      target: serialNumber,
      details: { identityId },
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<ControlPlaneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ControlPlaneError)) throw new Error(`expected a ControlPlaneError, got ${String(error)}`);
  return error;
}

describe('DynamoDbEnrollmentTokens and spending a token in recordIssuance', () => {
  let table: FreshTable;
  let tokens: DynamoDbEnrollmentTokens;
  let inventory: DynamoDbInventory;
  const items = () => countItems(table.client, table.tableName);

  beforeAll(async () => {
    table = await freshTable();
    tokens = new DynamoDbEnrollmentTokens(table.doc, table.tableName);
    inventory = new DynamoDbInventory(table.doc, table.tableName);
  });

  async function created(options: { expiresAt?: string; owner?: string } = {}): Promise<EnrollmentTokenRecord> {
    const record = token(options);
    await tokens.createToken(record, tokenAudit(record));
    return record;
  }

  it('stores a token with its audit entry and reads it back; unknown hashes read as undefined', async () => {
    const record = token({ owner: 'facilities' });
    const audit = tokenAudit(record);
    const before = await items();
    await tokens.createToken(record, audit);
    expect(await items()).toBe(before + 2);
    expect(await tokens.getToken(record.tokenHash)).toEqual(record);
    expect(await tokens.getToken('0'.repeat(64))).toBeUndefined();

    const raw = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: enrollmentTokenKey(record.tokenHash) }),
    );
    expect(raw.Item).toMatchObject({ pk: `ETOKEN#${record.tokenHash}`, sk: 'ETOKEN' });
    expect(raw.Item?.ttl).toBe(Date.parse(EXPIRES_AT) / 1000 + TOKEN_RETENTION_SECONDS);

    const audits = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: auditKey(CREATED_AT, audit.eventId) }),
    );
    expect(audits.Item).toMatchObject({ action: 'EnrollmentTokenCreated', target: record.tokenId });
  });

  it('refuses a second token with the same hash and writes nothing', async () => {
    const record = await created();
    const before = await items();
    const error = await rejection(tokens.createToken({ ...record, policy: 'other' }, tokenAudit(record)));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe('ENROLLMENT_TOKEN_EXISTS');
    expect(await items()).toBe(before);
    expect(await tokens.getToken(record.tokenHash)).toEqual(record);
  });

  it('marks the token spent in the issuance transaction, and refuses a second spend with TOKEN_SPENT', async () => {
    const record = await created();
    const first = issuance('2030-01-01T12:30:00.000Z');
    const before = await items();
    await inventory.recordIssuance({ ...first, spendToken: { tokenHash: record.tokenHash, at: first.audit.at } });
    expect(await items()).toBe(before + 3);
    expect(await tokens.getToken(record.tokenHash)).toEqual({
      ...record,
      spentAt: first.audit.at,
      spentBySerial: first.certificate.serialNumber,
    });

    const second = issuance('2030-01-01T12:31:00.000Z');
    const error = await rejection(
      inventory.recordIssuance({ ...second, spendToken: { tokenHash: record.tokenHash, at: second.audit.at } }),
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.code).toBe('TOKEN_SPENT');
    expect(error.status).toBe(401);
    expect(await items()).toBe(before + 3);
    expect(await inventory.getCertificate(second.certificate.serialNumber)).toBeUndefined();
    expect((await tokens.getToken(record.tokenHash))?.spentBySerial).toBe(first.certificate.serialNumber);
  });

  it('refuses an expired token with TOKEN_EXPIRED, at and after its expiry, and writes nothing', async () => {
    const record = await created();
    const before = await items();
    for (const at of [EXPIRES_AT, '2030-01-01T13:00:00.001Z', '2030-02-01T00:00:00Z']) {
      const late = issuance(at);
      const error = await rejection(
        inventory.recordIssuance({ ...late, spendToken: { tokenHash: record.tokenHash, at } }),
      );
      expect(error, at).toBeInstanceOf(AuthenticationError);
      expect(error.code, at).toBe('TOKEN_EXPIRED');
    }
    expect(await items()).toBe(before);
    expect(await tokens.getToken(record.tokenHash)).toEqual(record);
    const inTime = issuance('2030-01-01T12:59:59.999Z');
    await inventory.recordIssuance({ ...inTime, spendToken: { tokenHash: record.tokenHash, at: inTime.audit.at } });
    expect((await tokens.getToken(record.tokenHash))?.spentBySerial).toBe(inTime.certificate.serialNumber);
  });

  it('counts a token that is gone as spent', async () => {
    const gone = issuance('2030-01-01T12:30:00.000Z');
    const before = await items();
    const error = await rejection(
      inventory.recordIssuance({ ...gone, spendToken: { tokenHash: 'a'.repeat(64), at: gone.audit.at } }),
    );
    expect(error.code).toBe('TOKEN_SPENT');
    expect(await items()).toBe(before);
  });

  it('reports a refused token before a serial collision, and a serial collision with a good token', async () => {
    const spent = await created();
    const first = issuance('2030-01-01T12:30:00.000Z');
    await inventory.recordIssuance({ ...first, spendToken: { tokenHash: spent.tokenHash, at: first.audit.at } });
    const fresh = await created();
    const before = await items();
    const clash = issuance('2030-01-01T12:31:00.000Z');
    const sameSerial = {
      ...clash,
      certificate: { ...clash.certificate, serialNumber: first.certificate.serialNumber },
    };
    const withSpent = await rejection(
      inventory.recordIssuance({ ...sameSerial, spendToken: { tokenHash: spent.tokenHash, at: clash.audit.at } }),
    );
    expect(withSpent.code).toBe('TOKEN_SPENT');
    const withFresh = await rejection(
      inventory.recordIssuance({ ...sameSerial, spendToken: { tokenHash: fresh.tokenHash, at: clash.audit.at } }),
    );
    expect(withFresh.code).toBe('SERIAL_NUMBER_EXISTS');
    expect(await items()).toBe(before);
    expect(await tokens.getToken(fresh.tokenHash)).toEqual(fresh);
  });

  it('lets exactly one of several concurrent issuances spend the same token', async () => {
    const record = await created();
    const before = await items();
    const attempts = Array.from({ length: 6 }, () => issuance('2030-01-01T12:45:00.000Z'));
    const outcomes = await Promise.all(
      attempts.map((attempt) =>
        inventory
          .recordIssuance({ ...attempt, spendToken: { tokenHash: record.tokenHash, at: attempt.audit.at } })
          .then(
            () => 'issued',
            (e: unknown) => (e instanceof ControlPlaneError ? e.code : e),
          ),
      ),
    );
    expect(outcomes.filter((o) => o === 'issued')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'issued' && o !== 'TOKEN_SPENT' && o !== 'CONCURRENT_UPDATE')).toEqual([]);
    expect(await items()).toBe(before + 3);
    const winner = attempts[outcomes.indexOf('issued')];
    expect((await tokens.getToken(record.tokenHash))?.spentBySerial).toBe(winner?.certificate.serialNumber);
  });

  it('issues without a token as before', async () => {
    const plain = issuance('2030-01-01T12:30:00.000Z');
    const before = await items();
    await inventory.recordIssuance(plain);
    expect(await items()).toBe(before + 3);
    expect(await inventory.getCertificate(plain.certificate.serialNumber)).toEqual(plain.certificate);
    expect(await inventory.getIdentity(plain.identity.identityId)).toEqual(plain.identity);
    const again = issuance('2030-01-01T12:31:00.000Z');
    const duplicate = { ...again, certificate: { ...again.certificate, serialNumber: plain.certificate.serialNumber } };
    expect((await rejection(inventory.recordIssuance(duplicate))).code).toBe('SERIAL_NUMBER_EXISTS');
    expect(await items()).toBe(before + 3);
  });
});
