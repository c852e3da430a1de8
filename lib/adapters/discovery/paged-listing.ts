import type { DiscoverySourceName } from '#lib/domain/discovery.ts';
import { DiscoveryReadError, INVALID_RESPONSE } from './discovery-read-error.ts';

/**
 * Pages a listing may have before it is given up on: far above any service's quota (10,000 pages of 100 is twice
 * Secrets Manager's 500,000 secrets a region), it only stops a service that never says it is done.
 */
export const MAX_PAGES = 10_000;

/**
 * Reads a listing page by page from `start` (a resume marker, or undefined for the first page), yielding each page
 * with the marker of the next one, until `read` hands back none. Services may answer short or empty pages with a
 * marker: only its absence ends the listing. A marker handed back unchanged would read the same page forever, so it
 * fails with {@link INVALID_RESPONSE}; more than `maxPages` pages fail with `TooManyPages`.
 */
export async function* pagedListing<P>(
  source: DiscoverySourceName,
  action: string,
  start: string | undefined,
  read: (marker: string | undefined) => Promise<{ readonly page: P; readonly next: string | undefined }>,
  maxPages = MAX_PAGES,
): AsyncGenerator<{ readonly page: P; readonly next: string | undefined }> {
  let marker = start;
  for (let count = 0; count < maxPages; count++) {
    const { page, next } = await read(marker);
    if (next !== undefined && next === marker) throw new DiscoveryReadError(source, action, INVALID_RESPONSE);
    yield { page, next };
    if (next === undefined) return;
    marker = next;
  }
  throw new DiscoveryReadError(source, action, 'TooManyPages');
}

/** A `NextToken` as the listing goes on with it: an empty token, like an absent one, ends the listing. */
export function tokenAfter(token: string | undefined): string | undefined {
  return token === '' ? undefined : token;
}

/** The page size a source was given, checked against what its listing call accepts. */
export function checkPageSize(pageSize: number, max: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > max) {
    throw new RangeError(`pageSize must be an integer from 1 to ${max}`);
  }
  return pageSize;
}

/**
 * Resolves to undefined when the read fails because the resource is gone (deleted between the listing and its
 * description, which the service reports as `notFound`); any other failure goes on.
 */
export async function skipIfGone<T>(read: Promise<T>, notFound: string): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof DiscoveryReadError && error.reason === notFound) return undefined;
    throw error;
  }
}
