import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand, type SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { InternalError } from '#lib/domain/errors.ts';
import type { Signer, SigningKeyAlgorithm } from '#lib/ports/signer.ts';

type KeyProfile = {
  readonly algorithm: SigningKeyAlgorithm;
  readonly hash: 'sha256' | 'sha384';
  readonly signingAlgorithm: SigningAlgorithmSpec;
} & (
  | { readonly kind: 'ec'; readonly namedCurve: string; readonly order: bigint }
  | { readonly kind: 'rsa'; readonly modulusBits: number }
);

/** Group orders n (SEC 2): r and s of a valid ECDSA signature lie in [1, n − 1]. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P384_ORDER = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;

function rsaProfile(bits: 2048 | 3072 | 4096): KeyProfile {
  return {
    algorithm: `RSA_${bits}`,
    hash: 'sha256',
    signingAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    kind: 'rsa',
    modulusBits: bits,
  };
}

/** KMS key specs we sign certificates with; a Map so that a KeySpec from the wire never hits Object.prototype. */
const PROFILES = new Map<string, KeyProfile>([
  [
    'ECC_NIST_P256',
    {
      algorithm: 'EC_P256',
      hash: 'sha256',
      signingAlgorithm: 'ECDSA_SHA_256',
      kind: 'ec',
      namedCurve: 'prime256v1',
      order: P256_ORDER,
    },
  ],
  [
    'ECC_NIST_P384',
    {
      algorithm: 'EC_P384',
      hash: 'sha384',
      signingAlgorithm: 'ECDSA_SHA_384',
      kind: 'ec',
      namedCurve: 'secp384r1',
      order: P384_ORDER,
    },
  ],
  ['RSA_2048', rsaProfile(2048)],
  ['RSA_3072', rsaProfile(3072)],
  ['RSA_4096', rsaProfile(4096)],
]);

/**
 * A CA signing key held in AWS KMS. The public key is read once at creation; every signature is one KMS `Sign` call
 * over a digest computed here.
 */
export class KmsSigner implements Signer {
  readonly algorithm: SigningKeyAlgorithm;
  readonly #client: KMSClient;
  readonly #keyArn: string;
  readonly #profile: KeyProfile;
  readonly #publicKey: Uint8Array;

  private constructor(client: KMSClient, keyArn: string, profile: KeyProfile, publicKey: Uint8Array) {
    this.algorithm = profile.algorithm;
    this.#client = client;
    this.#keyArn = keyArn;
    this.#profile = profile;
    this.#publicKey = publicKey;
  }

  /**
   * Reads the key's public half and metadata with one `GetPublicKey` call.
   * @param keyId key id, key ARN, alias name or alias ARN.
   * @throws InternalError `SIGNER_UNAVAILABLE` when KMS cannot be reached or refuses the call (unknown key, disabled
   *   key, missing permission); `CA_KEY_UNSUPPORTED` when the key is not a SIGN_VERIFY key of a spec listed in
   *   {@link SigningKeyAlgorithm}; `SIGNER_INVALID_RESPONSE` when KMS answers with a public key that does not match.
   */
  static async create(client: KMSClient, keyId: string): Promise<KmsSigner> {
    const out = await callKms(() => client.send(new GetPublicKeyCommand({ KeyId: keyId })));
    const profile = out.KeySpec === undefined ? undefined : PROFILES.get(out.KeySpec);
    if (
      out.KeyUsage !== 'SIGN_VERIFY' ||
      profile === undefined ||
      !out.SigningAlgorithms?.includes(profile.signingAlgorithm)
    ) {
      throw new InternalError(
        'CA_KEY_UNSUPPORTED',
        'The CA key in AWS KMS must be an asymmetric SIGN_VERIFY key of spec ECC_NIST_P256, ECC_NIST_P384 or ' +
          'RSA_2048/3072/4096: create such a key and configure its id.',
        { details: { keySpec: out.KeySpec, keyUsage: out.KeyUsage } },
      );
    }
    if (!out.PublicKey || !publicKeyMatches(out.PublicKey, profile)) {
      throw invalidResponse('public key');
    }
    // Sign with the key ARN GetPublicKey resolved, not the alias we were given: if the alias were re-pointed later,
    // we would otherwise sign with a key whose public half is not the one we cached and put in certificates.
    return new KmsSigner(client, out.KeyId ?? keyId, profile, Uint8Array.from(out.PublicKey));
  }

