import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { auditPartitions, BURST_SHARDS, burstShard, certificateKey, identityKey } from '#lib/adapters/dynamodb-keys.ts';
import { ConflictError, ControlPlaneError, InternalError, ValidationError } from '#lib/domain/errors.ts';
import type { IdentityListFilter as IdentityFilter } from '#lib/domain/identity-catalog.ts';
import type { AuditRecord, CertificateRecord, IdentityRecord } from '#lib/domain/inventory.ts';
import type { ListedIdentity } from '#lib/ports/certificate-inventory.ts';
import { countItems, dynamoDbEndpoint, type FreshTable, freshTable } from '../support/dynamodb.ts';

const ISSUED_AT = '2030-01-01T12:00:00.000Z';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYWJj\n-----END CERTIFICATE-----\n';

interface Issuance {
  certificate: CertificateRecord;
  identity: IdentityRecord;
  audit: AuditRecord;
}

function issuance(options: { owner?: string; notAfter?: string; createdAt?: string } = {}): Issuance {
  const serialNumber = randomBytes(16).toString('hex');
  const identityId = randomUUID();
  const owner = options.owner ?? 'arn:aws:iam::123456789012:role/app';
  const notAfter = options.notAfter ?? '2030-04-01T12:00:00.000Z';
  const createdAt = options.createdAt ?? ISSUED_AT;
  return {
    certificate: {
      serialNumber,
      identityId,
      policy: 'server',
      subject: 'CN=api.local.test',
      subjectAltNames: [
        { type: 'dns', value: 'api.local.test' },
        { type: 'ip', value: '10.0.0.1' },
      ],
      keyAlgorithm: 'EC_P256',
      keySize: 256,
      notBefore: createdAt,
      notAfter,
      renewAfter: notAfter,
      fingerprintSha256: createHash('sha256').update(serialNumber).digest('hex'),
      issuedAt: createdAt,
      issuedBy: owner,
      status: 'active',
      certificatePem: PEM,
      tags: { purpose: 'test' },
    },
    identity: {
      identityId,
      type: 'x509-certificate',
      status: 'active',
      owner,
      policy: 'server',
      tags: { purpose: 'test' },
      name: 'api.local.test',
      source: 'issued',
      currentSerialNumber: serialNumber,
      expiresAt: notAfter,
      createdAt,
      version: 1,
      updatedAt: createdAt,
    },
    audit: {
      eventId: randomUUID(),
      at: createdAt,
      action: 'CertificateIssued',
      actor: owner,
      target: serialNumber,
      details: { identityId, profile: 'server', sans: 1 },
    },
  };
}

function revocation(issued: Issuance, revokedAt = '2030-02-01T08:00:00.000Z') {
  return {
    serialNumber: issued.certificate.serialNumber,
    identityId: issued.identity.identityId,
    reason: 'keyCompromise' as const,
    revokedAt,
    revokedBy: 'local-admin',
    audit: {
      eventId: randomUUID(),
      at: revokedAt,
      action: 'CertificateRevoked' as const,
      actor: 'local-admin',
      target: issued.certificate.serialNumber,
      details: { identityId: issued.identity.identityId, reason: 'keyCompromise' },
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

async function rawItem(table: FreshTable, key: Record<string, string>) {
  return (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: key }))).Item;
}

/** Every audit item of the day, shard by shard. */
async function auditItems(table: FreshTable, day: Date) {
  const items: Record<string, unknown>[] = [];
  for (const partition of auditPartitions(day)) {
    const out = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partition },
      }),
    );
    items.push(...(out.Items ?? []));
  }
  return items;
}

