import { domainToASCII, domainToUnicode } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError, ValidationError } from '#lib/domain/errors.ts';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import {
  MAX_NAMES,
  normalizeDnsName,
  normalizeIpAddress,
  normalizeName,
  normalizeNames,
  normalizeUri,
  quoteName,
} from '#lib/domain/name-normalizer.ts';

const dns = (value: string): SubjectAltName => ({ type: 'dns', value });
const uri = (value: string): SubjectAltName => ({ type: 'uri', value });
const ip = (value: string): SubjectAltName => ({ type: 'ip', value });

/** The error a call throws; fails the test when it does not throw a ControlPlaneError. */
function thrown(fn: () => unknown): ControlPlaneError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError);
    return error as ControlPlaneError;
  }
  throw new Error('expected a refusal');
}

function expectInvalid(fn: () => unknown): ControlPlaneError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(ValidationError);
  expect(error.code).toBe('NAME_INVALID');
  expect(error.status).toBe(400);
  return error;
}

describe('normalizeDnsName', () => {
  it.each([
    ['API.Local.Test', 'api.local.test'],
    ['localhost', 'localhost'],
    ['a.b-c.local.test', 'a.b-c.local.test'],
    ['XN--BCHER-KVA.Example', 'xn--bcher-kva.example'],
    ['a1.example.com', 'a1.example.com'],
    ['1a.example', '1a.example'],
    ['123.example', '123.example'],
    ['example.a1', 'example.a1'],
  ])('normalizes %j to %j', (input, value) => {
    expect(normalizeDnsName(input)).toEqual({ type: 'dns', value, wildcard: false });
  });

  it('accepts a 63-character label and a 253-character name, and refuses one more of each', () => {
    const label = 'a'.repeat(63);
    expect(normalizeDnsName(`${label}.local.test`).value).toBe(`${label}.local.test`);
    expectInvalid(() => normalizeDnsName(`${label}a.local.test`));
    const long = `${'a'.repeat(50)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.local.test`;
    expect(long).toHaveLength(253);
    expect(normalizeDnsName(long).value).toBe(long);
    expect(normalizeDnsName(long.toUpperCase()).value).toBe(long);
    expectInvalid(() => normalizeDnsName(`a${long}`));
    expectInvalid(() => normalizeDnsName(`${'a.'.repeat(127)}local.test`));
  });

  it.each([
    ['empty', ''],
    ['trailing dot', 'api.local.test.'],
    ['only a dot', '.'],
    ['leading dot', '.api.local.test'],
    ['empty label', 'a..local.test'],
    ['leading hyphen', '-api.local.test'],
    ['trailing hyphen', 'api-.local.test'],
    ['underscore', 'under_score.local.test'],
    ['space', 'spa ce.local.test'],
    ['tab', 'a\tb.local.test'],
    ['NUL', 'a\u0000.local.test'],
    ['newline', 'bad\nname.local.test'],
    ['DEL', 'a\u007f.local.test'],
    ['non-ASCII Latin', 'é.local.test'],
    ['Kelvin sign (lower-cases to ASCII "k")', '\u212Aey.local.test'],
    ['Cyrillic а', '\u0430pple.com'],
    ['fullwidth letters', 'ａｐｉ.local.test'],
    ['all-digit last label', '1.2.3.4'],
    ['all-digit TLD', 'api.example.123'],
    ['IPv6 text', '::1'],
    ['slash', 'a/b.example'],
    ['colon', 'a:80.example'],
  ])('refuses %s with NAME_INVALID', (_, name) => {
    expectInvalid(() => normalizeDnsName(name));
  });

  it('names the refused name in the error, quoted and shortened', () => {
    const error = expectInvalid(() => normalizeDnsName('bad\nname.local.test'));
    expect(error.message).toContain('"bad\\nname.local.test"');
    expect(error.details).toEqual({ name: 'bad\nname.local.test' });
    const long = expectInvalid(() => normalizeDnsName('x'.repeat(5000)));
    expect(long.message.length).toBeLessThan(400);
    expect(String(long.details?.name)).toHaveLength(256);
  });

  it('quoteName escapes control characters and shortens long names', () => {
    expect(quoteName('a\u0000b')).toBe('"a\\u0000b"');
    expect(quoteName('y'.repeat(150))).toBe(`"${'y'.repeat(100)}…"`);
  });

  describe('wildcards', () => {
    it('accepts a leftmost "*" label over at least two labels, and flags it', () => {
      expect(normalizeDnsName('*.a.b')).toEqual({ type: 'dns', value: '*.a.b', wildcard: true });
      expect(normalizeDnsName('*.API.Example.Internal')).toEqual({
        type: 'dns',
        value: '*.api.example.internal',
        wildcard: true,
      });
    });

    it.each([
      '*',
      '*.b',
      '*.*.b',
      '*.*.a.b',
      'a*.b.c',
      '*a.b.c',
      'a.*.b',
      'a.b.*',
      '**.a.b',
      '*.a.b.',
      '*.a.1',
      '*..a.b',
    ])('refuses %j', (name) => {
      expectInvalid(() => normalizeDnsName(name));
    });
  });

  describe('IDNA A-labels', () => {
    it('accepts a valid single-script A-label (bücher)', () => {
      expect(domainToUnicode('xn--bcher-kva')).toBe('bücher');
      expect(normalizeDnsName('xn--bcher-kva.example')).toEqual({
        type: 'dns',
        value: 'xn--bcher-kva.example',
        wildcard: false,
      });
    });

    it('accepts Japanese Han with Hiragana (a combination a writing system uses)', () => {
      const aLabel = domainToASCII('東京のすし');
      expect(aLabel.startsWith('xn--')).toBe(true);
      expect(normalizeDnsName(`${aLabel}.example`).value).toBe(`${aLabel}.example`);
      expect(normalizeDnsName(`api.${domainToASCII('日本語')}.jp`).value).toBe(`api.${domainToASCII('日本語')}.jp`);
    });

    it.each([
      ['xn--zz.example', 'does not decode'],
      ['xn--a.example', 'does not decode'],
      ['xn--xn--bcher-kva.example', 'does not decode'],
      ['xn--ss-.example', 'decodes to plain ASCII "ss", so it is not the canonical spelling'],
      ['xn--bcher-kva-.example', 'decodes to ASCII'],
    ])('refuses the invalid A-label %j (%s)', (name) => {
      expectInvalid(() => normalizeDnsName(name));
    });

    it('refuses a "xn--" label that decodes to nothing', () => {
      expect(domainToUnicode('xn--zz')).toBe('');
      const error = expectInvalid(() => normalizeDnsName('xn--zz.example'));
      expect(error.message).toContain('not a valid IDNA A-label');
    });

    it('refuses an A-label mixing Cyrillic and Latin (xn--pple-43d = "аpple")', () => {
      expect(domainToUnicode('xn--pple-43d')).toBe('\u0430pple');
      const error = expectInvalid(() => normalizeDnsName('xn--pple-43d.com'));
      expect(error.message).toContain('mixes scripts');
    });
  });
});

