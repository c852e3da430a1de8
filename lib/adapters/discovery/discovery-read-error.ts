import type { z } from 'zod';
import type { DiscoverySourceName } from '#lib/domain/discovery.ts';
import { InternalError } from '#lib/domain/errors.ts';

/** The reason given when a service answered with something that does not match the shape we rely on. */
export const INVALID_RESPONSE = 'InvalidResponse';

/**
 * A discovery source could not read what it needs: the call named by `action` (as an IAM action, e.g.
 * `acm:ListCertificates`, so an operator can put it straight into the discovery role's policy) failed with
 * `reason`, the AWS error name (`AccessDeniedException`, `ThrottlingException` once the client's retries are spent…)
 * or {@link INVALID_RESPONSE}. The public message names the source, action and reason only; the AWS error, whose
 * message may name the role, stays in `cause`.
 */
export class DiscoveryReadError extends InternalError {
  readonly source: DiscoverySourceName;
  readonly action: string;
  readonly reason: string;

  constructor(source: DiscoverySourceName, action: string, reason: string, cause?: unknown) {
    super('DISCOVERY_READ_FAILED', `${source} could not read: ${action} failed with ${reason}.`, {
      details: { source, action, reason },
      cause,
    });
    this.source = source;
    this.action = action;
    this.reason = reason;
  }
}

/**
 * Makes one AWS read call and parses its output with `schema`. Whatever goes wrong (the SDK's error after its own
 * retries, or an output of another shape) comes out as a {@link DiscoveryReadError} naming `action`.
 */
export async function readAws<T>(
  source: DiscoverySourceName,
  action: string,
  schema: z.ZodType<T>,
  call: () => Promise<unknown>,
): Promise<T> {
  let output: unknown;
  try {
    output = await call();
  } catch (error) {
    throw new DiscoveryReadError(source, action, errorName(error), error);
  }
  const parsed = schema.safeParse(output);
  if (!parsed.success) throw new DiscoveryReadError(source, action, INVALID_RESPONSE, parsed.error);
  return parsed.data;
}

/** The SDK's service errors carry the AWS error code as `name`; network errors carry a `code` such as ECONNREFUSED. */
function errorName(error: unknown): string {
  if (error instanceof Error) {
    if (error.name !== 'Error' && error.name !== '') return error.name;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return 'UnknownError';
}