describe('DynamoDbInventory: issuance and revocation', () => {
  let table: FreshTable;
  let inventory: DynamoDbInventory;
  beforeAll(async () => {
    table = await freshTable();
    inventory = new DynamoDbInventory(table.doc, table.tableName);
  });

  it('writes certificate, identity and audit entry in one transaction', async () => {
    const issued = issuance();
    const before = await countItems(table.client, table.tableName);
    await inventory.recordIssuance(issued);
    expect(await countItems(table.client, table.tableName)).toBe(before + 3);
    expect(await inventory.getCertificate(issued.certificate.serialNumber)).toEqual(issued.certificate);
    expect(await inventory.getIdentity(issued.identity.identityId)).toEqual(issued.identity);
    const audit = (await auditItems(table, new Date(ISSUED_AT))).find((i) => i.eventId === issued.audit.eventId);
    expect(audit).toMatchObject({
      ...issued.audit,
      pk: `AUDIT#2030-01-01#${burstShard(issued.audit.eventId)}`,
      sk: `${ISSUED_AT}#${issued.audit.eventId}`,
    });
    expect(await rawItem(table, certificateKey(issued.certificate.serialNumber))).toMatchObject({
      expiryDay: `EXP#2030-04-01#${burstShard(issued.certificate.serialNumber)}`,
      expirySk: `2030-04-01T12:00:00.000Z#${issued.certificate.serialNumber}`,
    });
  });

  it("lists one UTC day's audit entries oldest first, in pages, and only that day's", async () => {
    const day = '2031-02-03';
    const writes = [3, 1, 2].map((h) =>
      issuance({ createdAt: `${day}T0${h}:00:00.000Z`, notAfter: '2031-03-01T00:00:00.000Z' }),
    );
    for (const write of writes) await inventory.recordIssuance(write);
    await inventory.recordIssuance(
      issuance({ createdAt: '2031-02-04T00:00:00.000Z', notAfter: '2031-03-01T00:00:00.000Z' }),
    );
    const first = await inventory.listAuditEvents(day, { limit: 2 });
    expect(first.items.map((a) => a.at)).toEqual([`${day}T01:00:00.000Z`, `${day}T02:00:00.000Z`]);
    expect(first.nextCursor).toBeDefined();
    const second = await inventory.listAuditEvents(day, { limit: 2, cursor: first.nextCursor ?? '' });
    expect(second.items.map((a) => a.at)).toEqual([`${day}T03:00:00.000Z`]);
    expect(second.items[0]).toEqual(writes[0]?.audit);
    expect(second.nextCursor).toBeUndefined();
    await expect(inventory.listAuditEvents('2031-02-04', { limit: 2, cursor: first.nextCursor ?? '' })).rejects.toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
  });

  it("spreads a day's audit entries over its shards and lists them merged, oldest first, page by page", async () => {
    const day = '2031-05-06';
    // 40 entries, in pairs at the same instant (the eventId orders those), written newest first.
    const writes = Array.from({ length: 40 }, (_, i) =>
      issuance({
        createdAt: new Date(Date.parse(`${day}T23:00:00.000Z`) - Math.floor(i / 2) * 61_000).toISOString(),
        notAfter: '2031-08-01T00:00:00.000Z',
      }),
    );
    for (const write of writes) await inventory.recordIssuance(write);
    const stored = await auditItems(table, new Date(`${day}T00:00:00.000Z`));
    expect(stored).toHaveLength(writes.length);
    const shards = new Set(stored.map((item) => item.pk));
    expect(shards.size).toBeGreaterThan(1);
    expect(shards.size).toBeLessThanOrEqual(BURST_SHARDS);
    for (const item of stored) expect(item.pk).toBe(`AUDIT#${day}#${burstShard(String(item.eventId))}`);
    const expected = writes
      .map((w) => w.audit)
      .sort((a, b) => (`${a.at}#${a.eventId}` < `${b.at}#${b.eventId}` ? -1 : 1));

    for (const limit of [1, 3, 7, 40, 100]) {
      const seen: AuditRecord[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await inventory.listAuditEvents(day, { limit, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        if (page.nextCursor !== undefined) expect(page.items).toHaveLength(limit);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
        expect(pages).toBeLessThan(100);
      } while (cursor !== undefined);
      expect(seen, `limit ${limit}`).toEqual(expected);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / limit));
      expect(pages).toBeLessThanOrEqual(Math.ceil(expected.length / limit) + 1);
    }
  });

  it('refuses garbage and tampered audit cursors with INVALID_CURSOR, and the cursor stays small', async () => {
    const day = '2031-05-06';
    const page = await inventory.listAuditEvents(day, { limit: 5 });
    const cursor = page.nextCursor;
    expect(cursor).toBeDefined();
    if (cursor === undefined) return;
    expect(cursor.length).toBeLessThan(200);
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad: Array<[string, string]> = [
      ['not a cursor!', day],
      [encode({}), day],
      [cursor, '2031-05-07'],
      [encode({ ...decoded, g: 1 }), day],
      [encode({ ...decoded, a: '' }), day],
      [encode({ ...decoded, a: 'x'.repeat(1025) }), day],
      [encode({ ...decoded, k: {} }), day],
    ];
    for (const [text, listed] of bad) {
      const error = await rejection(inventory.listAuditEvents(listed, { limit: 5, cursor: text }));
      expect(error, text).toBeInstanceOf(ValidationError);
      expect(error.code, text).toBe('INVALID_CURSOR');
    }
    const next = await inventory.listAuditEvents(day, { limit: 5, cursor });
    expect(next.items).toHaveLength(5);
    expect(`${next.items[0]?.at}#${next.items[0]?.eventId}` > decoded.a).toBe(true);
  });

  it('refuses a duplicate serial with SERIAL_NUMBER_EXISTS and writes nothing', async () => {
    const first = issuance();
    await inventory.recordIssuance(first);
    const before = await countItems(table.client, table.tableName);
    const second = issuance();
    const duplicate = {
      ...second,
      certificate: { ...second.certificate, serialNumber: first.certificate.serialNumber },
    };
    const error = await rejection(inventory.recordIssuance(duplicate));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe('SERIAL_NUMBER_EXISTS');
    expect(await countItems(table.client, table.tableName)).toBe(before);
    expect(await inventory.getIdentity(second.identity.identityId)).toBeUndefined();
    expect(await inventory.getCertificate(first.certificate.serialNumber)).toEqual(first.certificate);
  });

  it('revokes: flips both statuses, leaves the expiry index, writes the audit entry', async () => {
    const issued = issuance();
    await inventory.recordIssuance(issued);
    const before = await countItems(table.client, table.tableName);
    const write = revocation(issued);
    expect(await inventory.recordRevocation(write)).toBe(true);

    expect(await inventory.getCertificate(issued.certificate.serialNumber)).toEqual({
      ...issued.certificate,
      status: 'revoked',
      revokedAt: write.revokedAt,
      revocationReason: 'keyCompromise',
      revokedBy: 'local-admin',
    });
    expect(await inventory.getIdentity(issued.identity.identityId)).toEqual({
      ...issued.identity,
      status: 'revoked',
      updatedAt: write.revokedAt,
      version: 2,
    });
    const raw = await rawItem(table, certificateKey(issued.certificate.serialNumber));
    expect(raw).not.toHaveProperty('expiryDay');
    expect(raw).not.toHaveProperty('expirySk');
    const expiring = await inventory.listCertificatesExpiring(
      new Date('2030-04-01T00:00:00Z'),
      new Date('2030-04-02T00:00:00Z'),
      { limit: 100 },
    );
    expect(expiring.items.map((c) => c.serialNumber)).not.toContain(issued.certificate.serialNumber);
    expect((await auditItems(table, new Date(write.revokedAt))).map((i) => i.eventId)).toContain(write.audit.eventId);
    expect(await countItems(table.client, table.tableName)).toBe(before + 1);

    const revokedIds = await inventory.listIdentities({ status: 'revoked' }, { limit: 100 });
    expect(revokedIds.items.map((i) => i.identityId)).toContain(issued.identity.identityId);
    const activeIds = await inventory.listIdentities({ status: 'active' }, { limit: 100 });
    expect(activeIds.items.map((i) => i.identityId)).not.toContain(issued.identity.identityId);
  });

  it('returns false and changes nothing on a second revocation or an unknown serial', async () => {
    const issued = issuance();
    await inventory.recordIssuance(issued);
    expect(await inventory.recordRevocation(revocation(issued))).toBe(true);
    const certBefore = await rawItem(table, certificateKey(issued.certificate.serialNumber));
    const identityBefore = await rawItem(table, identityKey(issued.identity.identityId));
    const before = await countItems(table.client, table.tableName);

    expect(await inventory.recordRevocation(revocation(issued, '2030-03-01T00:00:00.000Z'))).toBe(false);
    const unknown = revocation({ ...issued, certificate: { ...issued.certificate, serialNumber: 'ffee' } });
    expect(await inventory.recordRevocation(unknown)).toBe(false);
    const otherIdentity = { ...revocation(issued), identityId: randomUUID() };
    expect(await inventory.recordRevocation(otherIdentity)).toBe(false);

    expect(await rawItem(table, certificateKey(issued.certificate.serialNumber))).toEqual(certBefore);
    expect(await rawItem(table, identityKey(issued.identity.identityId))).toEqual(identityBefore);
    expect(await countItems(table.client, table.tableName)).toBe(before);
  });

  it('lets exactly one of several concurrent revocations through', async () => {
    const issued = issuance();
    await inventory.recordIssuance(issued);
    const before = await countItems(table.client, table.tableName);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        inventory.recordRevocation(revocation(issued)).catch((e: unknown) => (e instanceof ConflictError ? e.code : e)),
      ),
    );
    expect(outcomes.filter((o) => o === true)).toHaveLength(1);
    expect(outcomes.filter((o) => o !== true && o !== false && o !== 'CONCURRENT_UPDATE')).toEqual([]);
    expect(await countItems(table.client, table.tableName)).toBe(before + 1);
  });
});

