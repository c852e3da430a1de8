/** Key algorithms a CA signing key may have (the subset of KMS key specs we sign certificates with). */
export type SigningKeyAlgorithm = 'EC_P256' | 'EC_P384' | 'RSA_2048' | 'RSA_3072' | 'RSA_4096';

/**
 * A CA private key that can sign but never leaves its home (AWS KMS, or a software key locally).
 */
export interface Signer {
  readonly algorithm: SigningKeyAlgorithm;
  /** The DER SubjectPublicKeyInfo of the signing key. */
  getPublicKey(): Promise<Uint8Array>;
  /**
   * Signs `data` (the whole to-be-signed bytes, not a digest) and returns the signature as X.509 carries it in the
   * signatureValue BIT STRING: a DER `ECDSA-Sig-Value` for EC keys, the PKCS#1 v1.5 signature for RSA keys.
   * The hash is SHA-384 for EC_P384 and SHA-256 for every other algorithm.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}
