import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { principalPattern } from '#lib/domain/policy.ts';
import { compilePrincipalPattern, normalizeIamArn, type Principal, principalMatches } from '#lib/domain/principal.ts';

/**
 * The principal glob matcher (issue #8 item 6): examples, equivalence with the regular expressions it replaced
 * (fast-check, fixed seed), and the hostile patterns that used to stall issuance, judged by their results and by the
 * number of characters read, never by a timing.
 */

const runs = { numRuns: 2000, seed: 20261125 };
const ACCOUNT = '123456789012';
const ROLE_NAME = 'payments-api-production-eu-west-1';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE_NAME}`;

/** The compiler this matcher replaced, kept verbatim as the oracle of the meaning to preserve. */
function compileWithRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`);
}

const matches = (pattern: string, key: string) => compilePrincipalPattern(pattern).test(key);

/**
 * Matches through a stand-in key that counts the characters the matcher reads. The stand-in offers only `length`
 * and `charCodeAt`: should the matcher ever read the key another way, it throws instead of under-counting.
 */
function matchCountingReads(pattern: string, key: string): { matched: boolean; reads: number } {
  let reads = 0;
  const countingKey = {
    length: key.length,
    charCodeAt(index: number) {
      reads++;
      return key.charCodeAt(index);
    },
  };
  const matched = compilePrincipalPattern(pattern).test(countingKey as unknown as string);
  return { matched, reads };
}

/** The bound the matcher's TSDoc promises. */
const readBound = (pattern: string, key: string) => (pattern.length + 1) * (key.length + 1);

const local = (name: string): Principal => ({ kind: 'local-token', id: `local:${name}` });
function iam(id: string): Principal {
  return { kind: 'iam', id, arn: normalizeIamArn(id), accountId: ACCOUNT, userId: 'AROAEXAMPLE:session' };
}