describe('DynamoDbInventory: listing identities', () => {
  const owners = ['arn:aws:iam::123456789012:role/alpha', 'arn:aws:iam::123456789012:role/beta'] as const;
  const all: IdentityRecord[] = [];
  let inventory: DynamoDbInventory;

  beforeAll(async () => {
    const table = await freshTable();
    inventory = new DynamoDbInventory(table.doc, table.tableName);
    for (let i = 0; i < 23; i++) {
      const issued = issuance({
        owner: owners[i % 3 === 0 ? 1 : 0],
        createdAt: new Date(Date.parse(ISSUED_AT) + i * 60_000).toISOString(),
      });
      await inventory.recordIssuance(issued);
      if (i % 4 === 0) {
        const write = revocation(issued);
        await inventory.recordRevocation(write);
        all.push({ ...issued.identity, status: 'revoked', updatedAt: write.revokedAt, version: 2 });
      } else {
        all.push(issued.identity);
      }
    }
  });

  async function listAll(filter: IdentityFilter, limit: number) {
    const seen: ListedIdentity[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await inventory.listIdentities(filter, { limit, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
      expect(pages).toBeLessThan(100);
    } while (cursor !== undefined);
    return { seen, pages };
  }

  const filters: IdentityFilter[] = [
    {},
    { type: 'x509-certificate' },
    { status: 'active' },
    { status: 'revoked' },
    { type: 'x509-certificate', status: 'active' },
    { owner: owners[0] },
    { owner: owners[1], status: 'active' },
    { owner: owners[0], type: 'x509-certificate', status: 'revoked' },
    { owner: 'arn:aws:iam::123456789012:role/nobody' },
  ];

  for (const filter of filters) {
    it(`pages through every match of ${JSON.stringify(filter)} exactly once`, async () => {
      const expected = all.filter(
        (i) =>
          (filter.type === undefined || i.type === filter.type) &&
          (filter.status === undefined || i.status === filter.status) &&
          (filter.owner === undefined || i.owner === filter.owner),
      );
      const { seen, pages } = await listAll(filter, 4);
      expect(seen.map((i) => i.identityId).sort()).toEqual(expected.map((i) => i.identityId).sort());
      expect(seen).toEqual(expect.arrayContaining(expected));
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / 4));
    });
  }

  it('has matches on both sides of the page size', () => {
    expect(all.filter((i) => i.owner === owners[0]).length).toBeGreaterThan(4);
    expect(all.filter((i) => i.status === 'revoked').length).toBeGreaterThan(4);
  });

  it('refuses garbage, tampered and foreign cursors with INVALID_CURSOR', async () => {
    const page = await inventory.listIdentities({ owner: owners[0] }, { limit: 2 });
    const cursor = page.nextCursor;
    expect(cursor).toBeDefined();
    if (cursor === undefined) return;
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad: Array<[string, IdentityFilter]> = [
      ['not a cursor!', { owner: owners[0] }],
      [encode({}), { owner: owners[0] }],
      [Buffer.from('{"f":').toString('base64url'), { owner: owners[0] }],
      [cursor, { owner: owners[1] }],
      [cursor, { owner: owners[0], status: 'active' }],
      [encode({ ...decoded, p: 16 * 8 }), { owner: owners[0] }],
      [encode({ ...decoded, k: { ...decoded.k, ownerPk: `OWNER#${owners[1]}` } }), { owner: owners[0] }],
      [encode({ ...decoded, k: { pk: 'x' } }), { owner: owners[0] }],
      [encode({ ...decoded, extra: 1 }), { owner: owners[0] }],
    ];
    for (const [text, filter] of bad) {
      const error = await rejection(inventory.listIdentities(filter, { limit: 2, cursor: text }));
      expect(error, text).toBeInstanceOf(ValidationError);
      expect(error.code, text).toBe('INVALID_CURSOR');
    }
    const next = await inventory.listIdentities({ owner: owners[0] }, { limit: 2, cursor });
    expect(next.items).toHaveLength(2);
  });

  it('refuses a limit outside 1..100', async () => {
    for (const limit of [0, 101, 2.5]) {
      expect((await rejection(inventory.listIdentities({}, { limit }))).code).toBe('INVALID_LIMIT');
    }
  });
});