describe('normalizeUri', () => {
  it.each([
    'spiffe://local.test/ns/prod/sa/api',
    'spiffe://local.test/a',
    'spiffe://example.internal/Ns/Prod/SA_1.x-y',
    'spiffe://a-b.c_d/x',
    'https://Example.COM/Path?q=1#frag',
    'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
  ])('accepts %j unchanged (a URI is matched as written)', (value) => {
    expect(normalizeUri(value)).toEqual({ type: 'uri', value, wildcard: false });
  });

  it.each([
    ['upper-case trust domain', 'spiffe://Local.test/a'],
    ['upper-case scheme', 'SPIFFE://local.test/a'],
    ['no path', 'spiffe://local.test'],
    ['root path only', 'spiffe://local.test/'],
    ['trailing slash', 'spiffe://local.test/a/'],
    ['empty segment', 'spiffe://local.test/a//b'],
    ['dot segment', 'spiffe://local.test/a/./b'],
    ['dot-dot segment', 'spiffe://local.test/a/../b'],
    ['final dot-dot', 'spiffe://local.test/..'],
    ['query', 'spiffe://local.test/a?x=1'],
    ['fragment', 'spiffe://local.test/a#x'],
    ['port', 'spiffe://local.test:8443/a'],
    ['user info', 'spiffe://user@local.test/a'],
    ['percent-encoding', 'spiffe://local.test/a%20b'],
    ['non-ASCII segment', 'spiffe://local.test/ü'],
    ['empty trust domain', 'spiffe:///a'],
    ['not a URI', 'not a uri'],
    ['relative', '/just/a/path'],
    ['space', 'https://example.com/a b'],
    ['NUL', 'https://example.com/a\u0000'],
    ['too long', `https://example.com/${'a'.repeat(2048)}`],
    ['empty', ''],
  ])('refuses %s with NAME_INVALID', (_, value) => {
    expectInvalid(() => normalizeUri(value));
  });
});

