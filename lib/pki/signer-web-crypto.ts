import { webcrypto } from 'node:crypto';
import type { Signer, SigningKeyAlgorithm } from '#lib/ports/signer.ts';
import { ecdsaDerToRaw } from './der.ts';

/** What a WebCrypto-based generator (such as @peculiar/x509's) needs to sign with a {@link Signer}. */
export interface SignerCrypto {
  /** Node's WebCrypto, except that `subtle.sign` with {@link signingKey} goes to the signer. */
  readonly crypto: webcrypto.Crypto;
  /** A stand-in private key: it holds no key material, only the algorithm the generator reads from it. */
  readonly signingKey: webcrypto.CryptoKey;
  /** The WebCrypto signing algorithm matching the signer (its hash is the one the signer always uses). */
  readonly signingAlgorithm: webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams;
}

const KEY_ALGORITHMS: Record<
  SigningKeyAlgorithm,
  { key: webcrypto.KeyAlgorithm & Record<string, unknown>; hash: string }
> = {
  EC_P256: { key: { name: 'ECDSA', namedCurve: 'P-256' }, hash: 'SHA-256' },
  EC_P384: { key: { name: 'ECDSA', namedCurve: 'P-384' }, hash: 'SHA-384' },
  RSA_2048: { key: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } }, hash: 'SHA-256' },
  RSA_3072: { key: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } }, hash: 'SHA-256' },
  RSA_4096: { key: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } }, hash: 'SHA-256' },
};

const EC_FIELD_BYTES: Partial<Record<SigningKeyAlgorithm, number>> = { EC_P256: 32, EC_P384: 48 };

function hashName(algorithm: unknown): string | undefined {
  if (typeof algorithm !== 'object' || algorithm === null || !('hash' in algorithm)) return undefined;
  const { hash } = algorithm;
  if (typeof hash === 'string') return hash.toUpperCase();
  if (typeof hash === 'object' && hash !== null && 'name' in hash && typeof hash.name === 'string') {
    return hash.name.toUpperCase();
  }
  return undefined;
}

function toBytes(data: webcrypto.BufferSource): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/**
 * A WebCrypto `Crypto` whose `subtle.sign` calls `signer.sign` (software key or KMS alike), so that generators written
 * against WebCrypto can sign certificates with a key they never see. The signer returns DER ECDSA signatures; WebCrypto
 * returns raw r‖s, so they are converted (the generator encodes them back to DER). Every other call goes to node's
 * WebCrypto.
 */
export function createSignerCrypto(signer: Signer): SignerCrypto {
  const { key: algorithm, hash } = KEY_ALGORITHMS[signer.algorithm];
  const signingKey = Object.freeze({
    type: 'private',
    extractable: false,
    algorithm,
    usages: ['sign'],
  }) as unknown as webcrypto.CryptoKey;

  const sign = async (params: unknown, key: unknown, data: webcrypto.BufferSource): Promise<ArrayBuffer> => {
    if (key !== signingKey) throw new TypeError('this Crypto signs only with its signer key');
    const requestedHash = hashName(params) ?? hash;
    if (requestedHash !== hash) throw new TypeError(`the signer hashes with ${hash}, not ${requestedHash}`);
    const signature = await signer.sign(toBytes(data));
    const fieldBytes = EC_FIELD_BYTES[signer.algorithm];
    const out = fieldBytes === undefined ? Buffer.from(signature) : ecdsaDerToRaw(signature, fieldBytes);
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
  };

  const subtle = new Proxy(webcrypto.subtle, {
    get(target, property) {
      if (property === 'sign') return sign;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const crypto = {
    subtle,
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    randomUUID: webcrypto.randomUUID.bind(webcrypto),
  } as webcrypto.Crypto;

  return { crypto, signingKey, signingAlgorithm: { ...algorithm, hash } as webcrypto.EcdsaParams };
}
