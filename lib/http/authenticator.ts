import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AuthenticationError } from '#lib/domain/errors.ts';
import { normalizeIamArn, type Principal } from '#lib/domain/principal.ts';
import type { HttpApiEvent } from './http-types.ts';

/**
 * Turns a request's credentials into a principal. Returns undefined when the request carries no credentials this
 * authenticator understands; throws `AuthenticationError` when it carries credentials that are wrong.
 */
export type Authenticator = (event: HttpApiEvent) => Principal | undefined;

const iamAuthorizerContext = z.object({
  iam: z.object({
    accountId: z.string().min(1),
    userArn: z.string().startsWith('arn:'),
    userId: z.string().min(1),
  }),
});

/**
 * The API Gateway IAM authorizer has already verified the SigV4 signature; the caller's principal is in
 * `requestContext.authorizer.iam`. Nothing in the request itself can forge it.
 */
export const iamAuthenticator: Authenticator = (event) => {
  const parsed = iamAuthorizerContext.safeParse(event.requestContext.authorizer);
  if (!parsed.success) return undefined;
  const { accountId, userArn, userId } = parsed.data.iam;
  return { kind: 'iam', id: userArn, arn: normalizeIamArn(userArn), accountId, userId };
};

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The bearer token in an Authorization header, undefined without one, or INVALID_AUTHORIZATION_HEADER. */
function bearerToken(event: HttpApiEvent): string | undefined {
  const header = event.headers?.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new AuthenticationError(
      'INVALID_AUTHORIZATION_HEADER',
      'The Authorization header must be "Bearer <token>": an enrollment token, or locally a token printed by `npm start`.',
    );
  }
  return match[1];
}

/** Enrollment tokens carry this prefix, so they are told apart from other bearer tokens without a lookup. */
export const ENROLLMENT_TOKEN_PREFIX = 'mimet_';

/**
 * `Authorization: Bearer mimet_…`: a one-time enrollment token. Only its SHA-256 is kept; whether it exists, is unspent
 * and unexpired is checked by the issuance itself, in the transaction that spends it.
 */
export const enrollmentTokenAuthenticator: Authenticator = (event) => {
  const header = event.headers?.authorization;
  if (header === undefined || !/^Bearer\s+mimet_/i.test(header)) return undefined;
  const token = bearerToken(event) ?? '';
  if (!/^mimet_[A-Za-z0-9_-]{43}$/.test(token)) {
    throw new AuthenticationError(
      'INVALID_TOKEN',
      'The enrollment token is malformed. Copy it exactly as it was issued.',
    );
  }
  const tokenHash = createHash('sha256').update(token, 'utf8').digest('hex');
  return { kind: 'enrollment-token', id: `enrollment:${tokenHash.slice(0, 16)}`, tokenHash };
};

/**
 * Local mode only: `Authorization: Bearer <token>`. Tokens are compared as SHA-256 digests in constant time, so the
 * comparison leaks neither the token nor its length.
 */
export function bearerTokenAuthenticator(tokens: ReadonlyArray<{ token: string; name: string }>): Authenticator {
  const known = tokens.map((t) => ({ digest: sha256(t.token), name: t.name }));
  return (event) => {
    const token = bearerToken(event);
    if (token === undefined) return undefined;
    const digest = sha256(token);
    const found = known.find((k) => timingSafeEqual(k.digest, digest));
    if (!found) {
      throw new AuthenticationError('INVALID_TOKEN', 'The bearer token is not valid. Check the token and try again.');
    }
    return { kind: 'local-token', id: `local:${found.name}` };
  };
}

/** Tries each authenticator in order; the first that recognizes the request's credentials decides. */
export function firstOf(...authenticators: Authenticator[]): Authenticator {
  return (event) => {
    for (const authenticate of authenticators) {
      const principal = authenticate(event);
      if (principal) return principal;
    }
    return undefined;
  };
}