describe('compilePrincipalPattern: examples', () => {
  it.each([
    // IAM role and user ARNs
    [`arn:aws:iam::${ACCOUNT}:role/payments-*`, `arn:aws:iam::${ACCOUNT}:role/payments-api`, true],
    [`arn:aws:iam::${ACCOUNT}:role/payments-*`, `arn:aws:iam::${ACCOUNT}:role/payments-`, true],
    [`arn:aws:iam::${ACCOUNT}:role/payments-*`, `arn:aws:iam::${ACCOUNT}:role/payments`, false],
    [`arn:aws:iam::${ACCOUNT}:role/payments-*`, `arn:aws:iam::${ACCOUNT}:role/Payments-api`, false],
    [`arn:aws:iam::${ACCOUNT}:role/payments-*`, `arn:aws:iam::${ACCOUNT}:user/payments-api`, false],
    [`arn:aws:iam::*:role/deployer`, `arn:aws:iam::${ACCOUNT}:role/deployer`, true],
    [`arn:aws:iam::*:role/deployer`, `arn:aws:iam::${ACCOUNT}:role/deployer-2`, false],
    [`arn:aws:iam::${ACCOUNT}:user/auditor-?`, `arn:aws:iam::${ACCOUNT}:user/auditor-1`, true],
    [`arn:aws:iam::${ACCOUNT}:user/auditor-?`, `arn:aws:iam::${ACCOUNT}:user/auditor-`, false],
    [`arn:aws:iam::${ACCOUNT}:user/auditor-?`, `arn:aws:iam::${ACCOUNT}:user/auditor-12`, false],
    // `*` and `?` match `/` too: a role path is part of what a star matches
    [`arn:aws:iam::${ACCOUNT}:role/*`, `arn:aws:iam::${ACCOUNT}:role/team/ci/deployer`, true],
    [`arn:aws:iam::${ACCOUNT}:role/*/deployer`, `arn:aws:iam::${ACCOUNT}:role/team/ci/deployer`, true],
    [`arn:aws:iam::${ACCOUNT}:role/?`, `arn:aws:iam::${ACCOUNT}:role//`, true],
    // local principals
    ['local:admin', 'local:admin', true],
    ['local:admin', 'local:admin2', false],
    ['local:admin', 'xlocal:admin', false],
    ['local:svc-?', 'local:svc-7', true],
    ['local:svc-??', 'local:svc-7', false],
    ['local:*', 'local:', true],
    ['local:*', 'local', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    // runs of stars and wildcards side by side
    ['local:**', 'local:x', true],
    ['local:*?*', 'local:', false],
    ['local:*?*', 'local:x', true],
    ['local:?*?', 'local:x', false],
    ['local:?*?', 'local:xy', true],
    // head and tail may not overlap
    ['ab*ba', 'aba', false],
    ['ab*ba', 'abba', true],
    ['a*a*a', 'aa', false],
    ['a*a*a', 'aaa', true],
    // the leftmost placement of a middle segment must leave room for the tail
    ['*ab*b', 'xabb', true],
    ['*ab*ab', 'abab', true],
    ['*ab*ab', 'aab', false],
    ['*a*ba', 'bbba', false],
    ['*ab*ba*', 'abab', false],
    ['*ab*ba*', 'abba', true],
    // regular-expression metacharacters are themselves
    ['local:a.b', 'local:a.b', true],
    ['local:a.b', 'local:axb', false],
    [`arn:aws:iam::${ACCOUNT}:role/a+b`, `arn:aws:iam::${ACCOUNT}:role/a+b`, true],
    [`arn:aws:iam::${ACCOUNT}:role/a+b`, `arn:aws:iam::${ACCOUNT}:role/aab`, false],
    ['local:(x)', 'local:(x)', true],
    ['local:(x)', 'local:x', false],
    ['local:[ab]', 'local:[ab]', true],
    ['local:[ab]', 'local:a', false],
    ['local:^x$|y', 'local:^x$|y', true],
    ['local:a{2}', 'local:aa', false],
    ['local:a\\d', 'local:a\\d', true],
    ['local:a\\d', 'local:a1', false],
    // as with the regular expressions' `.`, wildcards match no line terminator
    ['local:*', 'local:a\nb', false],
    ['local:a?b', 'local:a\rb', false],
    ['local:*', 'local:a\u2028', false],
  ])('%j against %j: %s', (pattern, key, expected) => {
    expect(matches(pattern, key)).toBe(expected);
    expect(compileWithRegExp(pattern).test(key), 'the oracle agrees with the example').toBe(expected);
  });

  it('refuses a pattern of more than one line, which the schema never accepts', () => {
    for (const pattern of ['local:a\nb', '*\r?', 'local:\u2028']) {
      expect(principalPattern.safeParse(pattern).success).toBe(false);
      expect(() => compilePrincipalPattern(pattern)).toThrow(RangeError);
    }
  });

  it('keeps the pattern as written', () => {
    expect(compilePrincipalPattern('local:svc-*').source).toBe('local:svc-*');
  });
});

describe('principalMatches', () => {
  const patterns = [`arn:aws:iam::${ACCOUNT}:role/app-*`, 'local:svc-?'].map(compilePrincipalPattern);

  it('matches IAM callers by role ARN (assumed-role sessions included) and local callers by id', () => {
    expect(principalMatches(patterns, iam(`arn:aws:iam::${ACCOUNT}:role/app-web`))).toBe(true);
    expect(principalMatches(patterns, iam(`arn:aws:sts::${ACCOUNT}:assumed-role/app-web/i-0abc`))).toBe(true);
    expect(principalMatches(patterns, iam(`arn:aws:sts::${ACCOUNT}:assumed-role/web/app-x`))).toBe(false);
    expect(principalMatches(patterns, local('svc-1'))).toBe(true);
    expect(principalMatches(patterns, local('svc-10'))).toBe(false);
  });

  it('never matches an enrollment token, even with a pattern that matches everything', () => {
    const token: Principal = {
      kind: 'enrollment-token',
      id: 'enrollment:0123456789abcdef',
      tokenHash: 'ab'.repeat(32),
    };
    expect(principalMatches([compilePrincipalPattern('*')], token)).toBe(false);
  });
});

describe('compilePrincipalPattern: the same meaning as the regular expressions it replaced (properties)', () => {
  const patternOver = (alphabet: string, maxLength: number) =>
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength });
  const keyOver = (alphabet: string, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), maxLength });

  it('agrees on random patterns and keys over two letters, where segments collide and overlap most', () => {
    fc.assert(
      fc.property(patternOver('ab*?', 10), keyOver('ab', 12), (pattern, key) => {
        expect(matches(pattern, key)).toBe(compileWithRegExp(pattern).test(key));
      }),
      runs,
    );
  });

  it('agrees on random patterns and keys with metacharacters', () => {
    fc.assert(
      fc.property(patternOver('ab*?.:/', 10), keyOver('ab.:/', 14), (pattern, key) => {
        expect(matches(pattern, key)).toBe(compileWithRegExp(pattern).test(key));
      }),
      runs,
    );
  });

  it('agrees with line terminators in keys', () => {
    fc.assert(
      fc.property(patternOver('ab*?', 10), keyOver('ab\n\r\u2029', 12), (pattern, key) => {
        expect(matches(pattern, key)).toBe(compileWithRegExp(pattern).test(key));
      }),
      runs,
    );
  });

  /** A pattern and a key made from it (each `*` filled with a run, each `?` with one character): a match. */
  const patternAndInstance = fc
    .array(
      fc.oneof(
        fc.constantFrom('a', 'b', '.', ':', '/').map((c) => ({ token: c, filler: fc.constant(c) })),
        fc.constant({ token: '?', filler: keyOver('ab.:/', 1).filter((s) => s.length === 1) }),
        fc.constant({ token: '*', filler: keyOver('ab.:/', 6) }),
      ),
      { maxLength: 12 },
    )
    .chain((parts) =>
      fc
        .tuple(...parts.map((p) => p.filler))
        .map((fillers) => ({ pattern: parts.map((p) => p.token).join(''), key: fillers.join('') })),
    );

  it('agrees on keys made to match, and on those keys one edit away', () => {
    fc.assert(
      fc.property(patternAndInstance, fc.nat(), fc.constantFrom('a', 'b', '.', ''), ({ pattern, key }, at, edit) => {
        expect(matches(pattern, key)).toBe(true);
        expect(compileWithRegExp(pattern).test(key)).toBe(true);
        const i = key.length === 0 ? 0 : at % key.length;
        for (const edited of [key.slice(0, i) + edit + key.slice(i + 1), key.slice(0, i) + edit + key.slice(i)]) {
          expect(matches(pattern, edited)).toBe(compileWithRegExp(pattern).test(edited));
        }
      }),
      runs,
    );
  });

  it('reads at most (|pattern| + 1) · (|key| + 1) characters of the key', () => {
    fc.assert(
      fc.property(patternOver('aab**?', 40), keyOver('aab\n', 80), (pattern, key) => {
        const { matched, reads } = matchCountingReads(pattern, key);
        expect(matched).toBe(matches(pattern, key));
        expect(reads).toBeLessThanOrEqual(readBound(pattern, key));
      }),
      runs,
    );
  });
});

