import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import { InternalError } from '#lib/domain/errors.ts';
import { MAX_MAC_MESSAGE_BYTES, type SecretMac } from '#lib/ports/secret-mac.ts';

const MAC_BYTES = 32;

/**
 * A {@link SecretMac} whose key is an HMAC_256 key in AWS KMS: every MAC is one KMS `GenerateMac` call, so the key
 * never leaves KMS, there is no plaintext key in the function's memory and no wrapped key to store beside the data.
 */
export class KmsMac implements SecretMac {
  readonly #client: KMSClient;
  readonly #keyId: string;

  /**
   * Makes no call: a missing key or permission shows on the first {@link mac}, as `MAC_KEY_UNAVAILABLE`.
   * @param keyId key id, key ARN, alias name or alias ARN of an HMAC_256 key (usage GENERATE_VERIFY_MAC).
   */
  constructor(client: KMSClient, keyId: string) {
    this.#client = client;
    this.#keyId = keyId;
  }

  /**
   * HMAC-SHA-256 of `message` under the KMS key.
   * @throws RangeError when `message` is empty or longer than {@link MAX_MAC_MESSAGE_BYTES} (a caller's bug).
   * @throws InternalError `MAC_KEY_UNAVAILABLE` when KMS cannot be reached or refuses the call (unknown, disabled or
   *   non-HMAC key, missing permission); `MAC_INVALID_RESPONSE` when KMS answers with anything but a 32-byte
   *   HMAC_SHA_256 MAC.
   */
  async mac(message: Uint8Array): Promise<Uint8Array> {
    if (message.length === 0 || message.length > MAX_MAC_MESSAGE_BYTES) {
      throw new RangeError(`A MAC message must be 1 to ${MAX_MAC_MESSAGE_BYTES} bytes long, not ${message.length}.`);
    }
    let out: { Mac?: Uint8Array | undefined; MacAlgorithm?: string | undefined };
    try {
      out = await this.#client.send(
        new GenerateMacCommand({ KeyId: this.#keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
      );
    } catch (cause) {
      throw new InternalError(
        'MAC_KEY_UNAVAILABLE',
        'The HMAC key in AWS KMS could not be used: check that the key exists, is an enabled HMAC_256 key and that ' +
          'this function may call kms:GenerateMac on it, then retry.',
        { cause },
      );
    }
    // A MAC of another length or algorithm would still "work" as key material, silently weaker or unrepeatable:
    // refuse it rather than derive keys from it.
    if (out.MacAlgorithm !== 'HMAC_SHA_256' || out.Mac?.length !== MAC_BYTES) {
      throw new InternalError(
        'MAC_INVALID_RESPONSE',
        'AWS KMS returned a malformed MAC for the HMAC key: retry, and report the key id if it persists.',
        { details: { macAlgorithm: out.MacAlgorithm, macBytes: out.Mac?.length } },
      );
    }
    return Uint8Array.from(out.Mac);
  }
}

let defaultClient: KMSClient | undefined;

/**
 * A {@link KmsMac} for composition roots: uses `client` when given, otherwise one KMSClient per process with the
 * default region, credentials and endpoint resolution (so `AWS_ENDPOINT_URL_KMS` can point it at an emulator).
 */
export function createKmsMac(options: { keyId: string; client?: KMSClient }): KmsMac {
  if (options.client) return new KmsMac(options.client, options.keyId);
  defaultClient ??= new KMSClient({});
  return new KmsMac(defaultClient, options.keyId);
}
