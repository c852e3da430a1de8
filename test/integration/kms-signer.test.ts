import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { constants, createHash, createPublicKey, randomBytes, randomUUID, verify, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type KMSClient, SignCommand, VerifyCommand } from '@aws-sdk/client-kms';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsSigner, KmsSigner } from '#lib/adapters/kms-signer.ts';
import { type FakeKms, fakeKmsClient, startFakeKms } from '#test/support/fake-kms-server.ts';

const execFileAsync = promisify(execFile);

let kms: FakeKms;
let client: KMSClient;
let workDir: string;

beforeAll(async () => {
  kms = await startFakeKms();
  client = fakeKmsClient(kms.endpoint);
  workDir = await mkdtemp(join(tmpdir(), 'kms-signer-test-'));
});

afterAll(async () => {
  client.destroy();
  await kms.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Checks a signature with OpenSSL's command line, as a relying party independent of node would. */
async function opensslVerifies(spki: Uint8Array, hash: string, data: Uint8Array, signature: Uint8Array) {
  const name = randomUUID();
  const files = { key: join(workDir, `${name}.pub`), sig: join(workDir, `${name}.sig`), data: join(workDir, name) };
  await writeFile(
    files.key,
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }),
  );
  await writeFile(files.sig, signature);
  await writeFile(files.data, data);
  const { stdout } = await execFileAsync('openssl', [
    'dgst',
    `-${hash}`,
    '-verify',
    files.key,
    '-signature',
    files.sig,
    files.data,
  ]);
  return stdout.trim();
}

function nodeVerifies(spki: Uint8Array, hash: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return verify(hash, data, { key, dsaEncoding: 'der' }, signature);
}

const SPECS = [
  {
    keySpec: 'ECC_NIST_P256',
    algorithm: 'EC_P256',
    hash: 'sha256',
    signingAlgorithm: 'ECDSA_SHA_256',
    webKey: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  },
  {
    keySpec: 'ECC_NIST_P384',
    algorithm: 'EC_P384',
    hash: 'sha384',
    signingAlgorithm: 'ECDSA_SHA_384',
    webKey: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
  },
  {
    keySpec: 'RSA_2048',
    algorithm: 'RSA_2048',
    hash: 'sha256',
    signingAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    webKey: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  },
] as const;

