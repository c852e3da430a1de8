import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateKeyCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  type KMSClient,
  VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsMac, KmsMac } from '#lib/adapters/kms-mac.ts';
import { FAKE_KMS_CREDENTIALS, type FakeKms, fakeKmsClient, startFakeKms } from '#test/support/fake-kms-server.ts';

let kms: FakeKms;
let client: KMSClient;

beforeAll(async () => {
  kms = await startFakeKms();
  client = fakeKmsClient(kms.endpoint);
});

afterAll(async () => {
  client.destroy();
  await kms.close();
});

describe('KmsMac with an HMAC_256 key', () => {
  it('sends one GenerateMac with HMAC_SHA_256 and returns the 32-byte MAC, which KMS VerifyMac accepts', async () => {
    const keyId = await kms.createKey('HMAC_256');
    const mac = new KmsMac(client, keyId);
    const message = Buffer.from('["idempotency-seal/v2","create-enrollment-token","local:admin","z"]');
    const first = kms.requests.length;
    const tag = await mac.mac(message);
    expect(tag).toHaveLength(32);

    const sent = kms.requests.slice(first);
    expect(sent).toEqual([
      {
        target: 'GenerateMac',
        body: { KeyId: keyId, Message: message.toString('base64'), MacAlgorithm: 'HMAC_SHA_256' },
      },
    ]);
    const verified = await client.send(
      new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: tag, MacAlgorithm: 'HMAC_SHA_256' }),
    );
    expect(verified.MacValid).toBe(true);
  });

  it('is deterministic for one key and message, and differs per message and per key', async () => {
    const one = new KmsMac(client, await kms.createKey('HMAC_256'));
    const other = new KmsMac(client, await kms.createKey('HMAC_256'));
    const message = randomBytes(64);
    const tag = Buffer.from(await one.mac(message));
    expect(Buffer.from(await one.mac(Buffer.from(message)))).toEqual(tag);
    expect(Buffer.from(await one.mac(Buffer.concat([message, Buffer.from([0])])))).not.toEqual(tag);
    expect(Buffer.from(await other.mac(message))).not.toEqual(tag);
  });

  it('takes messages of 1 to 4096 bytes, as KMS does, and refuses others without calling KMS', async () => {
    const mac = new KmsMac(client, await kms.createKey('HMAC_256'));
    expect(await mac.mac(new Uint8Array(1))).toHaveLength(32);
    expect(await mac.mac(randomBytes(4096))).toHaveLength(32);
    const first = kms.requests.length;
    await expect(mac.mac(new Uint8Array(0))).rejects.toBeInstanceOf(RangeError);
    await expect(mac.mac(randomBytes(4097))).rejects.toBeInstanceOf(RangeError);
    expect(kms.requests.length).toBe(first);
  });

  it('through createKmsMac uses the default client, which AWS_ENDPOINT_URL_KMS points at the fake', async () => {
    const keyId = await kms.createKey('HMAC_256');
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: FAKE_KMS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_KMS_CREDENTIALS.secretAccessKey,
    });
    try {
      const message = Buffer.from('default client');
      const tag = await createKmsMac({ keyId }).mac(message);
      expect(Buffer.from(tag)).toEqual(Buffer.from(await new KmsMac(client, keyId).mac(message)));
    } finally {
      process.env = saved;
    }
  });
});

describe('KmsMac maps what KMS refuses', () => {
  it('maps an unknown key to MAC_KEY_UNAVAILABLE, keeping the KMS error as the cause', async () => {
    const keyId = randomUUID();
    const error = await new KmsMac(client, keyId).mac(Buffer.from('m')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MAC_KEY_UNAVAILABLE', status: 500, cause: { name: 'NotFoundException' } });
    expect((error as Error).message).toContain('kms:GenerateMac');
    expect((error as Error).message).not.toContain(keyId);
  });

  it.each([
    ['a SIGN_VERIFY key', 'ECC_NIST_P256'],
    ['an HMAC_512 key (another MAC algorithm)', 'HMAC_512'],
  ] as const)('maps %s to MAC_KEY_UNAVAILABLE (InvalidKeyUsageException)', async (_, keySpec) => {
    const mac = createKmsMac({ keyId: await kms.createKey(keySpec), client });
    await expect(mac.mac(Buffer.from('m'))).rejects.toMatchObject({
      code: 'MAC_KEY_UNAVAILABLE',
      cause: { name: 'InvalidKeyUsageException' },
    });
  });

  it('maps a KMS that stopped answering to MAC_KEY_UNAVAILABLE', async () => {
    const gone = await startFakeKms();
    const goneClient = fakeKmsClient(gone.endpoint);
    const mac = new KmsMac(goneClient, await gone.createKey('HMAC_256'));
    await gone.close();
    await expect(mac.mac(Buffer.from('m'))).rejects.toMatchObject({ code: 'MAC_KEY_UNAVAILABLE' });
    goneClient.destroy();
  });

  describe('a malformed answer', () => {
    afterAll(() => kms.tamperMacs(undefined));

    it.each([
      ['a truncated MAC', (mac: Buffer) => mac.subarray(1)],
      ['a longer MAC', (mac: Buffer) => Buffer.concat([mac, Buffer.from([0])])],
    ])('fails with MAC_INVALID_RESPONSE on %s', async (_, transform) => {
      const mac = new KmsMac(client, await kms.createKey('HMAC_256'));
      kms.tamperMacs(transform);
      await expect(mac.mac(Buffer.from('m'))).rejects.toMatchObject({ code: 'MAC_INVALID_RESPONSE', status: 500 });
    });
  });
});

describe('the fake KMS behaves like KMS where KmsMac relies on it', () => {
  it('creates HMAC keys through CreateKey, with their one MAC algorithm', async () => {
    const created = await client.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }));
    expect(created.KeyMetadata).toMatchObject({ KeySpec: 'HMAC_256', MacAlgorithms: ['HMAC_SHA_256'] });
    await expect(
      client.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'SIGN_VERIFY' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('refuses a wrong MAC on VerifyMac, GetPublicKey on an HMAC key, and messages over 4096 bytes', async () => {
    const keyId = await kms.createKey('HMAC_256');
    const message = Buffer.from('m');
    const { Mac } = await client.send(
      new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
    );
    const wrong = Buffer.from(Mac ?? []);
    wrong[0] = (wrong[0] ?? 0) ^ 1;
    await expect(
      client.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: wrong, MacAlgorithm: 'HMAC_SHA_256' })),
    ).rejects.toMatchObject({ name: 'KMSInvalidMacException' });
    await expect(client.send(new GetPublicKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
    });
    await expect(
      client.send(new GenerateMacCommand({ KeyId: keyId, Message: randomBytes(4097), MacAlgorithm: 'HMAC_SHA_256' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
