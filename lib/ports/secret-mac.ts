/** The most a message may be: AWS KMS `GenerateMac` takes 1 to 4096 bytes, and the local stand-in keeps to the same. */
export const MAX_MAC_MESSAGE_BYTES = 4096;

/**
 * A keyed HMAC-SHA-256 whose key the server holds and no data store contains: an HMAC key in AWS KMS, or a key file
 * readable by its owner only on the local plane. Whoever reads the table (or a backup of it) cannot compute it.
 */
export interface SecretMac {
  /**
   * The HMAC-SHA-256 of `message` (1 to {@link MAX_MAC_MESSAGE_BYTES} bytes) under the held key: 32 bytes, the same
   * for the same message and key, unpredictable without the key.
   */
  mac(message: Uint8Array): Promise<Uint8Array>;
}