describe.each(SPECS)('KmsSigner with a $keySpec key', ({ keySpec, algorithm, hash, signingAlgorithm }) => {
  it('signs a digest in KMS and returns a signature that node and openssl verify over the original data', async () => {
    const keyId = await kms.createKey(keySpec);
    const first = kms.requests.length;
    const signer = await KmsSigner.create(client, keyId);
    expect(signer.algorithm).toBe(algorithm);
    const spki = await signer.getPublicKey();

    // Larger than the 4096 bytes KMS accepts as a RAW message.
    const data = randomBytes(10_000);
    const signature = await signer.sign(data);
    await signer.sign(randomBytes(10));

    expect(nodeVerifies(spki, hash, data, signature)).toBe(true);
    expect(await opensslVerifies(spki, hash, data, signature)).toBe('Verified OK');

    const sent = kms.requests.slice(first);
    expect(sent.map((request) => request.target)).toEqual(['GetPublicKey', 'Sign', 'Sign']);
    expect(sent[1]?.body).toEqual({
      KeyId: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`,
      Message: createHash(hash).update(data).digest('base64'),
      MessageType: 'DIGEST',
      SigningAlgorithm: signingAlgorithm,
    });

    const verified = await client.send(
      new VerifyCommand({
        KeyId: keyId,
        Message: createHash(hash).update(data).digest(),
        MessageType: 'DIGEST',
        Signature: signature,
        SigningAlgorithm: signingAlgorithm,
      }),
    );
    expect(verified.SignatureValid).toBe(true);
  });
});

/**
 * WebCrypto for `@peculiar/x509` whose `sign` goes to KMS through the signer (the generator never holds a private
 * key); WebCrypto wants ECDSA signatures as raw r‖s, so KMS's DER is converted.
 */
function cryptoSigningThrough(signer: KmsSigner, webKey: (typeof SPECS)[number]['webKey']): webcrypto.Crypto {
  const sign = async (_algorithm: unknown, _key: unknown, data: ArrayBuffer | ArrayBufferView) => {
    const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
    const signature = await signer.sign(new Uint8Array(bytes));
    if (webKey.name !== 'ECDSA') return signature;
    const raw = new x509.AsnEcSignatureFormatter().toWebSignature(webKey, signature);
    if (!raw) throw new Error('not an ECDSA-Sig-Value');
    return raw;
  };
  const subtle = new Proxy(webcrypto.subtle, {
    get: (target, property) => {
      if (property === 'sign') return sign;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    randomUUID: webcrypto.randomUUID.bind(webcrypto),
    subtle,
    CryptoKey: webcrypto.CryptoKey,
  };
}

describe.each(SPECS)('a root CA certificate signed through KmsSigner ($keySpec)', ({ keySpec, webKey }) => {
  it('passes openssl verify', async () => {
    const signer = await KmsSigner.create(client, await kms.createKey(keySpec));
    const crypto = cryptoSigningThrough(signer, webKey);
    const publicKey = await crypto.subtle.importKey('spki', await signer.getPublicKey(), webKey, true, ['verify']);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: randomBytes(16)
          .toString('hex')
          .replace(/^[89a-f]/, '1'),
        name: `CN=KMS test root ${keySpec}`,
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2036-01-01T00:00:00Z'),
        signingAlgorithm: webKey,
        // The generator passes privateKey to subtle.sign, which goes to KMS instead and ignores it.
        keys: { publicKey, privateKey: publicKey },
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const file = join(workDir, `${randomUUID()}.pem`);
    await writeFile(file, certificate.toString('pem'));
    const { stdout } = await execFileAsync('openssl', [
      'verify',
      // OpenSSL does not check a trust anchor's own signature unless asked to.
      '-check_ss_sig',
      '-x509_strict',
      '-attime',
      String(Date.parse('2027-01-01T00:00:00Z') / 1000),
      '-CAfile',
      file,
      file,
    ]);
    expect(stdout.trim()).toBe(`${file}: OK`);
  });
});

describe('KmsSigner refuses keys it cannot use', () => {
  it('maps an unknown key to SIGNER_UNAVAILABLE, keeping the KMS error as the cause', async () => {
    const keyId = randomUUID();
    const error = await KmsSigner.create(client, keyId).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SIGNER_UNAVAILABLE', status: 500, cause: { name: 'NotFoundException' } });
    expect((error as Error).message).not.toContain(keyId);
  });

  it.each([
    ['an ENCRYPT_DECRYPT RSA key', 'RSA_2048', 'ENCRYPT_DECRYPT'],
    ['a secp256k1 key', 'ECC_SECG_P256K1', 'SIGN_VERIFY'],
  ] as const)('refuses %s at creation with CA_KEY_UNSUPPORTED', async (_, keySpec, keyUsage) => {
    const keyId = await kms.createKey(keySpec, keyUsage);
    await expect(KmsSigner.create(client, keyId)).rejects.toMatchObject({
      code: 'CA_KEY_UNSUPPORTED',
      details: { keySpec, keyUsage },
    });
  });

  it('maps a KMS that stopped answering after creation to SIGNER_UNAVAILABLE', async () => {
    const gone = await startFakeKms();
    const goneClient = fakeKmsClient(gone.endpoint);
    const signer = await createKmsSigner({ keyId: await gone.createKey('ECC_NIST_P256'), client: goneClient });
    await gone.close();
    await expect(signer.sign(Buffer.from('tbs'))).rejects.toMatchObject({ code: 'SIGNER_UNAVAILABLE' });
    goneClient.destroy();
  });
});

/** Splits a short-form DER ECDSA-Sig-Value into the contents of r and s. */
function ecdsaParts(der: Buffer): { r: Buffer; s: Buffer } {
  const rLength = der.readUInt8(3);
  return { r: der.subarray(4, 4 + rLength), s: der.subarray(6 + rLength, 6 + rLength + der.readUInt8(5 + rLength)) };
}

function ecdsaSignature(r: Buffer, s: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([0x02, r.length]), r, Buffer.from([0x02, s.length]), s]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** Group orders from SEC 2 (as `openssl ecparam -param_enc explicit -text` prints them), as DER INTEGER contents. */
const ORDERS = {
  ECC_NIST_P256: Buffer.from('00ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex'),
  ECC_NIST_P384: Buffer.from(
    '00ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
    'hex',
  ),
};

function minusOne(integer: Buffer): Buffer {
  const value = BigInt(`0x${integer.toString('hex')}`) - 1n;
  return Buffer.from(`00${value.toString(16)}`, 'hex');
}

describe('KmsSigner checks the signature KMS returns', () => {
  let signer: KmsSigner;
  beforeAll(async () => {
    signer = await KmsSigner.create(client, await kms.createKey('ECC_NIST_P256'));
  });
  afterAll(() => kms.tamperSignatures(undefined));

  it('re-encodes redundant leading zeros in r and s minimally, into a signature that still verifies', async () => {
    kms.tamperSignatures((der) => {
      const { r, s } = ecdsaParts(der);
      return ecdsaSignature(Buffer.concat([Buffer.alloc(2), r]), Buffer.concat([Buffer.alloc(1), s]));
    });
    const data = Buffer.from('to be signed');
    const signature = Buffer.from(await signer.sign(data));
    const { r, s } = ecdsaParts(signature);
    expect(signature.length).toBe(6 + r.length + s.length);
    for (const part of [r, s]) expect(part[0] === 0 ? (part[1] ?? 0) >= 0x80 : (part[0] ?? 0) < 0x80).toBe(true);
    expect(nodeVerifies(await signer.getPublicKey(), 'sha256', data, signature)).toBe(true);
  });

  it.each([
    ['trailing bytes', (der: Buffer) => Buffer.concat([der, Buffer.from([0])])],
    ['a truncated value', (der: Buffer) => der.subarray(0, der.length - 1)],
    ['a BIT STRING instead of a SEQUENCE', (der: Buffer) => Buffer.concat([Buffer.from([0x03]), der.subarray(1)])],
    ['r = 0', (der: Buffer) => ecdsaSignature(Buffer.from([0]), ecdsaParts(der).s)],
    ['a negative r', (der: Buffer) => ecdsaSignature(Buffer.from([0x80, 1]), ecdsaParts(der).s)],
    ['s equal to the curve order', (der: Buffer) => ecdsaSignature(ecdsaParts(der).r, ORDERS.ECC_NIST_P256)],
    ['a raw r‖s instead of DER', () => randomBytes(64)],
  ])('fails with SIGNER_INVALID_RESPONSE on %s', async (_, transform) => {
    kms.tamperSignatures(transform);
    await expect(signer.sign(Buffer.from('tbs'))).rejects.toMatchObject({ code: 'SIGNER_INVALID_RESPONSE' });
  });

  it.each(['ECC_NIST_P256', 'ECC_NIST_P384'] as const)('takes s = n − 1 and refuses s = n on %s', async (keySpec) => {
    const ec = await KmsSigner.create(client, await kms.createKey(keySpec));
    kms.tamperSignatures((der) => ecdsaSignature(ecdsaParts(der).r, minusOne(ORDERS[keySpec])));
    const signature = Buffer.from(await ec.sign(Buffer.from('tbs')));
    expect(ecdsaParts(signature).s).toEqual(minusOne(ORDERS[keySpec]));
    kms.tamperSignatures((der) => ecdsaSignature(ecdsaParts(der).r, ORDERS[keySpec]));
    await expect(ec.sign(Buffer.from('tbs'))).rejects.toMatchObject({ code: 'SIGNER_INVALID_RESPONSE' });
  });

  it('fails with SIGNER_INVALID_RESPONSE on an RSA signature of the wrong length', async () => {
    const rsa = await KmsSigner.create(client, await kms.createKey('RSA_2048'));
    kms.tamperSignatures((signature) => signature.subarray(1));
    await expect(rsa.sign(Buffer.from('tbs'))).rejects.toMatchObject({ code: 'SIGNER_INVALID_RESPONSE' });
  });
});

describe('the fake KMS behaves like KMS where the adapter relies on it', () => {
  it('refuses a digest whose length does not match the algorithm', async () => {
    const keyId = await kms.createKey('ECC_NIST_P384');
    const sign = new SignCommand({
      KeyId: keyId,
      Message: createHash('sha256').update('x').digest(),
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_384',
    });
    await expect(client.send(sign)).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('signs RAW messages up to 4096 bytes, as KMS does', async () => {
    const keyId = await kms.createKey('RSA_2048');
    const signer = await KmsSigner.create(client, keyId);
    const raw = (message: Buffer) =>
      client.send(
        new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }),
      );
    const message = randomBytes(4096);
    const { Signature } = await raw(message);
    const key = createPublicKey({ key: Buffer.from(await signer.getPublicKey()), format: 'der', type: 'spki' });
    expect(
      Signature &&
        verify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Signature),
    ).toBe(true);
    await expect(raw(randomBytes(4097))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('refuses a request that is not SigV4-signed', async () => {
    const response = await fetch(kms.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GetPublicKey' },
      body: JSON.stringify({ KeyId: randomUUID() }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });
});
