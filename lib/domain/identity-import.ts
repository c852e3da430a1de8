import { z } from 'zod';
import { PayloadTooLargeError, ValidationError } from './errors.ts';

/**
 * Imports: identities kept elsewhere (a CMDB, on premises) brought into the inventory as NDJSON, one identity a line.
 * The whole body is validated before anything is written; every invalid line is reported.
 */

/** At most this many lines (identities) an import; the route also bounds the body at {@link MAX_IMPORT_BYTES}. */
export const MAX_IMPORT_LINES = 10_000;
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

/** The account and region imported identities are filed under (they are in no AWS account the plane reads). */
export const IMPORT_ACCOUNT = 'imported';
export const IMPORT_REGION = 'global';

const owner = z.string().trim().min(1).max(256);
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-29T12:00:00Z' });
const location = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^\s]+$/, 'must not contain spaces');

export const IMPORT_SECRET_TYPES = ['secret', 'api-key', 'ssh-key', 'service-account', 'password'] as const;

const certificateLine = z.strictObject({
  type: z.literal('x509-certificate'),
  pem: z.string().min(1).max(65_536),
  owner: owner.optional(),
  locations: z
    .array(location.regex(/^(\[[0-9A-Fa-f:.]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port or [ipv6]:port'))
    .max(100)
    .optional(),
});

const otherLine = z.strictObject({
  type: z.enum(IMPORT_SECRET_TYPES),
  name: z.string().trim().min(1).max(512),
  owner: owner.optional(),
  createdAt: instant.optional(),
  expiresAt: instant.optional(),
  lastUsedAt: instant.optional(),
  location: location.optional(),
});

export const importLineSchema = z.discriminatedUnion('type', [certificateLine, otherLine], {
  error: `type must be x509-certificate or one of ${IMPORT_SECRET_TYPES.join(', ')}`,
});
export type ImportLine = z.output<typeof importLineSchema>;

/** What is wrong with one line: its number (from 1), the field (empty for the line as a whole) and why. */
export interface ImportLineError {
  readonly line: number;
  readonly field: string;
  readonly reason: string;
}

/** 400 `IMPORT_INVALID`, listing every invalid line: nothing of the import was written. */
export function importInvalid(errors: readonly ImportLineError[]): ValidationError {
  const shown = errors.slice(0, 1_000);
  return new ValidationError(
    'IMPORT_INVALID',
    `${errors.length} problem${errors.length === 1 ? '' : 's'} in the import (first on line ${errors[0]?.line}); nothing was imported. Fix the lines listed in details.lines and send the whole import again.`,
    { details: { lines: shown, ...(errors.length > shown.length ? { more: errors.length - shown.length } : {}) } },
  );
}

/**
 * The lines of an NDJSON import, each validated; blank lines are skipped (numbering counts them).
 * @throws PayloadTooLargeError over {@link MAX_IMPORT_LINES} lines; ValidationError `IMPORT_INVALID` with every bad line.
 */
export function parseImportLines(text: string): Array<{ readonly line: number; readonly value: ImportLine }> {
  const rows = text.split(/\r?\n/);
  const filled = rows.filter((row) => row.trim() !== '').length;
  if (filled > MAX_IMPORT_LINES) {
    throw new PayloadTooLargeError(
      `The import has ${filled} lines; the limit is ${MAX_IMPORT_LINES}. Split it into several imports.`,
    );
  }
  const lines: Array<{ line: number; value: ImportLine }> = [];
  const errors: ImportLineError[] = [];
  rows.forEach((row, index) => {
    const line = index + 1;
    if (row.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(row);
    } catch {
      errors.push({ line, field: '', reason: 'not a JSON object' });
      return;
    }
    const parsed = importLineSchema.safeParse(json);
    if (parsed.success) {
      lines.push({ line, value: parsed.data });
      return;
    }
    for (const issue of parsed.error.issues) {
      errors.push({ line, field: issue.path.join('.'), reason: issue.message });
    }
  });
  if (errors.length > 0) throw importInvalid(errors);
  if (lines.length === 0) throw new ValidationError('BODY_REQUIRED', 'The import has no lines.');
  return lines;
}
