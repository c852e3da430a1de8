import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyUnknownError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { ConflictError, ControlPlaneError, InternalError, ValidationError } from '#lib/domain/errors.ts';
import type { SecretMac } from '#lib/ports/secret-mac.ts';

/** What identifies one idempotent request, and what must be identical when it is retried. */
export interface IdempotencyScope {
  /** The route, e.g. `issue-certificate`: the same key on two routes names two requests. */
  readonly route: string;
  /** Who asks: the same key from two principals never collides. */
  readonly principalId: string;
  /** The raw `Idempotency-Key` header value; `undefined` means no idempotency for this request. */
  readonly key: string | undefined;
  /** What must be identical on a retry (parsed body + path params); a different payload under the same key is a 409. */
  readonly payload: unknown;
  /**
   * Top-level fields of the result's `body` that are secrets: stored sealed, returned in clear. Needs the guard's
   * `sealingSecret`.
   */
  readonly sealFields?: readonly string[];
}

/**
 * Runs `run` at most once per (route, principal, key) while the record lives, and answers retries with the stored
 * result. The result must be JSON-serializable (`{ status, body, headers?, contentType? }`): what comes back, on the
 * first call as on a replay, is its JSON form. Errors thrown by `run` come out unchanged and store nothing.
 *
 * @throws ValidationError `IDEMPOTENCY_KEY_INVALID` when the key is not 1–255 characters of `[A-Za-z0-9._:-]`.
 * @throws ConflictError `IDEMPOTENCY_KEY_REUSED` when the key was used with a different payload.
 * @throws ConflictError `IDEMPOTENCY_REQUEST_IN_PROGRESS` when a request with the same key has not finished yet.
 * @throws InternalError `IDEMPOTENCY_STORE_FAILED` when the store fails (e.g. DynamoDB errors).
 * @throws InternalError `IDEMPOTENCY_SEAL_FAILED` without running when `sealFields` are asked for and the guard has
 *   no `sealingSecret`; `IDEMPOTENCY_RECORD_INVALID` when a stored answer cannot be unsealed (e.g. another secret);
 *   the secret's own errors (e.g. `MAC_KEY_UNAVAILABLE`) without running when it fails.
 */
export type IdempotencyGuard = <T extends { readonly body: unknown }>(
  scope: IdempotencyScope,
  run: () => Promise<T>,
) => Promise<T>;

export interface IdempotencyGuardOptions {
  /** How long a completed result is replayed, and a key stays bound to its payload. Default 24 h. */
  readonly expiresAfterSeconds?: number;
  /**
   * How long an unfinished request blocks its key. After that a retry runs again, so it must exceed the function's
   * timeout (a request still running must not be overtaken), yet stay short so a request whose Lambda died does not
   * block its key for the whole `expiresAfterSeconds`. Default 60 s (API Gateway gives up after 30 s).
   */
  readonly inProgressExpiresAfterSeconds?: number;
  /**
   * The server-held half of the key that seals `sealFields` (a KMS HMAC key in AWS, `<dataDir>/seal.key` locally).
   * Without it a request that asks for sealing is refused before it runs: its secret is never stored sealed under
   * the Idempotency-Key alone. Called once per such request, first call or replay; never for other requests.
   */
  readonly sealingSecret?: SecretMac;
}

const DEFAULT_EXPIRES_AFTER_SECONDS = 24 * 60 * 60;
const DEFAULT_IN_PROGRESS_SECONDS = 60;

/**
 * Powertools prefixes hashed keys with the Lambda function name unless given a prefix. A fixed prefix keeps records
 * valid across deployments (CDK-generated function names change) and between the local server and Lambda; the route
 * is part of the hashed key instead.
 */
const KEY_PREFIX = 'http';

const KEY_FORMAT = /^[A-Za-z0-9._:-]{1,255}$/;

/** The shape Powertools hashes: `scope` is the idempotency key, `payload` what a retry must repeat. */
interface IdempotentRequest {
  readonly scope: { readonly route: string; readonly principalId: string; readonly key: string };
  readonly payload: unknown;
}

/**
 * Builds the guard on a Powertools persistence layer (see `createDynamoDbIdempotencyStore`). Build one guard per store
 * and share it between routes: Powertools configures a store once, with the first configuration it sees.
 */
