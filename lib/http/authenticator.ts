import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AuthenticationError } from '#lib/domain/errors.ts';
import type { Principal } from '#lib/domain/principal.ts';
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
  return { kind: 'iam', id: userArn, accountId, userId };
};

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Local mode only: `Authorization: Bearer <token>`. Tokens are compared as SHA-256 digests in constant time, so the
 * comparison leaks neither the token nor its length.
 */
export function bearerTokenAuthenticator(tokens: ReadonlyArray<{ token: string; principalId: string }>): Authenticator {
  const known = tokens.map((t) => ({ digest: sha256(t.token), principalId: t.principalId }));
  return (event) => {
    const header = event.headers?.authorization;
    if (header === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new AuthenticationError(
        'INVALID_AUTHORIZATION_HEADER',
        'The Authorization header must be "Bearer <token>". Use the admin token printed by `npm start`.',
      );
    }
    const digest = sha256(match[1]);
    const found = known.find((k) => timingSafeEqual(k.digest, digest));
    if (!found) {
      throw new AuthenticationError('INVALID_TOKEN', 'The bearer token is not valid. Check the token and try again.');
    }
    return { kind: 'local-token', id: found.principalId };
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
