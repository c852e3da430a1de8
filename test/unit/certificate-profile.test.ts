import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, parseValidity, resolveProfile, resolveValidity } from '#lib/domain/certificate-profile.ts';
import { ValidationError } from '#lib/domain/errors.ts';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).code;
  }
  return undefined;
}

describe('certificate profiles', () => {
  it('offers server (serverAuth) and client (clientAuth), server by default, 24h default and 90d maximum', () => {
    const server = resolveProfile(DEFAULT_PROFILES, undefined);
    expect(server.name).toBe('server');
    expect(server.extendedKeyUsages).toEqual(['serverAuth']);
    expect(resolveProfile(DEFAULT_PROFILES, 'client').extendedKeyUsages).toEqual(['clientAuth']);
    for (const profile of DEFAULT_PROFILES.profiles.values()) {
      expect(profile.defaultValiditySeconds).toBe(24 * 3600);
      expect(profile.maxValiditySeconds).toBe(90 * 86_400);
    }
  });

  it.each(['admin', 'Server', '', '__proto__', 'toString'])(
    'refuses unknown profile %j with PROFILE_UNKNOWN',
    (name) => {
      expect(codeOf(() => resolveProfile(DEFAULT_PROFILES, name))).toBe('PROFILE_UNKNOWN');
    },
  );
});

describe('validity', () => {
  it.each([
    ['45s', 45],
    ['90m', 5400],
    ['24h', 86_400],
    ['30d', 2_592_000],
    ['90d', 7_776_000],
  ])('parses %s', (text, seconds) => {
    expect(parseValidity(text)).toBe(seconds);
  });

  it.each(['0h', '-1h', '24', 'h', '1.5h', '24H', '1w', ' 24h', '24h ', '', '1e3s', '0x10h', '24hh', '9999999999999d'])(
    'refuses %j with VALIDITY_INVALID',
    (text) => {
      expect(codeOf(() => parseValidity(text))).toBe('VALIDITY_INVALID');
    },
  );

  it('uses the default when none is asked and refuses, never clamps, what is over the maximum', () => {
    const server = resolveProfile(DEFAULT_PROFILES, 'server');
    expect(resolveValidity(server, undefined)).toBe(86_400);
    expect(resolveValidity(server, '2160h')).toBe(90 * 86_400);
    expect(codeOf(() => resolveValidity(server, '91d'))).toBe('VALIDITY_TOO_LONG');
    expect(codeOf(() => resolveValidity(server, '7776001s'))).toBe('VALIDITY_TOO_LONG');
    expect(codeOf(() => resolveValidity(server, '999999999999d'))).toBe('VALIDITY_TOO_LONG');
    expect(codeOf(() => resolveValidity(server, '0d'))).toBe('VALIDITY_INVALID');
  });

  it('tells the caller what to send', () => {
    expect(() => parseValidity('soon')).toThrow(/"24h"/);
    expect(() => resolveValidity(resolveProfile(DEFAULT_PROFILES, 'server'), '100d')).toThrow(/at most 90d/);
  });
});