export function createIdempotencyGuard(
  persistence: BasePersistenceLayer,
  options: IdempotencyGuardOptions = {},
): IdempotencyGuard {
  // At least 1 ms: Powertools treats a remaining time of 0 as "unknown" and sets no lease at all.
  const inProgressMillis = Math.max(1, (options.inProgressExpiresAfterSeconds ?? DEFAULT_IN_PROGRESS_SECONDS) * 1000);
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'scope',
    payloadValidationJmesPath: 'payload',
    expiresAfterSeconds: options.expiresAfterSeconds ?? DEFAULT_EXPIRES_AFTER_SECONDS,
    // The default MD5 is not collision resistant, and the hash of the key is all that is stored of it.
    hashFunction: 'sha256',
  });
  // Powertools sets an in-progress record's lease from the Lambda context's remaining time, and without a context it
  // sets none (the key then stays blocked until the record expires) and warns on every call. The guard runs below the
  // handler, so it registers a stand-in whose "remaining time" is the lease.
  const lease = { getRemainingTimeInMillis: () => inProgressMillis } as Context;
  config.registerLambdaContext(lease);

  const execute = makeIdempotent(
    async (_request: IdempotentRequest, work: () => Promise<unknown>): Promise<unknown> => work(),
    { persistenceStore: persistence, config, keyPrefix: KEY_PREFIX },
  );

  return async <T extends { readonly body: unknown }>(scope: IdempotencyScope, run: () => Promise<T>): Promise<T> => {
    if (scope.key === undefined) return run();
    const key = validKey(scope.key);
    const sealFields = scope.sealFields ?? [];
    // Derived before `run`, so that a missing or failing secret refuses the request before anything happens.
    const secret = sealFields.length > 0 ? await sealingKey(options.sealingSecret, key, scope) : undefined;
    const request: IdempotentRequest = {
      scope: { route: scope.route, principalId: scope.principalId, key },
      payload: scope.payload,
    };
    let stored: unknown;
    try {
      stored = await execute(request, async () => {
        const result = asJson(await run());
        if (secret === undefined) return result;
        return transformFields(result, sealFields, (field, value) => seal(secret, field, value), unsealable);
      });
    } catch (error) {
      throw translate(error);
    }
    const result = asResult(stored);
    // The cast is the contract: this is `run`'s own result, or its JSON form as stored by an earlier call.
    return (
      secret === undefined
        ? result
        : transformFields(result, sealFields, (field, value) => unseal(secret, field, value), corruptRecord)
    ) as T;
  };
}

/** The guard used when no persistence is configured: validates the key, then just runs. */
export const noIdempotency: IdempotencyGuard = async (scope, run) => {
  if (scope.key !== undefined) validKey(scope.key);
  return run();
};

function validKey(key: string): string {
  if (!KEY_FORMAT.test(key)) {
    throw new ValidationError(
      'IDEMPOTENCY_KEY_INVALID',
      'The Idempotency-Key header must be 1 to 255 characters of ASCII letters, digits, ".", "_", ":" or "-" (a UUID is a good key).',
    );
  }
  return key;
}

function translate(error: unknown): unknown {
  if (error instanceof ControlPlaneError) return error;
  if (error instanceof IdempotencyValidationError) {
    return new ConflictError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request body; use a new key for a new request.',
    );
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new ConflictError(
      'IDEMPOTENCY_REQUEST_IN_PROGRESS',
      'A request with this Idempotency-Key is still in progress; retry shortly with the same key.',
    );
  }
  // Every other Powertools error (store failures, a record that changed state under us after retries, or a non-Error
  // thrown by `run`, which Powertools wraps) derives from IdempotencyUnknownError.
  if (error instanceof IdempotencyUnknownError) {
    return new InternalError(
      'IDEMPOTENCY_STORE_FAILED',
      'The idempotency record of this request could not be read or written; retry with the same Idempotency-Key.',
      { cause: error },
    );
  }
  return error;
}

/** The JSON form of a result: what DynamoDB can store (no undefined, no class instances) and what a replay returns. */
function asJson(result: unknown): unknown {
  return JSON.parse(JSON.stringify(result));
}

