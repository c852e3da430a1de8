/** PEM (RFC 7468) encoding, and a strict decoder for exactly one block. */

/** Raised when text is not exactly one PEM block of an accepted label; the message never quotes the input. */
export class PemError extends Error {
  override readonly name = 'PemError';
}

/** PEM text with 64-character lines and a final newline, as OpenSSL writes it. */
export function encodePem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * Decodes text that holds exactly one PEM block whose label is one of `labels`, with nothing but whitespace around it
 * (no explanatory text, no headers) and strict base64 with padding.
 */
export function decodePem(text: string, labels: readonly string[]): { label: string; der: Buffer } {
  const trimmed = text.trim();
  const labelEnd = trimmed.indexOf('-----', 11);
  if (!trimmed.startsWith('-----BEGIN ') || labelEnd < 0) throw new PemError('not a PEM block');
  const label = trimmed.slice(11, labelEnd);
  if (!labels.includes(label)) throw new PemError(`PEM label must be ${labels.join(' or ')}`);
  const footer = `-----END ${label}-----`;
  if (!trimmed.endsWith(footer)) throw new PemError('PEM block without its END line, or text after it');
  const body = trimmed.slice(labelEnd + 5, trimmed.length - footer.length);
  if (!/^\r?\n/.test(body) || !/\n$/.test(body)) throw new PemError('PEM BEGIN and END lines must stand alone');
  const b64 = body.replace(/[ \t\r\n]+/g, '');
  const der = Buffer.from(b64, 'base64');
  // Node's decoder skips characters outside the alphabet; only canonical base64 re-encodes to the same text, which
  // also refuses a second block, headers, base64url and missing padding.
  if (der.length === 0 || der.toString('base64') !== b64) throw new PemError('PEM body is not valid base64');
  return { label, der };
}
