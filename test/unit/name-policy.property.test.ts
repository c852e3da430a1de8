import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import { checkNames, DEFAULT_LOCAL_NAME_POLICY, type NamePolicy } from '#lib/domain/name-policy.ts';

/** Properties of the name normalizer and matcher, over generated names (fast-check, fixed seed for repeatability). */

const runs = { numRuns: 2000, seed: 20261123 };
const policy: NamePolicy = { ...DEFAULT_LOCAL_NAME_POLICY, dnsSuffixes: ['local.test', 'svc.example.internal'] };

function outcome(name: string): { ok: true; value: string } | { ok: false; code: string } {
  try {
    const [checked] = checkNames(policy, [{ type: 'dns', value: name }]);
    return { ok: true, value: checked?.value ?? '' };
  } catch (error) {
    if (error instanceof ControlPlaneError) return { ok: false, code: error.code };
    throw error;
  }
}

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
const allowedName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.constantFrom('local.test', 'svc.example.internal'))
  .map(([labels, suffix]) => `${labels.join('.')}.${suffix}`)
  .filter((n) => n.length <= 253);

describe('DNS name normalization and matching (properties)', () => {
  it('never throws anything but a ControlPlaneError, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (name) => {
        outcome(name);
      }),
      runs,
    );
  });

  it('accepts only lower-case LDH names of at most 253 characters, under an allowed suffix', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), (name) => {
        const result = outcome(name);
        if (!result.ok) return;
        expect(result.value).toMatch(/^[a-z0-9.-]{1,253}$/);
        expect(
          result.value.endsWith('.local.test') ||
            result.value.endsWith('.svc.example.internal') ||
            result.value === 'localhost',
        ).toBe(true);
      }),
      runs,
    );
  });

  it('is idempotent: a normalized name normalizes to itself', () => {
    fc.assert(
      fc.property(allowedName, fc.boolean(), (name, upper) => {
        const first = outcome(upper ? name.toUpperCase() : name);
        expect(first).toEqual({ ok: true, value: name });
        expect(outcome(name)).toEqual(first);
      }),
      runs,
    );
  });

  it('refuses every name with a character outside printable ASCII, look-alikes included', () => {
    const nonAscii = fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }).filter((s) => /[^\x21-\x7e]/.test(s));
    fc.assert(
      fc.property(allowedName, nonAscii, fc.nat(), (name, inserted, at) => {
        const i = at % (name.length + 1);
        const result = outcome(`${name.slice(0, i)}${inserted}${name.slice(i)}`);
        expect(result).toEqual({ ok: false, code: 'NAME_INVALID' });
      }),
      runs,
    );
    // The Kelvin sign lower-cases to ASCII "k"; it must not become key.local.test.
    expect(outcome('\u212Aey.local.test')).toEqual({ ok: false, code: 'NAME_INVALID' });
  });

  it('never allows a name outside the policy, however it is dressed', () => {
    fc.assert(
      fc.property(label, fc.constantFrom('', '.', '..', '-', 'x'), (l, glue) => {
        for (const name of [
          `${l}.local.test${glue}evil.com`,
          `${l}local.test`,
          `${l}.local.test.`,
          `*.${l}.local.test`,
        ]) {
          const result = outcome(name);
          if (result.ok) expect(result.value.endsWith('.local.test')).toBe(true);
          if (result.ok) expect(result.value).not.toContain('*');
        }
      }),
      runs,
    );
  });
});
