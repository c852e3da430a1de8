import { createCipheriv, createDecipheriv, hkdfSync, randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ScanCommand as DocumentScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDynamoDbIdempotencyStore } from '#lib/adapters/dynamodb-idempotency.ts';
import { BURST_SHARDS, burstShard } from '#lib/adapters/dynamodb-keys.ts';
import { SoftwareMac } from '#lib/adapters/software-mac.ts';
import { ControlPlaneError, InternalError, ValidationError } from '#lib/domain/errors.ts';
import { createIdempotencyGuard, type IdempotencyGuard, noIdempotency } from '#lib/http/idempotency.ts';
import type { SecretMac } from '#lib/ports/secret-mac.ts';
import { countItems, type FreshTable, freshTable } from '#test/support/dynamodb.ts';

interface Answer {
  readonly status: number;
  readonly body: { readonly serialNumber: string; readonly token?: string };
  readonly headers?: Record<string, string>;
}

const ISSUE = 'issue-certificate';
const ALICE = 'arn:aws:iam::123456789012:role/alice';
const BOB = 'arn:aws:iam::123456789012:role/bob';

/** A `run` that counts its calls and answers a new serial number each time, as issuance would. */
function issuer() {
  const run = vi.fn(
    async (): Promise<Answer> => ({
      status: 201,
      body: { serialNumber: randomUUID() },
      headers: { location: '/certificates/x' },
    }),
  );
  return run;
}

