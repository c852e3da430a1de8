import { describe, expect, it } from 'vitest';
import { ValidationError } from '#lib/domain/errors.ts';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import {
  checkNames,
  DEFAULT_LOCAL_NAME_POLICY,
  formatIpAddress,
  type NamePolicy,
  parseIpAddress,
} from '#lib/domain/name-policy.ts';

const dns = (value: string): SubjectAltName => ({ type: 'dns', value });
const uri = (value: string): SubjectAltName => ({ type: 'uri', value });
const ip = (value: string): SubjectAltName => ({ type: 'ip', value });

function refusal(names: SubjectAltName[], policy: NamePolicy = DEFAULT_LOCAL_NAME_POLICY): ValidationError {
  try {
    checkNames(policy, names);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a refusal');
}

describe('checkNames with the default local policy', () => {
  it('allows subdomains of local.test, localhost and spiffe://local.test/ paths, lower-cased and deduplicated', () => {
    expect(
      checkNames(DEFAULT_LOCAL_NAME_POLICY, [
        dns('API.Local.Test'),
        dns('localhost'),
        dns('a.b-c.local.test'),
        dns('api.local.test'),
        uri('spiffe://local.test/ns/prod/sa/api'),
      ]),
    ).toEqual([
      dns('api.local.test'),
      dns('localhost'),
      dns('a.b-c.local.test'),
      uri('spiffe://local.test/ns/prod/sa/api'),
    ]);
  });

  it.each([
    dns('local.test'),
    dns('example.com'),
    dns('evillocal.test'),
    dns('local.test.evil.com'),
    dns('localhost.localdomain'),
    dns('*.local.test'),
    uri('spiffe://local.test/'),
    uri('spiffe://other.test/ns/a'),
    uri('https://local.test/x'),
    uri('spiffe://local.test/a//b'),
    uri('spiffe://local.test/a/../b'),
    uri('spiffe://local.test/a?x=1'),
    uri('SPIFFE://local.test/a'),
    ip('127.0.0.1'),
    ip('::1'),
  ])('refuses %j with NAME_NOT_ALLOWED and names it in details', (name) => {
    const error = refusal([dns('ok.local.test'), name]);
    expect(error.code).toBe('NAME_NOT_ALLOWED');
    expect(error.details).toEqual({ name: expect.any(String) });
    expect(String(error.details?.name).toLowerCase()).toBe(name.value.toLowerCase());
  });

  it.each([
    dns('a..local.test'),
    dns('api.local.test.'),
    dns('-api.local.test'),
    dns('api-.local.test'),
    dns('under_score.local.test'),
    dns('spa ce.local.test'),
    dns(`${'a'.repeat(64)}.local.test`),
    dns(`${'a.'.repeat(127)}local.test`),
    dns('é.local.test'),
    dns('a.*.local.test'),
    dns('1.2.3.4'),
    dns(''),
    uri('not a uri'),
    uri('spiffe://local.test/ü'),
    ip('1.2.3'),
    ip('01.2.3.4'),
    ip('1::2::3'),
    ip('fe80::1%eth0'),
  ])('refuses %j with NAME_INVALID', (name) => {
    expect(refusal([name]).code).toBe('NAME_INVALID');
  });

  it('refuses an empty request with CSR_NO_NAMES', () => {
    expect(refusal([]).code).toBe('CSR_NO_NAMES');
  });

  it('accepts a 63-character label and a 253-character name', () => {
    const label = 'a'.repeat(63);
    expect(checkNames(DEFAULT_LOCAL_NAME_POLICY, [dns(`${label}.local.test`)])).toHaveLength(1);
    const long = `${'a'.repeat(50)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.local.test`;
    expect(long.length).toBe(253);
    expect(checkNames(DEFAULT_LOCAL_NAME_POLICY, [dns(long)])).toHaveLength(1);
    expect(refusal([dns(`a${long}`)]).code).toBe('NAME_INVALID');
  });

  it('quotes names in messages safely', () => {
    const error = refusal([dns('bad\nname.local.test')]);
    expect(error.message).toContain('"bad\\nname.local.test"');
  });
});

describe('checkNames with another policy (data, not code)', () => {
  const policy: NamePolicy = {
    dnsNames: ['exact.example'],
    dnsSuffixes: ['corp.example'],
    uriPrefixes: ['spiffe://corp.example/'],
    ipAddresses: ['10.0.0.1', '2001:db8::1'],
  };

  it('allows what it lists, with IPs compared in canonical form', () => {
    expect(
      checkNames(policy, [dns('exact.example'), dns('x.corp.example'), ip('10.0.0.1'), ip('2001:DB8:0:0::1')]),
    ).toEqual([dns('exact.example'), dns('x.corp.example'), ip('10.0.0.1'), ip('2001:db8::1')]);
    expect(refusal([ip('10.0.0.2')], policy).code).toBe('NAME_NOT_ALLOWED');
    expect(refusal([dns('api.local.test')], policy).code).toBe('NAME_NOT_ALLOWED');
  });
});

describe('IP address text', () => {
  it.each([
    ['10.1.2.3', '0a010203', '10.1.2.3'],
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['2001:DB8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201', '::ffff:c000:201'],
    ['fe80::', 'fe800000000000000000000000000000', 'fe80::'],
  ])('parses %s and formats it per RFC 5952', (text, bytes, canonical) => {
    const parsed = parseIpAddress(text);
    expect(Buffer.from(parsed ?? []).toString('hex')).toBe(bytes);
    expect(formatIpAddress(parsed ?? new Uint8Array())).toBe(canonical);
  });

  it.each([
    '256.1.1.1',
    '1.2.3.4.5',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    '12345::',
    '1.2.3.4::',
    'g::1',
    '',
  ])('refuses %j', (text) => {
    expect(parseIpAddress(text)).toBeUndefined();
  });
});