describe('DynamoDbInventory: certificates expiring', () => {
  const from = new Date('2030-06-10T06:00:00.000Z');
  const to = new Date('2030-06-13T06:00:00.000Z');
  const due: string[] = [];
  let table: FreshTable;
  let inventory: DynamoDbInventory;

  beforeAll(async () => {
    table = await freshTable();
    inventory = new DynamoDbInventory(table.doc, table.tableName);
    const dueTimes = [
      from.toISOString(),
      '2030-06-10T23:59:59.999Z',
      '2030-06-11T00:00:00.000Z',
      '2030-06-12T10:00:00.000Z',
      '2030-06-12T10:00:00.000Z',
      '2030-06-13T05:59:59.999Z',
    ];
    const notDue = [
      '2030-06-10T05:59:59.999Z',
      to.toISOString(),
      '2030-06-13T07:00:00.000Z',
      ...Array.from({ length: 40 }, (_, i) =>
        new Date(Date.parse('2030-06-14T00:00:00Z') + i * 3_600_000).toISOString(),
      ),
      ...Array.from({ length: 10 }, (_, i) => new Date(Date.parse('2030-06-09T00:00:00Z') + i * 60_000).toISOString()),
    ];
    for (const notAfter of dueTimes) {
      const issued = issuance({ notAfter });
      await inventory.recordIssuance(issued);
      due.push(issued.certificate.serialNumber);
    }
    for (const notAfter of notDue) await inventory.recordIssuance(issuance({ notAfter }));
    const revoked = issuance({ notAfter: '2030-06-11T12:00:00.000Z' });
    await inventory.recordIssuance(revoked);
    await inventory.recordRevocation(revocation(revoked));
  });

  it('returns only the active certificates due in [from, to), reading nothing else', async () => {
    const { client, doc } = createDocumentClient({ endpoint: dynamoDbEndpoint() });
    const scanned: number[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const output = result.output as { ScannedCount?: number };
        if (context.commandName === 'QueryCommand') scanned.push(output.ScannedCount ?? 0);
        return result;
      },
      { step: 'initialize', name: 'countScanned' },
    );
    const measured = new DynamoDbInventory(doc, table.tableName);
    const page = await measured.listCertificatesExpiring(from, to, { limit: 100 });
    expect(page.nextCursor).toBeUndefined();
    expect(page.items.map((c) => c.serialNumber).sort()).toEqual([...due].sort());
    expect(page.items.every((c) => c.status === 'active')).toBe(true);
    // Four UTC days, each one Query per shard (every shard holds less than its share of the page).
    expect(scanned).toHaveLength(4 * BURST_SHARDS);
    expect(scanned.reduce((a, b) => a + b, 0)).toBe(due.length);
    expect(await countItems(table.client, table.tableName)).toBeGreaterThan(3 * 60);
  });

  it('keeps the due certificates in several shards of their days', async () => {
    const shards = new Set<string>();
    for (const serial of due) {
      const raw = await rawItem(table, certificateKey(serial));
      expect(raw?.expiryDay).toBe(`EXP#${String(raw?.notAfter).slice(0, 10)}#${burstShard(serial)}`);
      shards.add(String(raw?.expiryDay).slice(-1));
    }
    expect(shards.size).toBeGreaterThan(1);
  });

  it('pages across day partitions and their shards in notAfter order', async () => {
    for (const limit of [1, 2, 4]) {
      const seen: CertificateRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await inventory.listCertificatesExpiring(from, to, { limit, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(seen.map((c) => c.serialNumber).sort()).toEqual([...due].sort());
      const order = seen.map((c) => `${c.notAfter}#${c.serialNumber}`);
      expect(order).toEqual([...order].sort());
    }
  });

  it('refuses a cursor from another window, and windows that are too long', async () => {
    const page = await inventory.listCertificatesExpiring(from, to, { limit: 1 });
    const cursor = page.nextCursor;
    expect(cursor).toBeDefined();
    if (cursor === undefined) return;
    const otherWindow = inventory.listCertificatesExpiring(from, new Date('2030-06-14T00:00:00Z'), {
      limit: 1,
      cursor,
    });
    expect((await rejection(otherWindow)).code).toBe('INVALID_CURSOR');
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const tampered of [
      { ...decoded, g: 4 },
      { ...decoded, a: '2030-06-10T05:59:59.999Z#00' },
      { ...decoded, a: '2030-06-13T06:00:00.001Z#00' },
    ]) {
      const error = await rejection(
        inventory.listCertificatesExpiring(from, to, { limit: 1, cursor: encode(tampered) }),
      );
      expect(error.code, JSON.stringify(tampered)).toBe('INVALID_CURSOR');
    }
    const long = inventory.listCertificatesExpiring(from, new Date('2032-01-01T00:00:00Z'), { limit: 1 });
    expect((await rejection(long)).code).toBe('INVALID_EXPIRY_WINDOW');
    expect((await inventory.listCertificatesExpiring(to, from, { limit: 1 })).items).toEqual([]);
  });
});

