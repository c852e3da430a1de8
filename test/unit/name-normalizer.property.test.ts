import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#lib/domain/errors.ts';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import { normalizeDnsName, normalizeName, normalizeNames, normalizeUri } from '#lib/domain/name-normalizer.ts';

/** Properties of the name normalizer over generated names (fast-check, fixed seed for repeatability). */

const runs = { numRuns: 400, seed: 20261124 };

type Outcome = { ok: true; value: string; wildcard: boolean } | { ok: false; code: string };

/** Normalizes, and fails the property on any exception other than a 400 NAME_INVALID. */
function outcome(normalize: () => { value: string; wildcard: boolean }): Outcome {
  try {
    const { value, wildcard } = normalize();
    return { ok: true, value, wildcard };
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const { code, status } = error as ValidationError;
    expect({ code, status }).toEqual({ code: 'NAME_INVALID', status: 400 });
    return { ok: false, code };
  }
}

const dnsOutcome = (name: string) => outcome(() => normalizeDnsName(name));

/** Strings built from the characters DNS names are made of (and a few that are not), so that many are valid. */
const dnsish = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'z', 'A', 'Q', '0', '7', '-', '.', '.', '*') },
      { weight: 1, arbitrary: fc.constantFrom('xn--', 'xn--bcher-kva', 'XN--', 'com', 'www', '_', ' ', 'é', '\u212A') },
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/).filter((l) => l.slice(2, 4) !== '--');
const validName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 5 }), fc.stringMatching(/^[a-z]{2,8}$/))
  .map(([labels, tld]) => `${labels.join('.')}.${tld}`)
  .filter((n) => n.length <= 253);

/** Any string with a character outside printable ASCII (\x21-\x7e), look-alikes and controls included. */
const outside = fc.oneof(
  fc.constantFrom(
    ' ',
    '\u0000',
    '\t',
    '\n',
    '\u007f',
    '\u0080',
    '\u00a0',
    '\u212A',
    '\u0430',
    '\u0131',
    '\uff41',
    '\ud800',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }).filter((s) => /[^\x21-\x7e]/.test(s)),
);

const allStrings = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
  dnsish,
);

describe('DNS name normalization (properties)', () => {
  it('is idempotent: a normalized name normalizes to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          dnsish,
          validName,
          validName.map((n) => n.toUpperCase()),
        ),
        (name) => {
          const first = dnsOutcome(name);
          if (!first.ok) return;
          expect(dnsOutcome(first.value)).toEqual(first);
        },
      ),
      runs,
    );
  });

  it('always outputs lower-case printable ASCII of at most 253 characters, "*" only as the whole first label', () => {
    fc.assert(
      fc.property(fc.oneof(dnsish, fc.string({ unit: 'grapheme-ascii', maxLength: 300 })), (name) => {
        const result = dnsOutcome(name);
        if (!result.ok) return;
        expect(result.value).toMatch(/^[a-z0-9.*-]{1,253}$/);
        expect(result.value).toBe(name.toLowerCase());
        expect(result.value.split('.').every((l) => l.length >= 1 && l.length <= 63)).toBe(true);
        expect(result.value.slice(result.wildcard ? 2 : 0)).not.toContain('*');
        expect(result.wildcard).toBe(result.value.startsWith('*.'));
      }),
      runs,
    );
  });

  it('accepts every well-formed lower-case name, in any case', () => {
    fc.assert(
      fc.property(validName, fc.boolean(), (name, upper) => {
        expect(dnsOutcome(upper ? name.toUpperCase() : name)).toEqual({ ok: true, value: name, wildcard: false });
      }),
      runs,
    );
  });

  it('refuses every name containing a character outside \\x21-\\x7e, wherever it is', () => {
    fc.assert(
      fc.property(fc.oneof(validName, dnsish), outside, fc.nat(), (name, inserted, at) => {
        const i = at % (name.length + 1);
        expect(dnsOutcome(`${name.slice(0, i)}${inserted}${name.slice(i)}`)).toEqual({
          ok: false,
          code: 'NAME_INVALID',
        });
      }),
      runs,
    );
  });

  it('never throws anything but a 400 NAME_INVALID, whatever the input', () => {
    fc.assert(
      fc.property(allStrings, (name) => {
        dnsOutcome(name);
        outcome(() => normalizeUri(name));
        outcome(() => normalizeName({ type: 'ip', value: name }));
      }),
      runs,
    );
  });

  it('URIs are matched as written: a normalized URI is the input, and normalizes to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          allStrings,
          fc.webUrl(),
          fc
            .array(fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/), { minLength: 1, maxLength: 4 })
            .map((segments) => `spiffe://example.internal/${segments.join('/')}`),
        ),
        (name) => {
          const result = outcome(() => normalizeUri(name));
          if (!result.ok) return;
          expect(result.value).toBe(name);
          expect(outcome(() => normalizeUri(result.value))).toEqual(result);
        },
      ),
      runs,
    );
  });

  it('normalizeNames keeps the first of each normalized name, in order', () => {
    const entry: fc.Arbitrary<SubjectAltName> = fc.oneof(
      validName.map((value) => ({ type: 'dns' as const, value })),
      validName.map((value) => ({ type: 'dns' as const, value: value.toUpperCase() })),
      fc.ipV4().map((value) => ({ type: 'ip' as const, value })),
    );
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 100 }), (names) => {
        const out = normalizeNames(names);
        const keys = out.map((n) => `${n.type}:${n.value}`);
        expect(new Set(keys).size).toBe(keys.length);
        const expected = [...new Set(names.map((n) => `${n.type}:${normalizeName(n).value}`))];
        expect(keys).toEqual(expected);
      }),
      runs,
    );
  });
});
