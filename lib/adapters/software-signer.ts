import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { InternalError } from '#lib/domain/errors.ts';
import type { Signer, SigningKeyAlgorithm } from '#lib/ports/signer.ts';

const RSA_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;

/**
 * A CA key held in process memory: the local stand-in for KMS, and the key of tests and benchmarks. The KeyObject is
 * created once and reused for every signature.
 */
export class SoftwareSigner implements Signer {
  readonly algorithm: SigningKeyAlgorithm;
  readonly #privateKey: KeyObject;
  readonly #publicKey: Buffer;
  readonly #hash: 'sha256' | 'sha384';

  private constructor(privateKey: KeyObject, algorithm: SigningKeyAlgorithm) {
    this.algorithm = algorithm;
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    this.#hash = algorithm === 'EC_P384' ? 'sha384' : 'sha256';
  }

  /** A fresh key of `algorithm`. */
  static generate(algorithm: SigningKeyAlgorithm): SoftwareSigner {
    const { privateKey } =
      algorithm === 'EC_P256' || algorithm === 'EC_P384'
        ? generateKeyPairSync('ec', { namedCurve: algorithm === 'EC_P256' ? 'P-256' : 'P-384' })
        : generateKeyPairSync('rsa', { modulusLength: RSA_BITS[algorithm], publicExponent: 65537 });
    return new SoftwareSigner(privateKey, algorithm);
  }

  /**
   * A key from PKCS#8 PEM (unencrypted), as {@link toPkcs8Pem} writes it.
   * @throws InternalError `CA_KEY_UNSUPPORTED` when the key is not EC P-256/P-384 or RSA 2048/3072/4096.
   */
  static fromPkcs8Pem(pem: string): SoftwareSigner {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    const details = key.asymmetricKeyDetails ?? {};
    let algorithm: SigningKeyAlgorithm | undefined;
    if (key.asymmetricKeyType === 'ec') {
      algorithm =
        details.namedCurve === 'prime256v1' ? 'EC_P256' : details.namedCurve === 'secp384r1' ? 'EC_P384' : undefined;
    } else if (key.asymmetricKeyType === 'rsa') {
      algorithm = Object.entries(RSA_BITS).find(([, bits]) => bits === details.modulusLength)?.[0] as
        | SigningKeyAlgorithm
        | undefined;
    }
    if (algorithm === undefined) {
      throw new InternalError(
        'CA_KEY_UNSUPPORTED',
        'The software CA key must be EC P-256, EC P-384 or RSA 2048/3072/4096; replace the key file.',
      );
    }
    return new SoftwareSigner(key, algorithm);
  }

  /** The private key as unencrypted PKCS#8 PEM, for a file readable by its owner only. */
  toPkcs8Pem(): string {
    return this.#privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  async getPublicKey(): Promise<Uint8Array> {
    return Uint8Array.from(this.#publicKey);
  }

  /** DER ECDSA-Sig-Value for EC keys (node's default encoding), PKCS#1 v1.5 for RSA keys. */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    return sign(this.#hash, data, this.#privateKey);
  }
}