describe('DynamoDbInventory: corrupt items and the CA chain', () => {
  let table: FreshTable;
  let inventory: DynamoDbInventory;
  beforeAll(async () => {
    table = await freshTable();
    inventory = new DynamoDbInventory(table.doc, table.tableName);
  });

  it('raises INVENTORY_CORRUPT for an item that does not parse', async () => {
    const issued = issuance();
    await inventory.recordIssuance(issued);
    const key = certificateKey(issued.certificate.serialNumber);
    const raw = await rawItem(table, key);
    await table.doc.send(
      new PutCommand({ TableName: table.tableName, Item: { ...raw, keySize: 'big', status: 'expired' } }),
    );
    const error = await rejection(inventory.getCertificate(issued.certificate.serialNumber));
    expect(error).toBeInstanceOf(InternalError);
    expect(error.code).toBe('INVENTORY_CORRUPT');
    expect(error.message).not.toContain('big');

    const identityItem = await rawItem(table, identityKey(issued.identity.identityId));
    await table.doc.send(
      new PutCommand({ TableName: table.tableName, Item: { ...identityItem, createdAt: 'yesterday' } }),
    );
    expect((await rejection(inventory.getIdentity(issued.identity.identityId))).code).toBe('INVENTORY_CORRUPT');
    expect((await rejection(inventory.listIdentities({}, { limit: 10 }))).code).toBe('INVENTORY_CORRUPT');
  });

  it('stores, reads and overwrites the CA chain', async () => {
    expect(await inventory.getChain('default')).toBeUndefined();
    const chain = [PEM.replace('YWJj', 'aXNz'), PEM.replace('YWJj', 'cm9v')];
    await inventory.putChain('default', chain);
    expect(await inventory.getChain('default')).toEqual(chain);
    expect(await inventory.getChain('other')).toBeUndefined();
    await inventory.putChain('default', [PEM]);
    expect(await inventory.getChain('default')).toEqual([PEM]);
    await table.doc.send(
      new PutCommand({ TableName: table.tableName, Item: { pk: 'CA#bad', sk: 'CHAIN', chainPem: 'x' } }),
    );
    expect((await rejection(inventory.getChain('bad'))).code).toBe('INVENTORY_CORRUPT');
  });
});