function scope(overrides: { key?: string | undefined; route?: string; principalId?: string; payload?: unknown } = {}) {
  return {
    route: overrides.route ?? ISSUE,
    principalId: overrides.principalId ?? ALICE,
    key: 'key' in overrides ? overrides.key : randomUUID(),
    payload: 'payload' in overrides ? overrides.payload : { csr: 'MIIB', profile: 'server' },
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

/** The items as DynamoDB holds them (attribute-value maps), by the low-level client. */
async function rawItems(table: FreshTable): Promise<unknown[]> {
  const out = await table.client.send(new ScanCommand({ TableName: table.tableName, ConsistentRead: true }));
  return out.Items ?? [];
}

async function items(table: FreshTable): Promise<Record<string, unknown>[]> {
  const out = await table.doc.send(new DocumentScanCommand({ TableName: table.tableName, ConsistentRead: true }));
  return out.Items ?? [];
}

/** A promise and the function that resolves it: the only way these tests wait. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('createIdempotencyGuard on DynamoDB Local', () => {
  let table: FreshTable;
  let guard: IdempotencyGuard;
  const warn = vi.spyOn(console, 'warn');
  const log = vi.spyOn(console, 'log');

  beforeEach(async () => {
    table = await freshTable();
    guard = createIdempotencyGuard(
      createDynamoDbIdempotencyStore({ client: table.client, tableName: table.tableName }),
      { sealingSecret: SoftwareMac.generate() },
    );
    warn.mockClear();
    log.mockClear();
  });

  afterEach(() => {
    // Neither the guard nor Powertools (given the guard's configuration) logs anything on these paths.
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it('without a key runs every time and stores nothing', async () => {
    const run = issuer();
    const first = await guard(scope({ key: undefined }), run);
    const second = await guard(scope({ key: undefined }), run);
    expect(run).toHaveBeenCalledTimes(2);
    expect(first.body.serialNumber).not.toBe(second.body.serialNumber);
    expect(await countItems(table.client, table.tableName)).toBe(0);
  });

  it('with the same key and payload runs once and replays the stored result', async () => {
    const run = issuer();
    const request = scope();
    const first = await guard(request, run);
    const replay = await guard({ ...request, payload: { profile: 'server', csr: 'MIIB' } }, run);
    expect(run).toHaveBeenCalledTimes(1);
    expect(replay).toEqual(first);
    expect(first).toMatchObject({ status: 201, headers: { location: '/certificates/x' } });

    const stored = await items(table);
    expect(stored).toHaveLength(1);
    const [item] = stored;
    expect(item).toMatchObject({ pk: `IDEMPOTENCY#${burstShard(String(item?.sk))}`, status: 'COMPLETED', data: first });
    expect(item?.sk).toMatch(/^http#[A-Za-z0-9+/]{43}=$/);
    // The record expires in about 24 h, in the attribute the table's TTL is set on.
    const ttl = Number(item?.ttl);
    expect(ttl).toBeGreaterThan(Date.now() / 1000 + 23 * 3600);
    expect(ttl).toBeLessThan(Date.now() / 1000 + 25 * 3600);
    // Only a hash of the key is stored.
    expect(JSON.stringify(await rawItems(table))).not.toContain(request.key);
  });

  it('spreads the records over the IDEMPOTENCY# shards by their hashed key, and replays each from its own', async () => {
    const run = issuer();
    const requests = Array.from({ length: 24 }, () => scope());
    const firsts = await Promise.all(requests.map((request) => guard(request, run)));
    expect(run).toHaveBeenCalledTimes(requests.length);

    const stored = await items(table);
    expect(stored).toHaveLength(requests.length);
    for (const item of stored) expect(item.pk).toBe(`IDEMPOTENCY#${burstShard(String(item.sk))}`);
    const partitions = new Set(stored.map((item) => item.pk));
    expect(partitions.size).toBeGreaterThan(1);
    expect(partitions.size).toBeLessThanOrEqual(BURST_SHARDS);

    const replays = await Promise.all(requests.map((request) => guard(request, run)));
    expect(replays).toEqual(firsts);
    expect(run).toHaveBeenCalledTimes(requests.length);
    const reused = await rejection(guard(scope({ key: requests[0]?.key, payload: { csr: 'MIIC' } }), run));
    expect(reused.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await countItems(table.client, table.tableName)).toBe(requests.length);
  });

  it('returns the JSON form of the result, the same on the first call as on a replay', async () => {
    const request = scope();
    const run = vi.fn(async () => ({ status: 200, body: { serialNumber: 's', note: undefined }, headers: undefined }));
    const first = await guard(request, run);
    expect(first).toStrictEqual({ status: 200, body: { serialNumber: 's' } });
    expect(await guard(request, run)).toStrictEqual(first);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('refuses the same key with a different payload, without running', async () => {
    const run = issuer();
    const request = scope();
    await guard(request, run);
    const error = await rejection(guard({ ...request, payload: { csr: 'MIIC', profile: 'server' } }, run));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409 });
    expect(error.message).toBe(
      'This Idempotency-Key was already used with a different request body; use a new key for a new request.',
    );
    expect(run).toHaveBeenCalledTimes(1);
    expect(await countItems(table.client, table.tableName)).toBe(1);
  });

  it('keeps the same key from another principal or on another route apart', async () => {
    const run = issuer();
    const request = scope();
    const alice = await guard(request, run);
    const bob = await guard({ ...request, principalId: BOB }, run);
    const revoke = await guard({ ...request, route: 'revoke-certificate' }, run);
    expect(run).toHaveBeenCalledTimes(3);
    expect(new Set([alice, bob, revoke].map((a) => a.body.serialNumber)).size).toBe(3);
    expect(await countItems(table.client, table.tableName)).toBe(3);
    expect(await guard({ ...request, principalId: BOB }, run)).toEqual(bob);
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('lets an error of run through unchanged, stores nothing, and runs again on retry', async () => {
    const request = scope();
    const refused = new ValidationError('CSR_INVALID', 'The CSR is not valid.');
    const failing = vi.fn(async (): Promise<Answer> => {
      throw refused;
    });
    await expect(guard(request, failing)).rejects.toBe(refused);
    expect(await countItems(table.client, table.tableName)).toBe(0);

    const crash = new TypeError('boom');
    await expect(
      guard(request, async (): Promise<Answer> => {
        throw crash;
      }),
    ).rejects.toBe(crash);
    expect(await countItems(table.client, table.tableName)).toBe(0);

    const run = issuer();
    await guard(request, run);
    expect(run).toHaveBeenCalledTimes(1);
    expect(await countItems(table.client, table.tableName)).toBe(1);
  });

  it('answers IDEMPOTENCY_REQUEST_IN_PROGRESS while the same key is still running', async () => {
    const request = scope();
    const started = gate();
    const release = gate();
    const slow = vi.fn(async (): Promise<Answer> => {
      started.open();
      await release.promise;
      return { status: 201, body: { serialNumber: 'slow' } };
    });
    const first = guard(request, slow);
    await started.promise;

    const other = issuer();
    const error = await rejection(guard(request, other));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS', status: 409 });
    expect(error.message).toMatch(/retry shortly/);
    expect(other).not.toHaveBeenCalled();

    release.open();
    expect((await first).body.serialNumber).toBe('slow');
    expect((await guard(request, other)).body.serialNumber).toBe('slow');
    expect(other).not.toHaveBeenCalled();
    expect(slow).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'a'.repeat(256)],
    ['a space', 'a b'],
    ['non-ASCII', 'ü'],
    ['a trailing newline', 'abc\n'],
  ])('refuses a key with %s as IDEMPOTENCY_KEY_INVALID, without running', async (_, key) => {
    const run = issuer();
    for (const g of [guard, noIdempotency]) {
      const error = await rejection(g(scope({ key }), run));
      expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID', status: 400 });
      expect(error.message).toContain('1 to 255 characters');
    }
    expect(run).not.toHaveBeenCalled();
    expect(await countItems(table.client, table.tableName)).toBe(0);
  });

  it('accepts UUIDs and the longest allowed key', async () => {
    const run = issuer();
    await guard(scope({ key: randomUUID() }), run);
    await guard(scope({ key: `${'A'.repeat(250)}._:-9` }), run);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('stores sealFields sealed and returns them in clear, on the first call and on a replay', async () => {
    const secret = `emt_${randomUUID()}`;
    const request = { ...scope({ route: 'create-enrollment-token' }), sealFields: ['token', 'absent'] };
    const run = vi.fn(async () => ({ status: 201, body: { tokenId: 'tok-1', token: secret } }));

    const first = await guard(request, run);
    const replay = await guard(request, run);
    expect(run).toHaveBeenCalledTimes(1);
    expect(first).toEqual({ status: 201, body: { tokenId: 'tok-1', token: secret } });
    expect(replay).toEqual(first);

    const raw = JSON.stringify(await rawItems(table));
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain(secret.slice(4));
    const stored = await items(table);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.data).toMatchObject({ body: { tokenId: 'tok-1', token: expect.stringMatching(/^[\w-]{40,}$/) } });
    expect(stored[0]?.data).not.toHaveProperty('body.absent');
  });

  it('maps a store failure to IDEMPOTENCY_STORE_FAILED without running', async () => {
    const broken = createIdempotencyGuard(
      createDynamoDbIdempotencyStore({ client: table.client, tableName: `missing-${randomUUID()}` }),
    );
    const run = issuer();
    const error = await rejection(broken(scope(), run));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_STORE_FAILED', status: 500 });
    expect(error.cause).toBeInstanceOf(Error);
    expect(run).not.toHaveBeenCalled();
  });
});

/*
 * Issue #8: the stored answer of a token creation was sealed with a key derived from the Idempotency-Key alone, so
 * with `Idempotency-Key: z` a script reading only the table recovered the token in 52 guesses. The tests below read
 * the record straight from the table, as that script did.
 */
describe('sealing needs the server-held secret as well as the Idempotency-Key', () => {
  const TOKEN_ROUTE = 'create-enrollment-token';
  const V1_SALT = 'machine-identity-control-plane/idempotency-seal/v1';
  const V2_SALT = 'machine-identity-control-plane/idempotency-seal/v2';
  /** Every Idempotency-Key of one character the guard accepts. */
  const ONE_CHARACTER_KEYS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-'];

  let table: FreshTable;
  let secret: SoftwareMac;
  let guard: IdempotencyGuard;

  const guardWith = (sealingSecret?: SecretMac) =>
    createIdempotencyGuard(
      createDynamoDbIdempotencyStore({ client: table.client, tableName: table.tableName }),
      sealingSecret === undefined ? {} : { sealingSecret },
    );

  beforeEach(async () => {
    table = await freshTable();
    secret = SoftwareMac.generate();
    guard = guardWith(secret);
  });

  function tokenRequest(key: string | undefined, principalId = ALICE) {
    return { ...scope({ route: TOKEN_ROUTE, key, principalId }), sealFields: ['token'] };
  }

  function tokenRun(token = `mimet_${randomUUID()}`) {
    return vi.fn(async () => ({ status: 201, body: { tokenId: 'tok-1', token } }));
  }

  /** The `token` field of the one record in the table, as stored. */
  async function storedToken(): Promise<string> {
    const stored = await items(table);
    expect(stored).toHaveLength(1);
    const data = stored[0]?.data;
    const sealed = isRecord(data) && isRecord(data.body) ? data.body.token : undefined;
    if (typeof sealed !== 'string') throw new Error('no sealed token in the record');
    return sealed;
  }

  function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null;
  }

  /** The sealing key a reader of the table can derive from a guessed Idempotency-Key: no server part. */
  function keyOnly(guess: string, request: { route: string; principalId: string }, salt: string): Buffer {
    return Buffer.from(hkdfSync('sha256', guess, salt, JSON.stringify([request.route, request.principalId]), 32));
  }

  /** Seals as v1 did (AES-256-GCM, IV ‖ ciphertext ‖ tag, the field name as AAD): the attack's positive control. */
  function sealKeyOnly(value: string, key: Buffer): string {
    const iv = Buffer.alloc(12, 7);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from('token', 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
  }

  function open(sealed: string, key: Buffer): unknown {
    const raw = Buffer.from(sealed, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from('token', 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return JSON.parse(
        Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8'),
      );
    } catch {
      return undefined;
    }
  }

  /** The script of issue #8: every one-character key, with the v1 salt and with the v2 salt, no server secret. */
  function bruteForce(sealed: string, request: { route: string; principalId: string }): unknown {
    for (const guess of ONE_CHARACTER_KEYS) {
      for (const salt of [V1_SALT, V2_SALT]) {
        const opened = open(sealed, keyOnly(guess, request, salt));
        if (opened !== undefined) return opened;
      }
    }
    return undefined;
  }

  it('a token sealed under `Idempotency-Key: z` is not recovered by trying every one-character key', async () => {
    const token = `mimet_${randomUUID()}`;
    const request = tokenRequest('z');
    const run = tokenRun(token);
    expect((await guard(request, run)).body.token).toBe(token);
    const sealed = await storedToken();

    // The script works: it opens at once what the key alone sealed.
    expect(bruteForce(sealKeyOnly(token, keyOnly('z', request, V1_SALT)), request)).toBe(token);
    expect(bruteForce(sealed, request)).toBeUndefined();

    // The caller presenting `z` again still gets the same token, without a second creation.
    expect(await guard(request, run)).toEqual({ status: 201, body: { tokenId: 'tok-1', token } });
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('a guard holding another server secret cannot open the record: IDEMPOTENCY_RECORD_INVALID', async () => {
    const request = tokenRequest('z');
    const run = tokenRun();
    await guard(request, run);
    const error = await rejection(guardWith(SoftwareMac.generate())(request, run));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_RECORD_INVALID', status: 500 });
    expect(run).toHaveBeenCalledTimes(1);
    // The same secret (as after a restart that reloads it) still opens it.
    expect((await guardWith(secret)(request, run)).body.token).toBe((await guard(request, run)).body.token);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('without a server secret refuses to seal: IDEMPOTENCY_SEAL_FAILED before running, nothing stored', async () => {
    const bare = guardWith(undefined);
    const run = tokenRun();
    const error = await rejection(bare(tokenRequest('z'), run));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_SEAL_FAILED', status: 500 });
    expect(run).not.toHaveBeenCalled();
    expect(await countItems(table.client, table.tableName)).toBe(0);

    // Without a key nothing is stored, so nothing needs sealing; routes that seal nothing are unaffected.
    await bare(tokenRequest(undefined), run);
    expect(run).toHaveBeenCalledTimes(1);
    const issue = issuer();
    const request = scope();
    expect(await bare(request, issue)).toEqual(await bare(request, issue));
    expect(issue).toHaveBeenCalledTimes(1);
  });

  it('asks the secret once per sealing request, first call or replay, and never for other requests', async () => {
    const mac = vi.fn((message: Uint8Array) => secret.mac(message));
    const counted = guardWith({ mac });
    const request = tokenRequest(randomUUID());
    const run = tokenRun();
    await counted(request, run);
    await counted(request, run);
    expect(mac).toHaveBeenCalledTimes(2);
    // The message names the version, route, principal and key; the key never reaches the table in clear.
    expect(Buffer.from(mac.mock.calls[0]?.[0] ?? []).toString('utf8')).toBe(
      JSON.stringify(['idempotency-seal/v2', TOKEN_ROUTE, ALICE, request.key]),
    );

    await counted(tokenRequest(undefined), run);
    const issue = issuer();
    const issuance = scope();
    await counted(issuance, issue);
    await counted(issuance, issue);
    expect(mac).toHaveBeenCalledTimes(2);
  });

  it.each([
    [
      'fails',
      async (): Promise<Uint8Array> => {
        throw new InternalError('MAC_KEY_UNAVAILABLE', 'The HMAC key in AWS KMS could not be used.');
      },
      'MAC_KEY_UNAVAILABLE',
    ],
    ['answers 31 bytes', async () => new Uint8Array(31), 'IDEMPOTENCY_SEAL_FAILED'],
  ])('refuses the request before running when the secret %s', async (_, mac, code) => {
    const run = tokenRun();
    const error = await rejection(guardWith({ mac })(tokenRequest('z'), run));
    expect(error).toMatchObject({ code, status: 500 });
    expect(run).not.toHaveBeenCalled();
    expect(await countItems(table.client, table.tableName)).toBe(0);
  });
});

describe('noIdempotency', () => {
  it('validates the key, then runs every time', async () => {
    const run = issuer();
    const request = scope();
    const first = await noIdempotency(request, run);
    const second = await noIdempotency(request, run);
    expect(run).toHaveBeenCalledTimes(2);
    expect(first.body.serialNumber).not.toBe(second.body.serialNumber);
    await noIdempotency(scope({ key: undefined }), run);
    expect(run).toHaveBeenCalledTimes(3);
  });
});