describe('hostile patterns (issue #8): results stay right and the work stays bounded', () => {
  /** Took 24 to 45 s against a 46-character key with the regular expressions. */
  const stars = 'local:*a*a*a*a*a*a*a*a*a*a*b';
  /** Seven `*?` took 0.1 to 0.5 s against a role ARN with the regular expressions, several times more per pair. */
  const roleStars = (pairs: number) => `arn:aws:iam::${ACCOUNT}:role/${'*?'.repeat(pairs)}*z`;

  it('are patterns the schema accepts, so an admin can write them', () => {
    for (const pattern of [stars, roleStars(7), roleStars(200)])
      expect(principalPattern.safeParse(pattern).success).toBe(true);
  });

  it.each([46, 50, 100, 200, 400, 10_000])('local:*a*a…*b against local:aaa… of length %i', (length) => {
    const key = `local:${'a'.repeat(length - 'local:'.length)}`;
    expect(key).toHaveLength(length);
    const refused = matchCountingReads(stars, key);
    expect(refused.matched).toBe(false);
    expect(refused.reads).toBeLessThanOrEqual(readBound(stars, key));
    const accepted = matchCountingReads(stars, `${key.slice(0, -1)}b`);
    expect(accepted.matched).toBe(true);
    expect(accepted.reads).toBeLessThanOrEqual(readBound(stars, key));
  });

  it('the same stars with the `b` in the middle instead: every segment must be searched for', () => {
    const middle = 'local:*a*a*a*a*a*a*a*a*a*a*b*';
    for (const length of [50, 100, 200, 400]) {
      const key = `local:${'a'.repeat(length - 'local:'.length)}`;
      const { matched, reads } = matchCountingReads(middle, key);
      expect(matched).toBe(false);
      expect(reads).toBeLessThanOrEqual(readBound(middle, key));
      expect(matches(middle, `${key}b`)).toBe(true);
      expect(matches(middle, `${key}ba`)).toBe(true);
    }
  });

  it.each([7, 8, 20, 200])('%i `*?` pairs against a realistic role ARN', (pairs) => {
    const pattern = roleStars(pairs);
    const refused = matchCountingReads(pattern, ROLE_ARN);
    expect(refused.matched).toBe(false);
    expect(refused.reads).toBeLessThanOrEqual(readBound(pattern, ROLE_ARN));
    // Each `?` and the `z` take one character of the role name.
    const longEnough = pairs + 1 <= ROLE_NAME.length;
    expect(matches(pattern, `${ROLE_ARN.slice(0, -1)}z`)).toBe(longEnough);
    expect(matches(pattern, `${ROLE_ARN}z`)).toBe(longEnough);
  });

  it('the longest pattern the schema accepts, against a 2,048-character key, within the bound', () => {
    // The matcher's own worst case: a long middle segment that almost matches at every position.
    const pattern = `local:*${'a'.repeat(252)}b*${'a'.repeat(251)}`;
    expect(pattern).toHaveLength(512);
    expect(principalPattern.safeParse(pattern).success).toBe(true);
    const key = `local:${'a'.repeat(2048 - 'local:'.length)}`;
    const { matched, reads } = matchCountingReads(pattern, key);
    expect(matched).toBe(false);
    expect(reads).toBeLessThanOrEqual(readBound(pattern, key));
  });
});
