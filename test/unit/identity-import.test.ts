import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import { MAX_IMPORT_LINES, parseImportLines } from '#lib/domain/identity-import.ts';

function refusal(text: string): ControlPlaneError {
  try {
    parseImportLines(text);
  } catch (error) {
    if (error instanceof ControlPlaneError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parsing an NDJSON import', () => {
  it('reads every kind of line, skipping blank ones but numbering them', () => {
    const lines = parseImportLines(
      [
        JSON.stringify({ type: 'x509-certificate', pem: '-----BEGIN CERTIFICATE-----', locations: ['a.test:443'] }),
        '',
        JSON.stringify({ type: 'api-key', name: 'stripe-live', owner: 'payments', expiresAt: '2027-01-01T00:00:00Z' }),
        JSON.stringify({ type: 'ssh-key', name: 'deploy@ci', lastUsedAt: '2026-11-01T00:00:00.000Z' }),
        JSON.stringify({ type: 'service-account', name: 'gcp:build@proj', location: 'gcp' }),
        JSON.stringify({ type: 'password', name: 'db-admin' }),
        JSON.stringify({ type: 'secret', name: 'vault:kv/app' }),
        '',
      ].join('\n'),
    );
    expect(lines.map((l) => [l.line, l.value.type])).toEqual([
      [1, 'x509-certificate'],
      [3, 'api-key'],
      [4, 'ssh-key'],
      [5, 'service-account'],
      [6, 'password'],
      [7, 'secret'],
    ]);
  });

  it('reports every invalid line, with its number, field and reason, and accepts none of the import', () => {
    const error = refusal(
      [
        JSON.stringify({ type: 'secret', name: 'ok' }),
        '{not json',
        JSON.stringify({ type: 'token', name: 'x' }),
        JSON.stringify({ type: 'api-key' }),
        JSON.stringify({ type: 'api-key', name: 'k', expiresAt: 'tomorrow', colour: 'red' }),
        JSON.stringify({ type: 'x509-certificate', pem: 'x', locations: ['no port'] }),
      ].join('\r\n'),
    );
    expect(error.code).toBe('IMPORT_INVALID');
    expect(error.status).toBe(400);
    const lines = (error.details as { lines: Array<{ line: number; field: string }> }).lines;
    expect(lines.map((l) => `${l.line}:${l.field}`)).toEqual([
      '2:',
      '3:type',
      '4:name',
      '5:expiresAt',
      '5:',
      // Two reasons: it has a space, and it is not host:port.
      '6:locations.0',
      '6:locations.0',
    ]);
    expect(error.message).toContain('first on line 2');
  });

  it('refuses more lines than the limit with 413, and an empty import with BODY_REQUIRED', () => {
    const line = JSON.stringify({ type: 'secret', name: 's' });
    const tooMany = refusal(Array.from({ length: MAX_IMPORT_LINES + 1 }, () => line).join('\n'));
    expect({ code: tooMany.code, status: tooMany.status }).toEqual({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    expect(refusal('\n\n').code).toBe('BODY_REQUIRED');
  });
});
