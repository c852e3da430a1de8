import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { MAX_MAC_MESSAGE_BYTES, type SecretMac } from '#lib/ports/secret-mac.ts';

/** The key length of HMAC-SHA-256 keys, as KMS's HMAC_256 keys have: longer adds nothing, shorter weakens it. */
export const SOFTWARE_MAC_KEY_BYTES = 32;

/**
 * A {@link SecretMac} whose key is held in process memory: the local stand-in for a KMS HMAC key, and the secret of
 * tests. It computes exactly what KMS `GenerateMac` with HMAC_SHA_256 does over the same key bytes.
 */
export class SoftwareMac implements SecretMac {
  readonly #key: KeyObject;

  private constructor(key: KeyObject) {
    this.#key = key;
  }

  /** A fresh random key. */
  static generate(): SoftwareMac {
    return new SoftwareMac(createSecretKey(randomBytes(SOFTWARE_MAC_KEY_BYTES)));
  }

  /**
   * A MAC over the given key bytes (copied).
   * @throws RangeError when `key` is not {@link SOFTWARE_MAC_KEY_BYTES} bytes long.
   */
  static fromKey(key: Uint8Array): SoftwareMac {
    if (key.length !== SOFTWARE_MAC_KEY_BYTES) {
      throw new RangeError(`An HMAC-SHA-256 key must be ${SOFTWARE_MAC_KEY_BYTES} bytes long, not ${key.length}.`);
    }
    return new SoftwareMac(createSecretKey(Buffer.from(key)));
  }

  /** The key bytes, for a file readable by its owner only. */
  exportKey(): Buffer {
    return this.#key.export();
  }

  /**
   * HMAC-SHA-256 of `message` under the key.
   * @throws RangeError when `message` is empty or longer than {@link MAX_MAC_MESSAGE_BYTES}, as KMS refuses it too.
   */
  async mac(message: Uint8Array): Promise<Uint8Array> {
    if (message.length === 0 || message.length > MAX_MAC_MESSAGE_BYTES) {
      throw new RangeError(`A MAC message must be 1 to ${MAX_MAC_MESSAGE_BYTES} bytes long, not ${message.length}.`);
    }
    return createHmac('sha256', this.#key).update(message).digest();
  }
}