describe('normalizeIpAddress', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3', '0a010203'],
    ['2001:DB8::1', '2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', '20010db8000000000000000000000001'],
    ['::1', '::1', '00000000000000000000000000000001'],
  ])('normalizes %j to %j with its octets', (input, value, hex) => {
    const n = normalizeIpAddress(input);
    expect(n.type).toBe('ip');
    expect(n.value).toBe(value);
    expect(n.wildcard).toBe(false);
    expect(Buffer.from(n.ip ?? []).toString('hex')).toBe(hex);
  });

  it.each([
    '::ffff:10.0.0.1',
    '::FFFF:10.0.0.1',
    '::ffff:a00:1',
    '0:0:0:0:0:ffff:10.0.0.1',
    '0000:0000:0000:0000:0000:ffff:0a00:0001',
  ])('normalizes the IPv4-mapped %j to the IPv4 address, one spelling per name', (input) => {
    const n = normalizeIpAddress(input);
    expect(n.value).toBe('10.0.0.1');
    expect(Buffer.from(n.ip ?? []).toString('hex')).toBe('0a000001');
  });

  it.each([
    ['::10.0.0.1', '::a00:1'],
    ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
    ['2002:a00:1::', '2002:a00:1::'],
  ])('keeps %j (IPv4-compatible, NAT64, 6to4) an IPv6 address: verifiers do not read it as IPv4', (input, value) => {
    const n = normalizeIpAddress(input);
    expect(n.value).toBe(value);
    expect(n.ip).toHaveLength(16);
  });

  it.each(['1.2.3', '01.2.3.4', '1::2::3', 'fe80::1%eth0', '256.0.0.1', 'localhost', ''])(
    'refuses %j with NAME_INVALID',
    (value) => {
      expectInvalid(() => normalizeIpAddress(value));
    },
  );
});

describe('normalizeName', () => {
  it('dispatches on the type', () => {
    expect(normalizeName(dns('A.Example')).value).toBe('a.example');
    expect(normalizeName(uri('spiffe://x/A')).value).toBe('spiffe://x/A');
    expect(normalizeName(ip('2001:db8:0:0:1:0:0:1')).value).toBe('2001:db8::1:0:0:1');
    expect(normalizeName(ip('::ffff:192.0.2.1')).value).toBe('192.0.2.1');
  });
});

describe('normalizeNames', () => {
  it('normalizes in order and removes duplicates (after normalization, per type)', () => {
    expect(
      normalizeNames([
        dns('API.Local.Test'),
        dns('localhost'),
        dns('api.local.test'),
        uri('spiffe://local.test/ns/prod/sa/api'),
        uri('spiffe://local.test/ns/prod/sa/api'),
        uri('spiffe://local.test/ns/prod/sa/API'),
        ip('2001:DB8::1'),
        ip('2001:db8:0::1'),
        ip('10.0.0.1'),
        ip('::ffff:10.0.0.1'),
        dns('10.0.0.1.example'),
      ]).map(({ type, value }) => ({ type, value })),
    ).toEqual([
      dns('api.local.test'),
      dns('localhost'),
      uri('spiffe://local.test/ns/prod/sa/api'),
      uri('spiffe://local.test/ns/prod/sa/API'),
      ip('2001:db8::1'),
      ip('10.0.0.1'),
      dns('10.0.0.1.example'),
    ]);
  });

  it('refuses an empty request with CSR_NO_NAMES (400)', () => {
    const error = thrown(() => normalizeNames([]));
    expect(error.code).toBe('CSR_NO_NAMES');
    expect(error.status).toBe(400);
  });

  it(`accepts ${MAX_NAMES} names and refuses ${MAX_NAMES + 1} with TOO_MANY_NAMES (400), even duplicates`, () => {
    expect(MAX_NAMES).toBe(100);
    const names = Array.from({ length: 100 }, (_, i) => dns(`n${i}.example`));
    expect(normalizeNames(names)).toHaveLength(100);
    const error = thrown(() => normalizeNames([...names, dns('one-more.example')]));
    expect(error.code).toBe('TOO_MANY_NAMES');
    expect(error.status).toBe(400);
    const dupes = Array.from({ length: 101 }, () => dns('same.example'));
    expect(thrown(() => normalizeNames(dupes)).code).toBe('TOO_MANY_NAMES');
  });

  it('refuses the whole request when one name is invalid', () => {
    expectInvalid(() => normalizeNames([dns('ok.example'), dns('bad..example')]));
  });
});
