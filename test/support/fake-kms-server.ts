import { spawn } from 'node:child_process';
import {
  createHash,
  createHmac,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';
import {
  decodeOffsetToken,
  describeIssues,
  encodeOffsetToken,
  injectedErrorMessage,
  JsonProtocolError,
  type OperationFailureRule,
  OperationFaults,
  startOperationServer,
} from './json-protocol-fake.ts';

/** Asymmetric key specs the fake can create, each backed by a real local key pair. */
export type FakeKmsAsymmetricKeySpec =
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_SECG_P256K1'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096';
/** HMAC key specs, each backed by random key bytes held in memory. */
export type FakeKmsHmacKeySpec = 'HMAC_224' | 'HMAC_256' | 'HMAC_384' | 'HMAC_512';
export type FakeKmsKeySpec = FakeKmsAsymmetricKeySpec | FakeKmsHmacKeySpec;
export type FakeKmsKeyUsage = 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' | 'GENERATE_VERIFY_MAC';
export type FakeKmsKeyState =
  | 'Creating'
  | 'Enabled'
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'PendingReplicaDeletion'
  | 'Unavailable'
  | 'Updating';
export type FakeKmsOrigin = 'AWS_KMS' | 'EXTERNAL' | 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE';

/**
 * A key for the listing operations (ListKeys, DescribeKey, GetKeyRotationStatus, ListResourceTags). Asymmetric and
 * HMAC specs get real key material as with `createKey`; SYMMETRIC_DEFAULT keys have none (the fake does not encrypt).
 */
export interface FakeKmsKeyDescription {
  readonly keySpec: FakeKmsKeySpec | 'SYMMETRIC_DEFAULT';
  /** Default: ENCRYPT_DECRYPT for SYMMETRIC_DEFAULT, GENERATE_VERIFY_MAC for HMAC specs, SIGN_VERIFY otherwise. */
  readonly keyUsage?: FakeKmsKeyUsage;
  /** Default CUSTOMER. AWS managed keys are the ones services create for themselves (`alias/aws/…`). */
  readonly keyManager?: 'CUSTOMER' | 'AWS';
  readonly description?: string;
  /** Default Enabled. */
  readonly keyState?: FakeKmsKeyState;
  /** Default AWS_KMS. */
  readonly origin?: FakeKmsOrigin;
  /** A multi-Region key gets an `mrk-` key id, as in KMS. */
  readonly multiRegion?: boolean;
  /** Default: now. */
  readonly creationDate?: Date;
  /** When a key pending deletion will be deleted. */
  readonly deletionDate?: Date;
  /** Automatic rotation, for symmetric encryption keys (default false; AWS managed keys always rotate). */
  readonly rotationEnabled?: boolean;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Fails requests to one operation (or any) with an error, `times` times (default once; `Infinity` for always). */
export type FakeKmsFailureRule = OperationFailureRule;

export interface FakeKmsOptions {
  /**
   * Serve at most this many items a page on ListKeys, ListAliases and ListResourceTags whatever Limit says, with
   * `Truncated: true` and a NextMarker while more remain.
   */
  readonly maxPageSize?: number;
}

/** A request as the fake received it: the operation name from `X-Amz-Target` and the parsed JSON body. */
export interface RecordedKmsRequest {
  readonly target: string;
  readonly body: unknown;
}

export interface FakeKms {
  /** `http://127.0.0.1:<port>`, for `new KMSClient({ endpoint })`. */
  readonly endpoint: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedKmsRequest[];
  /**
   * Creates a key without going through HTTP and returns its key id (a UUID, as KMS does). The usage defaults to
   * GENERATE_VERIFY_MAC for HMAC specs and SIGN_VERIFY for the others.
   */
  createKey(keySpec: FakeKmsKeySpec, keyUsage?: FakeKmsKeyUsage): Promise<string>;
  /** Adds a key with the given listing metadata and returns its key id (`mrk-…` for a multi-Region key). */
  addKey(description: FakeKmsKeyDescription): Promise<string>;
  /** Creates an alias (`alias/…`) pointing at a key; without a key, an alias like AWS's predefined unused ones. */
  createAlias(aliasName: string, targetKeyId?: string): void;
  failRequests(rule: FakeKmsFailureRule): void;
  /** Answers the next `times` calls of `target` with ThrottlingException, as KMS does past its request quota. */
  throttle(target: string, times?: number): void;
  /** Answers every later call of `target` with AccessDeniedException, as for a role whose policy lacks the action. */
  deny(target: string): void;
  /** Rewrites the signature of every later `Sign` answer (fault injection); `undefined` restores honest answers. */
  tamperSignatures(transform: ((signature: Buffer) => Buffer) | undefined): void;
  /** Rewrites the MAC of every later `GenerateMac` answer (fault injection); `undefined` restores honest answers. */
  tamperMacs(transform: ((mac: Buffer) => Buffer) | undefined): void;
  close(): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const RAW_MESSAGE_LIMIT = 4096;

const SPECS: Record<FakeKmsAsymmetricKeySpec, { ec: string } | { rsa: number }> = {
  ECC_NIST_P256: { ec: 'P-256' },
  ECC_NIST_P384: { ec: 'P-384' },
  ECC_SECG_P256K1: { ec: 'secp256k1' },
  RSA_2048: { rsa: 2048 },
  RSA_3072: { rsa: 3072 },
  RSA_4096: { rsa: 4096 },
};

type Hash = 'sha256' | 'sha384' | 'sha512';

/** Each HMAC key spec has exactly one MAC algorithm. */
const HMAC_SPECS = {
  HMAC_224: { algorithm: 'HMAC_SHA_224', hash: 'sha224', keyBytes: 64 },
  HMAC_256: { algorithm: 'HMAC_SHA_256', hash: 'sha256', keyBytes: 64 },
  HMAC_384: { algorithm: 'HMAC_SHA_384', hash: 'sha384', keyBytes: 128 },
  HMAC_512: { algorithm: 'HMAC_SHA_512', hash: 'sha512', keyBytes: 128 },
} as const satisfies Record<FakeKmsHmacKeySpec, { algorithm: string; hash: string; keyBytes: number }>;
const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
const ALGORITHMS = {
  ECDSA_SHA_256: { hash: 'sha256', keySpecs: ['ECC_NIST_P256', 'ECC_SECG_P256K1'], pss: false },
  ECDSA_SHA_384: { hash: 'sha384', keySpecs: ['ECC_NIST_P384'], pss: false },
  RSASSA_PKCS1_V1_5_SHA_256: { hash: 'sha256', keySpecs: 'rsa', pss: false },
  RSASSA_PKCS1_V1_5_SHA_384: { hash: 'sha384', keySpecs: 'rsa', pss: false },
  RSASSA_PKCS1_V1_5_SHA_512: { hash: 'sha512', keySpecs: 'rsa', pss: false },
  RSASSA_PSS_SHA_256: { hash: 'sha256', keySpecs: 'rsa', pss: true },
  RSASSA_PSS_SHA_384: { hash: 'sha384', keySpecs: 'rsa', pss: true },
  RSASSA_PSS_SHA_512: { hash: 'sha512', keySpecs: 'rsa', pss: true },
} as const satisfies Record<
  string,
  { hash: Hash; keySpecs: readonly FakeKmsAsymmetricKeySpec[] | 'rsa'; pss: boolean }
>;
type SigningAlgorithm = keyof typeof ALGORITHMS;
const DIGEST_LENGTH: Record<Hash, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** What the listing operations report of a key beyond its material. */
interface KeyListing {
  readonly keyManager: 'CUSTOMER' | 'AWS';
  readonly description: string;
  readonly keyState: FakeKmsKeyState;
  readonly origin: FakeKmsOrigin;
  readonly multiRegion: boolean;
  readonly creationDate: Date;
  readonly deletionDate: Date | undefined;
  readonly rotationEnabled: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

interface SymmetricKey {
  readonly kind: 'symmetric';
  readonly id: string;
  readonly arn: string;
  readonly spec: 'SYMMETRIC_DEFAULT';
  readonly usage: 'ENCRYPT_DECRYPT';
  listing: KeyListing;
}

interface Alias {
  readonly name: string;
  readonly targetKeyId: string | undefined;
  readonly creationDate: Date;
}

interface AsymmetricKey {
  readonly kind: 'asymmetric';
  readonly id: string;
  readonly arn: string;
  readonly spec: FakeKmsAsymmetricKeySpec;
  readonly usage: FakeKmsKeyUsage;
  readonly spki: Buffer;
  /** PEM file of the private key, for `openssl pkeyutl`. */
  readonly keyFile: string;
  listing: KeyListing;
}

interface HmacKey {
  readonly kind: 'hmac';
  readonly id: string;
  readonly arn: string;
  readonly spec: FakeKmsHmacKeySpec;
  readonly usage: 'GENERATE_VERIFY_MAC';
  readonly secret: Buffer;
  listing: KeyListing;
}

type StoredKey = AsymmetricKey | HmacKey | SymmetricKey;

const keyIdSchema = z.string().min(1);
const base64Schema = z.base64().min(1);
const algorithmSchema = z.enum(Object.keys(ALGORITHMS) as [SigningAlgorithm, ...SigningAlgorithm[]]);
const schemas = {
  CreateKey: z.object({
    KeySpec: z.string().default('SYMMETRIC_DEFAULT'),
    KeyUsage: z.string().default('ENCRYPT_DECRYPT'),
  }),
  GetPublicKey: z.object({ KeyId: keyIdSchema }),
  Sign: z.object({
    KeyId: keyIdSchema,
    Message: base64Schema,
    MessageType: z.enum(['RAW', 'DIGEST']).default('RAW'),
    SigningAlgorithm: algorithmSchema,
  }),
  Verify: z.object({
    KeyId: keyIdSchema,
    Message: base64Schema,
    MessageType: z.enum(['RAW', 'DIGEST']).default('RAW'),
    Signature: base64Schema,
    SigningAlgorithm: algorithmSchema,
  }),
  GenerateMac: z.object({
    KeyId: keyIdSchema,
    Message: base64Schema,
    MacAlgorithm: z.enum(MAC_ALGORITHMS),
  }),
  VerifyMac: z.object({
    KeyId: keyIdSchema,
    Message: base64Schema,
    Mac: base64Schema,
    MacAlgorithm: z.enum(MAC_ALGORITHMS),
  }),
  // The listing operations refuse members the fake does not implement, so that none is silently ignored.
  DescribeKey: z.strictObject({ KeyId: keyIdSchema, GrantTokens: z.array(z.string()).optional() }),
  ListKeys: z.strictObject({
    Limit: z.number().int().min(1).max(1000).optional(),
    Marker: z.string().min(1).optional(),
  }),
  ListAliases: z.strictObject({
    KeyId: keyIdSchema.optional(),
    Limit: z.number().int().min(1).max(100).optional(),
    Marker: z.string().min(1).optional(),
  }),
  GetKeyRotationStatus: z.strictObject({ KeyId: keyIdSchema }),
  ListResourceTags: z.strictObject({
    KeyId: keyIdSchema,
    Limit: z.number().int().min(1).max(50).optional(),
    Marker: z.string().min(1).optional(),
  }),
};

/** Each listing's page when Limit is absent, as KMS documents it. */
const DEFAULT_LIMITS = { ListKeys: 100, ListAliases: 50, ListResourceTags: 50 } as const;

function defaultListing(): KeyListing {
  return {
    keyManager: 'CUSTOMER',
    description: '',
    keyState: 'Enabled',
    origin: 'AWS_KMS',
    multiRegion: false,
    creationDate: new Date(),
    deletionDate: undefined,
    rotationEnabled: false,
    tags: {},
  };
}

/**
 * Starts an AWS KMS stand-in on 127.0.0.1 speaking the JSON 1.1 protocol the SDK uses (`POST /`,
 * `X-Amz-Target: TrentService.<Operation>`, base64 blobs, timestamps as epoch seconds, errors as
 * `{"__type", "message"}` with status 400).
 * Operations: CreateKey, GetPublicKey, Sign and Verify (RAW and DIGEST messages), over real key pairs; signatures
 * over a digest are made by `openssl pkeyutl`, because node:crypto cannot sign a precomputed hash. GenerateMac and
 * VerifyMac over HMAC keys (usage GENERATE_VERIFY_MAC), with KMS's message limit and key usage checks.
 * The listing operations over keys given with `addKey` (or created) and aliases: ListKeys, ListAliases and
 * ListResourceTags (Limit and Marker paging, short pages on request), DescribeKey (by key id, key ARN, alias name or
 * alias ARN), GetKeyRotationStatus with KMS's rules (symmetric encryption keys with KMS-made key material only, false
 * while pending deletion). Tests inject throttling and access denial per operation.
 * The SigV4 `Authorization` header is checked for shape, not for a valid signature.
 */
export async function startFakeKms(options: FakeKmsOptions = {}): Promise<FakeKms> {
  const directory = await mkdtemp(join(tmpdir(), 'fake-kms-'));
  const keys = new Map<string, StoredKey>();
  const aliases = new Map<string, Alias>();
  const requests: RecordedKmsRequest[] = [];
  let tamper: ((signature: Buffer) => Buffer) | undefined;
  let tamperMac: ((mac: Buffer) => Buffer) | undefined;
  const faults = new OperationFaults(defaultMessage);

  async function createKey(spec: string, usage: string, idOf: () => string = randomUUID): Promise<StoredKey> {
    if (spec === 'SYMMETRIC_DEFAULT') {
      if (usage !== 'ENCRYPT_DECRYPT') {
        throw new JsonProtocolError('ValidationException', `KeyUsage ${usage} is not valid for KeySpec ${spec}.`);
      }
      const id = idOf();
      const key: SymmetricKey = {
        kind: 'symmetric',
        id,
        arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`,
        spec,
        usage,
        listing: defaultListing(),
      };
      keys.set(id, key);
      return key;
    }
    if (Object.hasOwn(HMAC_SPECS, spec)) {
      const hmacSpec = spec as FakeKmsHmacKeySpec;
      if (usage !== 'GENERATE_VERIFY_MAC') {
        throw new JsonProtocolError('ValidationException', `KeyUsage ${usage} is not valid for KeySpec ${spec}.`);
      }
      const id = idOf();
      const key: HmacKey = {
        kind: 'hmac',
        id,
        arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`,
        spec: hmacSpec,
        usage,
        secret: randomBytes(HMAC_SPECS[hmacSpec].keyBytes),
        listing: defaultListing(),
      };
      keys.set(id, key);
      return key;
    }
    if (!Object.hasOwn(SPECS, spec)) {
      throw new JsonProtocolError('ValidationException', `This fake cannot create keys of spec ${spec}.`);
    }
    const keySpec = spec as FakeKmsAsymmetricKeySpec;
    const shape = SPECS[keySpec];
    if (usage !== 'SIGN_VERIFY' && !(usage === 'ENCRYPT_DECRYPT' && 'rsa' in shape)) {
      throw new JsonProtocolError('ValidationException', `KeyUsage ${usage} is not valid for KeySpec ${spec}.`);
    }
    const { publicKey, privateKey } =
      'ec' in shape
        ? await promisify(generateKeyPair)('ec', { namedCurve: shape.ec })
        : await promisify(generateKeyPair)('rsa', { modulusLength: shape.rsa });
    const id = idOf();
    const keyFile = join(directory, `${id}.pem`);
    await writeFile(keyFile, pem(privateKey), { mode: 0o600 });
    const key: AsymmetricKey = {
      kind: 'asymmetric',
      id,
      arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`,
      spec: keySpec,
      usage: usage as FakeKmsKeyUsage,
      spki: publicKey.export({ format: 'der', type: 'spki' }),
      keyFile,
      listing: defaultListing(),
    };
    keys.set(id, key);
    return key;
  }

  function findKey(keyId: string): StoredKey {
    const aliasName = /^(?:arn:aws:kms:[a-z0-9-]+:\d{12}:)?(alias\/[\w/-]+)$/.exec(keyId)?.[1];
    const id =
      aliasName === undefined
        ? /^(?:arn:aws:kms:[a-z0-9-]+:\d{12}:key\/)?(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/.exec(keyId)?.[1]
        : aliases.get(aliasName)?.targetKeyId;
    const key = id === undefined ? undefined : keys.get(id);
    if (!key) throw new JsonProtocolError('NotFoundException', `Key '${keyId}' does not exist`);
    return key;
  }

  /** Resolves the key, algorithm and digest of a Sign or Verify request the way KMS validates them. */
  function signingInput(request: z.infer<typeof schemas.Sign>): {
    key: AsymmetricKey;
    digest: Buffer;
    args: string[];
  } {
    const key = findKey(request.KeyId);
    const algorithm = ALGORITHMS[request.SigningAlgorithm];
    if (key.kind !== 'asymmetric' || key.usage !== 'SIGN_VERIFY') {
      throw new JsonProtocolError(
        'InvalidKeyUsageException',
        `${key.arn} key usage is ${key.usage} which is not valid.`,
      );
    }
    const compatible =
      algorithm.keySpecs === 'rsa'
        ? key.spec.startsWith('RSA_')
        : (algorithm.keySpecs as readonly string[]).includes(key.spec);
    if (!compatible) {
      throw new JsonProtocolError(
        'InvalidKeyUsageException',
        `Signing algorithm ${request.SigningAlgorithm} is not valid for key spec ${key.spec}.`,
      );
    }
    const message = Buffer.from(request.Message, 'base64');
    let digest = message;
    if (request.MessageType === 'RAW') {
      if (message.length > RAW_MESSAGE_LIMIT) {
        throw new JsonProtocolError('ValidationException', `Message must be at most ${RAW_MESSAGE_LIMIT} bytes long.`);
      }
      digest = createHash(algorithm.hash).update(message).digest();
    } else if (message.length !== DIGEST_LENGTH[algorithm.hash]) {
      throw new JsonProtocolError(
        'ValidationException',
        `Digest is invalid length for algorithm ${request.SigningAlgorithm}: expected ${DIGEST_LENGTH[algorithm.hash]} bytes.`,
      );
    }
    const args = ['-inkey', key.keyFile, '-pkeyopt', `digest:${algorithm.hash}`];
    // KMS's PSS uses a salt as long as the digest.
    if (algorithm.pss) args.push('-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest');
    return { key, digest, args };
  }

  /** The HMAC a GenerateMac or VerifyMac request asks for, validated the way KMS validates it. */
  function macOf(request: z.infer<typeof schemas.GenerateMac>): { key: HmacKey; mac: Buffer } {
    const key = findKey(request.KeyId);
    if (key.kind !== 'hmac') {
      throw new JsonProtocolError(
        'InvalidKeyUsageException',
        `${key.arn} key usage is ${key.usage} which is not valid.`,
      );
    }
    const spec = HMAC_SPECS[key.spec];
    if (request.MacAlgorithm !== spec.algorithm) {
      throw new JsonProtocolError(
        'InvalidKeyUsageException',
        `MAC algorithm ${request.MacAlgorithm} is not valid for key spec ${key.spec}.`,
      );
    }
    const message = Buffer.from(request.Message, 'base64');
    if (message.length > RAW_MESSAGE_LIMIT) {
      throw new JsonProtocolError('ValidationException', `Message must be at most ${RAW_MESSAGE_LIMIT} bytes long.`);
    }
    return { key, mac: createHmac(spec.hash, key.secret).update(message).digest() };
  }

  async function handle(operation: string, body: unknown): Promise<unknown> {
    switch (operation) {
      case 'CreateKey': {
        const request = parse(schemas.CreateKey, body);
        const key = await createKey(request.KeySpec, request.KeyUsage);
        return { KeyMetadata: metadataOf(key) };
      }
      case 'DescribeKey':
        return { KeyMetadata: metadataOf(findKey(parse(schemas.DescribeKey, body).KeyId)) };
      case 'ListKeys': {
        const request = parse(schemas.ListKeys, body);
        const { items, more } = page([...keys.values()], 'ListKeys', request);
        return { Keys: items.map((key) => ({ KeyId: key.id, KeyArn: key.arn })), ...more };
      }
      case 'ListAliases': {
        const request = parse(schemas.ListAliases, body);
        const target = request.KeyId === undefined ? undefined : findKey(request.KeyId).id;
        const listed = [...aliases.values()].filter((alias) => target === undefined || alias.targetKeyId === target);
        const { items, more } = page(listed, 'ListAliases', request);
        return {
          Aliases: items.map((alias) => ({
            AliasName: alias.name,
            AliasArn: `arn:aws:kms:${REGION}:${ACCOUNT}:${alias.name}`,
            ...(alias.targetKeyId === undefined
              ? {}
              : {
                  TargetKeyId: alias.targetKeyId,
                  CreationDate: epochSeconds(alias.creationDate),
                  LastUpdatedDate: epochSeconds(alias.creationDate),
                }),
          })),
          ...more,
        };
      }
      case 'GetKeyRotationStatus':
        return rotationStatusOf(findKey(parse(schemas.GetKeyRotationStatus, body).KeyId));
      case 'ListResourceTags': {
        const request = parse(schemas.ListResourceTags, body);
        const { items, more } = page(Object.entries(findKey(request.KeyId).listing.tags), 'ListResourceTags', request);
        return { Tags: items.map(([TagKey, TagValue]) => ({ TagKey, TagValue })), ...more };
      }
      case 'GetPublicKey': {
        const key = findKey(parse(schemas.GetPublicKey, body).KeyId);
        if (key.kind !== 'asymmetric') {
          throw new JsonProtocolError('UnsupportedOperationException', `${key.arn} is not an asymmetric key.`);
        }
        return {
          KeyId: key.arn,
          PublicKey: key.spki.toString('base64'),
          KeySpec: key.spec,
          CustomerMasterKeySpec: key.spec,
          KeyUsage: key.usage,
          ...algorithmsOf(key),
        };
      }
      case 'Sign': {
        const request = parse(schemas.Sign, body);
        const { key, digest, args } = signingInput(request);
        const signature = await openssl(['pkeyutl', '-sign', ...args], digest);
        return {
          KeyId: key.arn,
          Signature: (tamper ? tamper(signature) : signature).toString('base64'),
          SigningAlgorithm: request.SigningAlgorithm,
        };
      }
      case 'Verify': {
        const request = parse(schemas.Verify, body);
        const { key, digest, args } = signingInput(request);
        const signatureFile = join(directory, `${randomUUID()}.sig`);
        await writeFile(signatureFile, Buffer.from(request.Signature, 'base64'));
        const valid = await openssl(['pkeyutl', '-verify', ...args, '-sigfile', signatureFile], digest).then(
          () => true,
          () => false,
        );
        await rm(signatureFile, { force: true });
        if (!valid) throw new JsonProtocolError('KMSInvalidSignatureException', 'Signature is not valid.');
        return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: request.SigningAlgorithm };
      }
      case 'GenerateMac': {
        const request = parse(schemas.GenerateMac, body);
        const { key, mac } = macOf(request);
        return {
          KeyId: key.arn,
          Mac: (tamperMac ? tamperMac(mac) : mac).toString('base64'),
          MacAlgorithm: request.MacAlgorithm,
        };
      }
      case 'VerifyMac': {
        const request = parse(schemas.VerifyMac, body);
        const { key, mac } = macOf(request);
        const given = Buffer.from(request.Mac, 'base64');
        if (given.length !== mac.length || !timingSafeEqual(given, mac)) {
          throw new JsonProtocolError('KMSInvalidMacException', 'MAC verification failed.');
        }
        return { KeyId: key.arn, MacValid: true, MacAlgorithm: request.MacAlgorithm };
      }
      default:
        throw new JsonProtocolError('UnknownOperationException', `This fake does not implement ${operation}.`);
    }
  }

  /** One page of a listing: Marker is the offset, opaque to the client; Truncated and NextMarker while more remain. */
  function page<T>(
    all: readonly T[],
    operation: keyof typeof DEFAULT_LIMITS,
    request: { readonly Limit?: number | undefined; readonly Marker?: string | undefined },
  ): { items: T[]; more: { Truncated: boolean; NextMarker?: string } } {
    const offset = request.Marker === undefined ? 0 : decodeMarker(request.Marker);
    const size = Math.min(request.Limit ?? DEFAULT_LIMITS[operation], options.maxPageSize ?? Number.POSITIVE_INFINITY);
    const items = all.slice(offset, offset + size);
    const end = offset + items.length;
    return {
      items,
      more: end < all.length ? { Truncated: true, NextMarker: encodeOffsetToken(end) } : { Truncated: false },
    };
  }

  const server = await startOperationServer({
    targetPrefix: 'TrentService',
    signingName: 'kms',
    internalErrorType: 'KMSInternalException',
    requestIds: false,
    record: ({ operation, targetHeader, body }) => {
      requests.push({ target: operation ?? targetHeader, body });
      return undefined;
    },
    faults,
    handle,
  });

  return {
    endpoint: server.endpoint,
    requests,
    createKey: async (keySpec, keyUsage) => {
      const usage = keyUsage ?? (Object.hasOwn(HMAC_SPECS, keySpec) ? 'GENERATE_VERIFY_MAC' : 'SIGN_VERIFY');
      return (await createKey(keySpec, usage)).id;
    },
    addKey: async (description) => {
      const { keySpec } = description;
      const usage =
        description.keyUsage ??
        (keySpec === 'SYMMETRIC_DEFAULT'
          ? 'ENCRYPT_DECRYPT'
          : Object.hasOwn(HMAC_SPECS, keySpec)
            ? 'GENERATE_VERIFY_MAC'
            : 'SIGN_VERIFY');
      const idOf = description.multiRegion ? () => `mrk-${randomUUID().replaceAll('-', '')}` : randomUUID;
      const key = await createKey(keySpec, usage, idOf);
      const keyManager = description.keyManager ?? 'CUSTOMER';
      key.listing = {
        keyManager,
        description: description.description ?? '',
        keyState: description.keyState ?? 'Enabled',
        origin: description.origin ?? 'AWS_KMS',
        multiRegion: description.multiRegion ?? false,
        creationDate: description.creationDate ?? new Date(),
        deletionDate: description.deletionDate,
        // AWS rotates the AWS managed keys every year; their rotation cannot be turned off.
        rotationEnabled: keyManager === 'AWS' || (description.rotationEnabled ?? false),
        tags: { ...description.tags },
      };
      return key.id;
    },
    createAlias: (aliasName, targetKeyId) => {
      if (!/^alias\/[\w/-]+$/.test(aliasName)) throw new Error(`Not an alias name: ${aliasName}`);
      if (targetKeyId !== undefined && !keys.has(targetKeyId)) throw new Error(`No key ${targetKeyId}`);
      aliases.set(aliasName, { name: aliasName, targetKeyId, creationDate: new Date() });
    },
    failRequests: faults.failRequests,
    throttle: faults.throttle,
    deny: faults.deny,
    tamperSignatures: (transform) => {
      tamper = transform;
    },
    tamperMacs: (transform) => {
      tamperMac = transform;
    },
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** DescribeKey's (and CreateKey's) KeyMetadata for a key. */
function metadataOf(key: StoredKey): Record<string, unknown> {
  const { listing } = key;
  return {
    AWSAccountId: ACCOUNT,
    KeyId: key.id,
    Arn: key.arn,
    CreationDate: epochSeconds(listing.creationDate),
    Enabled: listing.keyState === 'Enabled',
    Description: listing.description,
    KeyUsage: key.usage,
    KeyState: listing.keyState,
    ...(listing.deletionDate === undefined
      ? {}
      : { DeletionDate: epochSeconds(listing.deletionDate), PendingDeletionWindowInDays: 30 }),
    Origin: listing.origin,
    KeyManager: listing.keyManager,
    CustomerMasterKeySpec: key.spec,
    KeySpec: key.spec,
    ...algorithmsOf(key),
    MultiRegion: listing.multiRegion,
    ...(listing.multiRegion
      ? {
          MultiRegionConfiguration: {
            MultiRegionKeyType: 'PRIMARY',
            PrimaryKey: { Arn: key.arn, Region: REGION },
            ReplicaKeys: [],
          },
        }
      : {}),
  };
}

/**
 * GetKeyRotationStatus as KMS answers it: only symmetric encryption keys whose key material KMS made can rotate
 * automatically (UnsupportedOperationException for asymmetric and HMAC keys, imported key material and custom key
 * stores); a key pending import or unavailable is in the wrong state; a key pending deletion reports false.
 */
function rotationStatusOf(key: StoredKey): Record<string, unknown> {
  const { listing } = key;
  if (key.kind !== 'symmetric' || listing.origin !== 'AWS_KMS') {
    throw new JsonProtocolError('UnsupportedOperationException', `${key.arn} does not support automatic key rotation.`);
  }
  if (listing.keyState === 'PendingImport' || listing.keyState === 'Unavailable') {
    throw new JsonProtocolError('KMSInvalidStateException', `${key.arn} is ${listing.keyState}.`);
  }
  const enabled = listing.rotationEnabled && listing.keyState !== 'PendingDeletion';
  return {
    KeyRotationEnabled: enabled,
    KeyId: key.arn,
    ...(enabled
      ? {
          RotationPeriodInDays: 365,
          NextRotationDate: epochSeconds(new Date(listing.creationDate.getTime() + 365 * 86_400_000)),
        }
      : {}),
  };
}

/** JSON 1.1 timestamps: epoch seconds, fractional when the date has milliseconds. */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** Markers are opaque to the client; here, the offset of the next page. */
function decodeMarker(marker: string): number {
  const offset = decodeOffsetToken(marker);
  if (offset === undefined) throw new JsonProtocolError('InvalidMarkerException', 'The marker is not valid.');
  return offset;
}

function defaultMessage(errorType: string, target: string): string {
  return injectedErrorMessage(errorType, ACCOUNT, `kms:${target}`);
}

function algorithmsOf(key: StoredKey): Record<string, string[]> {
  if (key.kind === 'symmetric') return { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] };
  if (key.kind === 'hmac') return { MacAlgorithms: [HMAC_SPECS[key.spec].algorithm] };
  if (key.usage === 'ENCRYPT_DECRYPT') return { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] };
  const names = (Object.keys(ALGORITHMS) as SigningAlgorithm[]).filter((name) => {
    const specs = ALGORITHMS[name].keySpecs;
    return specs === 'rsa' ? key.spec.startsWith('RSA_') : (specs as readonly string[]).includes(key.spec);
  });
  return { SigningAlgorithms: names };
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new JsonProtocolError('ValidationException', describeIssues(result.error));
  return result.data;
}

function pem(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Runs openssl with `input` on stdin and resolves with its stdout; rejects on a non-zero exit. */
function openssl(args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout));
      else reject(new Error(`openssl ${args[0]} exited with ${code}: ${Buffer.concat(stderr).toString()}`));
    });
    child.stdin.end(input);
  });
}

/** Credentials the SDK signs requests to the fake with: any will do, and none is real. */
export const FAKE_KMS_CREDENTIALS = {
  accessKeyId: 'AKIAFAKEKMSTEST00000',
  secretAccessKey: 'fake-kms-test-secret',
} as const;

/** The real SDK client, aimed at the fake with one attempt, so that a failure is asserted on at once, not after retries. */
export function fakeKmsClient(endpoint: string): KMSClient {
  return new KMSClient({ endpoint, region: 'us-east-1', credentials: FAKE_KMS_CREDENTIALS, maxAttempts: 1 });
}