function asResult(value: unknown): { body: unknown } {
  if (typeof value === 'object' && value !== null && 'body' in value) return value;
  throw corruptRecord();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `result` whose present `body` fields in `fields` are replaced by `transform(field, value)`. */
function transformFields(
  result: unknown,
  fields: readonly string[],
  transform: (field: string, value: unknown) => unknown,
  invalid: () => InternalError,
): { body: unknown } {
  if (!isObject(result) || !isObject(result.body)) throw invalid();
  const { body, ...rest } = result;
  const copy: Record<string, unknown> = { ...body };
  for (const field of fields) {
    if (Object.hasOwn(copy, field)) copy[field] = transform(field, copy[field]);
  }
  return { ...rest, body: copy };
}

/*
 * Sealing. A replay must return the enrollment token, yet the token must never sit in the table in clear, and the
 * table (or a backup, an export, a stream consumer) alone must open nothing. Powertools stores the Idempotency-Key
 * only as a SHA-256 hash, but a caller may choose a short key (`z`): a key derived from it alone falls to a few dozen
 * guesses by anyone who reads the table. So the sealing key is derived from two halves, and neither opens anything
 * alone:
 * - the raw Idempotency-Key, which only the caller presenting it again has;
 * - an HMAC of the request's scope under a server-held secret (`SecretMac`: a KMS HMAC key, which never leaves KMS,
 *   or a 0600 key file locally), which the table never contains. A table reader must get the server to compute it
 *   for each guess (in AWS, one `kms:GenerateMac` per guess, with permission on the key and a CloudTrail entry each).
 * The key is also in the MAC's message, so the server part differs per key and serves no other request. AES-256-GCM
 * with a random IV; the field name is authenticated data, so a sealed value cannot be moved to another field. `info`
 * binds the derived key to the route and principal. v1 derived the key from the Idempotency-Key alone; its records
 * no longer open (a replay answers IDEMPOTENCY_RECORD_INVALID) and expire within their 24 h.
 */
const SEAL_SALT = 'machine-identity-control-plane/idempotency-seal/v2';
const SEAL_MAC_LABEL = 'idempotency-seal/v2';
/** HMAC-SHA-256, as `SecretMac` promises. */
const SERVER_PART_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

async function sealingKey(server: SecretMac | undefined, key: string, scope: IdempotencyScope): Promise<Buffer> {
  if (server === undefined) throw unsealable();
  const message = Buffer.from(JSON.stringify([SEAL_MAC_LABEL, scope.route, scope.principalId, key]), 'utf8');
  const serverPart = await server.mac(message);
  if (serverPart.length !== SERVER_PART_BYTES) throw unsealable();
  const info = JSON.stringify([scope.route, scope.principalId]);
  // The server part has a fixed length, so the concatenation is unambiguous.
  const ikm = Buffer.concat([serverPart, Buffer.from(key, 'utf8')]);
  return Buffer.from(hkdfSync('sha256', ikm, SEAL_SALT, info, 32));
}

function seal(secret: Buffer, field: string, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  cipher.setAAD(Buffer.from(field, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
}

function unseal(secret: Buffer, field: string, sealed: unknown): unknown {
  if (typeof sealed !== 'string') throw corruptRecord();
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw corruptRecord();
  try {
    const decipher = createDecipheriv('aes-256-gcm', secret, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(field, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const clear = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    return JSON.parse(clear.toString('utf8'));
  } catch (cause) {
    throw corruptRecord(cause);
  }
}

/**
 * A result that cannot be sealed: thrown before the request runs (no server secret), or inside the idempotent call so
 * that Powertools deletes the record. Either way a secret is never stored in clear nor under the key alone.
 */
function unsealable(): InternalError {
  return new InternalError(
    'IDEMPOTENCY_SEAL_FAILED',
    'The result of this request could not be stored safely. Report the request id to the operators.',
  );
}

function corruptRecord(cause?: unknown): InternalError {
  return new InternalError(
    'IDEMPOTENCY_RECORD_INVALID',
    'The stored result of this idempotent request could not be read. Report the request id to the operators.',
    cause === undefined ? {} : { cause },
  );
}