  /** The cached DER SubjectPublicKeyInfo (a copy; callers cannot alter the cache). */
  async getPublicKey(): Promise<Uint8Array> {
    return Uint8Array.from(this.#publicKey);
  }

  /**
   * Signs `data` as described by {@link Signer.sign}.
   * @throws InternalError `SIGNER_UNAVAILABLE` when the KMS call fails, `SIGNER_INVALID_RESPONSE` when KMS answers
   *   with something that is not a well-formed signature for this key.
   */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    const profile = this.#profile;
    // KMS accepts at most 4096 bytes as a RAW message, and a TBSCertificate or CRL can be larger: we always hash here
    // and send only the digest (MessageType DIGEST), which KMS signs exactly as it would have signed the message.
    const digest = createHash(profile.hash).update(data).digest();
    const out = await callKms(() =>
      this.#client.send(
        new SignCommand({
          KeyId: this.#keyArn,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: profile.signingAlgorithm,
        }),
      ),
    );
    const signature = out.Signature;
    if (profile.kind === 'ec') {
      // Checked here so that a malformed answer fails this call rather than every relying party that later parses
      // the certificate.
      const canonical = signature && canonicalEcdsaSignature(signature, profile.order);
      if (!canonical) throw invalidResponse('signature');
      return canonical;
    }
    if (signature?.length !== profile.modulusBits / 8) throw invalidResponse('signature');
    return Uint8Array.from(signature);
  }
}

let defaultClient: KMSClient | undefined;

/**
 * {@link KmsSigner.create} for composition roots: uses `client` when given, otherwise one KMSClient per process with
 * the default region and credentials of the Lambda environment.
 */
export function createKmsSigner(options: { keyId: string; client?: KMSClient }): Promise<KmsSigner> {
  if (options.client) return KmsSigner.create(options.client, options.keyId);
  defaultClient ??= new KMSClient({});
  return KmsSigner.create(defaultClient, options.keyId);
}

async function callKms<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    throw new InternalError(
      'SIGNER_UNAVAILABLE',
      'The CA signing key in AWS KMS could not be used: check that the key exists and is enabled and that this ' +
        'function may call kms:GetPublicKey and kms:Sign on it, then retry.',
      { cause },
    );
  }
}

function invalidResponse(what: 'public key' | 'signature'): InternalError {
  return new InternalError(
    'SIGNER_INVALID_RESPONSE',
    `AWS KMS returned a malformed ${what} for the CA signing key: retry, and report the key id if it persists.`,
  );
}

function publicKeyMatches(spki: Uint8Array, profile: KeyProfile): boolean {
  let details: ReturnType<typeof createPublicKey>['asymmetricKeyDetails'];
  let type: string | undefined;
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    details = key.asymmetricKeyDetails;
    type = key.asymmetricKeyType;
  } catch {
    return false;
  }
  return profile.kind === 'ec'
    ? type === 'ec' && details?.namedCurve === profile.namedCurve
    : type === 'rsa' && details?.modulusLength === profile.modulusBits;
}

/**
 * Parses an ECDSA-Sig-Value (`SEQUENCE { r INTEGER, s INTEGER }`) and returns it re-encoded as minimal DER, or
 * `undefined` when it is not one: wrong tags, lengths that disagree, trailing bytes, negative or out-of-range r or s.
 * Redundant leading zero bytes in r or s are the one deviation tolerated, and are removed.
 */
function canonicalEcdsaSignature(der: Uint8Array, order: bigint): Uint8Array | undefined {
  const sequence = readTlv(der, 0, 0x30);
  if (!sequence || sequence.end !== der.length) return undefined;
  const r = readTlv(der, sequence.start, 0x02);
  const s = r && readTlv(der, r.end, 0x02);
  if (!r || !s || s.end !== sequence.end) return undefined;
  const rValue = readScalar(der.subarray(r.start, r.end), order);
  const sValue = readScalar(der.subarray(s.start, s.end), order);
  if (rValue === undefined || sValue === undefined) return undefined;
  return derTlv(0x30, [...derTlv(0x02, integerBytes(rValue)), ...derTlv(0x02, integerBytes(sValue))]);
}

/**
 * Reads a tag and a short-form length. An ECDSA-Sig-Value for P-256 or P-384 is at most 104 bytes long, so the long
 * length form never validly occurs.
 */
function readTlv(bytes: Uint8Array, offset: number, tag: number): { start: number; end: number } | undefined {
  const length = bytes[offset + 1];
  if (bytes[offset] !== tag || length === undefined || length >= 0x80) return undefined;
  const start = offset + 2;
  return start + length <= bytes.length ? { start, end: start + length } : undefined;
}

function readScalar(content: Uint8Array, order: bigint): bigint | undefined {
  const first = content[0];
  if (first === undefined || first >= 0x80) return undefined;
  const value = BigInt(`0x${Buffer.from(content).toString('hex')}`);
  return value > 0n && value < order ? value : undefined;
}

function integerBytes(value: bigint): number[] {
  const hex = value.toString(16);
  const bytes = [...Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex')];
  return (bytes[0] ?? 0) >= 0x80 ? [0, ...bytes] : bytes;
}

function derTlv(tag: number, content: number[]): Uint8Array {
  return Uint8Array.from([tag, content.length, ...content]);
}
