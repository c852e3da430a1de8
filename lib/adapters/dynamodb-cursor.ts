import type { z } from 'zod';
import { ValidationError } from '#lib/domain/errors.ts';

/**
 * The opaque cursors of the inventory's listings: a small JSON object in base64url. What it holds is each listing's
 * business; that it is accepted only for the listing that produced it is checked by the listing.
 */

/** A cursor this listing did not hand out (for these filters): 400 `INVALID_CURSOR`. */
export function invalidCursor(cause?: unknown): ValidationError {
  return new ValidationError(
    'INVALID_CURSOR',
    'The cursor is not one this listing handed out for these filters. Repeat the same filters, or start again without a cursor.',
    cause === undefined ? undefined : { cause },
  );
}

export function encodeCursor(cursor: object): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

/** The cursor's content, parsed with the listing's schema; `INVALID_CURSOR` for anything else. */
export function decodeCursorText<T>(text: string, schema: z.ZodType<T>): T {
  if (text.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalidCursor();
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch (error) {
    throw invalidCursor(error);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidCursor(parsed.error);
  return parsed.data;
}
