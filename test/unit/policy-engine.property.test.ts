import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '#lib/domain/errors.ts';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import { formatIpAddress, ipInRange, parseIpAddress, parseIpRange } from '#lib/domain/ip-address.ts';
import { nameRulesSchema, type PolicyDocumentInput, policyDocumentSchema } from '#lib/domain/policy.ts';
import { type IssuanceAsk, PolicySet } from '#lib/domain/policy-engine.ts';
import { normalizeIamArn, type Principal } from '#lib/domain/principal.ts';

/** Properties of the policy matcher and of IP ranges (fast-check, fixed seed for repeatability). */

const runs = { numRuns: 300, seed: 20261125 };
const ACCOUNT = '123456789012';

const local = (name: string): Principal => ({ kind: 'local-token', id: `local:${name}` });
function role(name: string): Principal {
  const id = `arn:aws:iam::${ACCOUNT}:role/${name}`;
  return { kind: 'iam', id, arn: normalizeIamArn(id), accountId: ACCOUNT, userId: 'AROAEXAMPLE' };
}
const dns = (value: string): SubjectAltName => ({ type: 'dns', value });
const ask = (names: SubjectAltName[]): IssuanceAsk => ({
  subjectAltNames: names,
  commonNames: [],
  key: { algorithm: 'EC_P256', keySize: 256 },
});

const policySet = (docs: PolicyDocumentInput[], deny?: unknown) =>
  new PolicySet(
    docs.map((d) => policyDocumentSchema.parse(d)),
    deny === undefined ? undefined : nameRulesSchema.parse(deny),
  );

type Outcome = { ok: true; names: SubjectAltName[]; policy: string } | { ok: false; code: string };

function outcome(set: PolicySet, principal: Principal, names: SubjectAltName[]): Outcome {
  try {
    const decision = set.decide(principal, ask(names));
    return { ok: true, names: decision.names, policy: decision.policy };
  } catch (error) {
    if (error instanceof ControlPlaneError) return { ok: false, code: error.code };
    throw error;
  }
}

/** An LDH label that is not an A-label (or another reserved `??--` label). */
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$/).filter((l) => l.slice(2, 4) !== '--');
const tld = fc.stringMatching(/^[a-z]{2,6}$/);
const zone = fc.tuple(fc.array(label, { maxLength: 3 }), tld).map(([labels, last]) => [...labels, last].join('.'));
const dnsName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), tld)
  .map(([labels, last]) => [...labels, last].join('.'));

/** The whole decision, or the refusal's code and details. */
function decision(set: PolicySet, principal: Principal, names: SubjectAltName[]): unknown {
  try {
    return set.decide(principal, ask(names));
  } catch (error) {
    if (error instanceof ControlPlaneError) return { code: error.code, details: error.details };
    throw error;
  }
}

describe('DNS suffix matching (properties)', () => {
  it('allows every name below an allowed zone, and refuses every other name', () => {
    fc.assert(
      fc.property(zone, fc.array(label, { minLength: 1, maxLength: 3 }), dnsName, (z, below, other) => {
        const set = policySet([{ name: 'p', principals: ['local:*'], allow: { dnsSuffixes: [z] } }]);
        const name = `${below.join('.')}.${z}`;
        fc.pre(name.length <= 253);
        expect(outcome(set, local('a'), [dns(name.toUpperCase())])).toEqual({
          ok: true,
          names: [dns(name)],
          policy: 'p',
        });
        const result = outcome(set, local('a'), [dns(other)]);
        if (other.endsWith(`.${z}`)) expect(result.ok).toBe(true);
        else expect(result).toEqual({ ok: false, code: 'NAME_NOT_ALLOWED' });
        // The zone itself is not below it.
        expect(outcome(set, local('a'), [dns(z)])).toEqual({ ok: false, code: 'NAME_NOT_ALLOWED' });
      }),
      runs,
    );
  });

  it('is not fooled by glued or stacked look-alikes of an allowed zone', () => {
    fc.assert(
      fc.property(zone, label, fc.constantFrom('', '-', 'x', '.evil.com', '-evil.com'), (z, l, glue) => {
        const set = policySet([{ name: 'p', principals: ['local:*'], allow: { dnsSuffixes: [z] } }]);
        for (const name of [`${l}${z}`, `${l}.${z}${glue}`, `${l}-${z}`]) {
          if (name.length > 253) continue;
          const result = outcome(set, local('a'), [dns(name)]);
          if (result.ok) expect(result.names[0]?.value.endsWith(`.${z}`)).toBe(true);
        }
      }),
      runs,
    );
  });
});

describe('deny rules (properties)', () => {
  // A small vocabulary, so that allow rules, deny rules and requests often overlap.
  const small = fc.constantFrom('a', 'b', 'c');
  const smallZone = fc.array(small, { maxLength: 2 }).map((labels) => [...labels, 'test'].join('.'));
  const smallName = fc.array(small, { minLength: 1, maxLength: 3 }).map((labels) => [...labels, 'test'].join('.'));
  const request = fc
    .oneof(
      smallName,
      smallName.map((n) => `*.${n}`),
    )
    .filter((n) => n.split('.').length >= 2 && n !== '*.test');
  const rules = fc.record({
    dnsNames: fc.array(
      fc
        .oneof(
          smallName,
          smallName.map((n) => `*.${n}`),
        )
        .filter((n) => n !== '*.test'),
      { maxLength: 3 },
    ),
    dnsSuffixes: fc.array(smallZone, { maxLength: 2 }),
  });

  it('adding deny rules (of the policy or of the configuration) never turns a refusal into an allowance', () => {
    fc.assert(
      fc.property(
        rules,
        rules,
        rules,
        fc.boolean(),
        fc.array(request, { minLength: 1, maxLength: 3 }),
        (allow, deny, globalDeny, wildcards, names) => {
          const base = { name: 'p', principals: ['local:*'], allow, allowWildcardCertificates: wildcards };
          const requested = names.map(dns);
          const without = outcome(policySet([base]), local('a'), requested);
          const withDeny = outcome(policySet([{ ...base, deny }], globalDeny), local('a'), requested);
          if (!without.ok) expect(withDeny.ok).toBe(false);
          if (withDeny.ok) expect(withDeny).toEqual(without);
          // A denied name is refused whatever allows it.
          for (const name of requested) {
            if (deny.dnsNames.includes(name.value) || deny.dnsSuffixes.some((z) => name.value.endsWith(`.${z}`))) {
              expect(outcome(policySet([{ ...base, deny }]), local('a'), [name])).toEqual({
                ok: false,
                code: 'NAME_DENIED',
              });
            }
          }
        },
      ),
      runs,
    );
  });
});

describe('wildcards against deny rules (properties)', () => {
  const small = fc.constantFrom('a', 'b', 'c');
  const labels = (min: number, max: number) =>
    fc.array(small, { minLength: min, maxLength: max }).map((l) => [...l, 'test'].join('.'));
  /** Deny rules over a small vocabulary: exact names, wildcards and zones (the zone `test` denies everything). */
  const denyRules = fc.record({
    dnsNames: fc.array(
      fc.oneof(
        labels(1, 3),
        labels(1, 3).map((n) => `*.${n}`),
      ),
      { maxLength: 3 },
    ),
    dnsSuffixes: fc.array(labels(0, 3), { maxLength: 2 }),
  });
  const parent = (name: string) => name.slice(name.indexOf('.') + 1);
  /** The reference for a plain name: listed, in or at a denied zone, or one label below a denied wildcard's zone. */
  const denied = (rules: { dnsNames: string[]; dnsSuffixes: string[] }, name: string) =>
    rules.dnsNames.includes(name) ||
    rules.dnsNames.includes(`*.${parent(name)}`) ||
    rules.dnsSuffixes.some((zone) => name === zone || name.endsWith(`.${zone}`));

  it('refuses *.Z, at issuance and at token creation, exactly when a deny rule denies some name x.Z', () => {
    fc.assert(
      fc.property(denyRules, denyRules, labels(1, 2), (policyDeny, globalDeny, zone) => {
        const set = policySet(
          [
            {
              name: 'p',
              principals: ['local:*'],
              allow: { dnsSuffixes: ['test'] },
              deny: policyDeny,
              allowWildcardCertificates: true,
            },
          ],
          globalDeny,
        );
        const all = {
          dnsNames: [...policyDeny.dnsNames, ...globalDeny.dnsNames],
          dnsSuffixes: [...policyDeny.dnsSuffixes, ...globalDeny.dnsSuffixes],
        };
        // A label outside the vocabulary stands for every other name below the zone.
        const covered = ['a', 'b', 'c', 'fresh'].map((x) => `${x}.${zone}`);
        for (const name of covered) {
          const result = outcome(set, local('w'), [dns(name)]);
          if (denied(all, name)) expect(result, name).toEqual({ ok: false, code: 'NAME_DENIED' });
          else expect(result.ok, name).toBe(true);
        }
        const wildcard = `*.${zone}`;
        const anyDenied = covered.some((name) => denied(all, name));
        const issued = outcome(set, local('w'), [dns(wildcard)]);
        const bound = (() => {
          try {
            set.checkBinding('p', [dns(wildcard)]);
            return { ok: true };
          } catch (error) {
            if (error instanceof ControlPlaneError) return { ok: false, code: error.code };
            throw error;
          }
        })();
        if (anyDenied) {
          expect(issued).toEqual({ ok: false, code: 'NAME_DENIED' });
          expect(bound).toEqual({ ok: false, code: 'NAME_DENIED' });
        } else {
          expect(issued.ok).toBe(true);
          expect(bound).toEqual({ ok: true });
        }
      }),
      runs,
    );
  });
});

describe('templated names (properties)', () => {
  const set = policySet([
    {
      name: 'by-role',
      principals: [`arn:aws:iam::${ACCOUNT}:role/*`],
      allow: { dnsNames: ['{principalName}.svc.x'], uris: ['spiffe://x/sa/{roleName}'] },
    },
  ]);
  /** IAM role names: letters, digits and + = , . @ _ -, 1 to 64 long; mostly DNS-label shaped. */
  const roleName = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/),
    fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,64}$/),
  );
  const isLabel = (s: string) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(s);

  it("allows exactly the role's own name, and never another role's", () => {
    fc.assert(
      fc.property(roleName, roleName, (mine, theirs) => {
        const own = `${mine.toLowerCase()}.svc.x`;
        const result = outcome(set, role(mine), [dns(own)]);
        // (A role named like a reserved "??--" label only gets its name when that is a valid A-label.)
        if (isLabel(mine.toLowerCase()) && mine.slice(2, 4) !== '--') {
          expect(result).toEqual({ ok: true, names: [dns(own)], policy: 'by-role' });
        } else if (!isLabel(mine.toLowerCase())) {
          expect(result.ok).toBe(false);
        }

        const spiffe = `spiffe://x/sa/${mine}`;
        const uriResult = outcome(set, role(mine), [{ type: 'uri', value: spiffe }]);
        if (/^[A-Za-z0-9._-]+$/.test(mine) && mine !== '.' && mine !== '..') {
          expect(uriResult.ok).toBe(true);
        } else {
          expect(uriResult.ok).toBe(false);
        }

        if (theirs.toLowerCase() !== mine.toLowerCase()) {
          expect(outcome(set, role(mine), [dns(`${theirs.toLowerCase()}.svc.x`)]).ok).toBe(false);
        }
        if (theirs !== mine) {
          expect(outcome(set, role(mine), [{ type: 'uri', value: `spiffe://x/sa/${theirs}` }]).ok).toBe(false);
        }
      }),
      runs,
    );
  });
});

describe('evaluation order (properties)', () => {
  const docs: PolicyDocumentInput[] = [
    {
      name: 'by-role',
      principals: [`arn:aws:iam::${ACCOUNT}:role/*`, 'local:*'],
      allow: { dnsNames: ['{principalName}.svc.x'], uris: ['spiffe://x/ns/{account}/sa/{roleName}'] },
      deny: { dnsNames: ['{principalName}.blocked.x', 'admin.svc.x'] },
      tags: { owner: '{principalName}' },
    },
    { name: 'shared', principals: ['local:a', `arn:aws:iam::${ACCOUNT}:role/b`], allow: { dnsSuffixes: ['shared.x'] } },
  ];
  const who = fc.oneof(
    fc.constantFrom('a', 'b', 'admin', 'Admin').map(role),
    fc.tuple(fc.constantFrom('a', 'b', 'admin'), fc.constantFrom('a', 'b', 's1')).map(([r, session]) => {
      const id = `arn:aws:sts::${ACCOUNT}:assumed-role/${r}/${session}`;
      return { kind: 'iam', id, arn: normalizeIamArn(id), accountId: ACCOUNT, userId: 'AROA:s' } satisfies Principal;
    }),
    fc.constantFrom('a', 'b', 'admin').map(local),
  );
  const name = fc.oneof(
    fc.constantFrom('a', 'b', 'admin', 's1').map((n) => dns(`${n}.svc.x`)),
    fc.constantFrom('a', 'b').map((n) => dns(`${n}.blocked.x`)),
    fc.constantFrom('a', 'b').map((n) => dns(`${n}.shared.x`)),
    fc
      .constantFrom('a', 'b', 's1')
      .map((n): SubjectAltName => ({ type: 'uri', value: `spiffe://x/ns/${ACCOUNT}/sa/${n}` })),
  );

  it('decides each request as a fresh policy set would, whatever was asked before (no state leaks)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(who, fc.array(name, { minLength: 1, maxLength: 2 })), { minLength: 1, maxLength: 12 }),
        (requests) => {
          const shared = policySet(docs);
          for (const [principal, names] of requests) {
            expect(decision(shared, principal, names)).toEqual(decision(policySet(docs), principal, names));
          }
        },
      ),
      runs,
    );
  });
});

describe('IP ranges (properties)', () => {
  const toBigInt = (bytes: Uint8Array) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  /** The reference: same family, and the top prefixLength bits equal. */
  const reference = (address: Uint8Array, network: Uint8Array, prefixLength: number) => {
    if (address.length !== network.length) return false;
    const shift = BigInt(address.length * 8 - prefixLength);
    return toBigInt(address) >> shift === toBigInt(network) >> shift;
  };
  const clearHostBits = (bytes: Uint8Array, prefixLength: number) => {
    const bits = bytes.length * 8;
    const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefixLength)) - 1n);
    let n = toBigInt(bytes) & mask;
    const out = new Uint8Array(bytes.length);
    for (let i = bytes.length - 1; i >= 0; i--) {
      out[i] = Number(n & 0xffn);
      n >>= 8n;
    }
    return out;
  };
  const isMapped = (bytes: Uint8Array) => bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  const family = fc.constantFrom(4, 16);
  const bytesOf = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
  const scenario = family.chain((length) =>
    fc.record({
      address: fc.oneof(bytesOf(length), bytesOf(length === 4 ? 16 : 4)),
      base: bytesOf(length),
      prefixLength: fc.integer({ min: 0, max: length * 8 }),
      nearby: fc.boolean(),
    }),
  );

  it('ipInRange agrees with a BigInt reference, through the text forms', () => {
    fc.assert(
      fc.property(scenario, ({ address, base, prefixLength, nearby }) => {
        const network = clearHostBits(base, prefixLength);
        // Half the time, an address that shares the network's leading bits.
        const candidate =
          nearby && address.length === network.length
            ? network.map((b, i) => (i < Math.floor(prefixLength / 8) ? b : (address[i] ?? 0)))
            : address;
        const range = parseIpRange(`${formatIpAddress(network)}/${prefixLength}`);
        expect(range).toBeDefined();
        if (!range) return;
        // A range inside ::ffff:0:0/96 is read as the IPv4 range it maps.
        const mapped = network.length === 16 && prefixLength >= 96 && isMapped(network);
        const expected = mapped
          ? { network: network.slice(12), prefixLength: prefixLength - 96 }
          : { network, prefixLength };
        expect(Array.from(range.network)).toEqual(Array.from(expected.network));
        expect(range.prefixLength).toBe(expected.prefixLength);
        const parsed = parseIpAddress(formatIpAddress(candidate));
        expect(parsed && Array.from(parsed)).toEqual(Array.from(candidate));
        expect(ipInRange(candidate, range)).toBe(reference(candidate, expected.network, expected.prefixLength));
        // With host bits set, the range text is refused.
        if (toBigInt(base) !== toBigInt(network)) {
          expect(parseIpRange(`${formatIpAddress(base)}/${prefixLength}`)).toBeUndefined();
        }
      }),
      runs,
    );
  });

  it('no IPv6 spelling of an IPv4 address escapes an IPv4 deny or allow range', () => {
    const v4 = bytesOf(4);
    const v4Range = fc.record({ base: v4, prefixLength: fc.integer({ min: 0, max: 32 }), mapped: fc.boolean() });
    /** The range as text, in IPv4 form or (half the time) as the IPv6 range of its mapped addresses. */
    const rangeText = ({ base, prefixLength, mapped }: { base: Uint8Array; prefixLength: number; mapped: boolean }) => {
      const network = formatIpAddress(clearHostBits(base, prefixLength));
      return mapped ? `::ffff:${network}/${prefixLength + 96}` : `${network}/${prefixLength}`;
    };
    const contains = (address: Uint8Array, r: { base: Uint8Array; prefixLength: number }) =>
      reference(address, clearHostBits(r.base, r.prefixLength), r.prefixLength);
    const spellings = (address: Uint8Array) => {
      const quad = formatIpAddress(address);
      const [hi, lo] = [0, 2].map((i) => (((address[i] ?? 0) << 8) | (address[i + 1] ?? 0)).toString(16));
      const pad = (g: string | undefined) => (g ?? '').padStart(4, '0');
      return [
        `::ffff:${quad}`,
        `::FFFF:${quad}`,
        `::ffff:${hi}:${lo}`,
        `::FFFF:${hi?.toUpperCase()}:${lo?.toUpperCase()}`,
        `0:0:0:0:0:ffff:${quad}`,
        `0:0:0:0:0:ffff:${hi}:${lo}`,
        `0000:0000:0000:0000:0000:ffff:${pad(hi)}:${pad(lo)}`,
        `0::0:ffff:${quad}`,
        `0:0:0::ffff:${hi}:${lo}`,
      ];
    };
    fc.assert(
      fc.property(
        v4,
        v4Range,
        fc.array(v4Range, { maxLength: 2 }),
        fc.option(fc.record({ prefixLength: fc.integer({ min: 0, max: 32 }), mapped: fc.boolean() })),
        fc.boolean(),
        fc.nat(3),
        (random, deny, randomAllow, allowAround, globally, nearness) => {
          // Often an address inside (or just outside) the deny range, so that both outcomes are tried.
          const address =
            nearness === 0
              ? random
              : clearHostBits(deny.base, deny.prefixLength).map((b, i) => (i < nearness ? b : (random[i] ?? 0)));
          // Often an allow range around the address, so that issuance is tried too.
          const allow = allowAround ? [...randomAllow, { base: address, ...allowAround }] : randomAllow;
          const denyText = rangeText(deny);
          const set = policySet(
            [
              {
                name: 'p',
                principals: ['local:*'],
                // An IPv6 range covering ::ffff:0:0/96: what a mapped spelling would slip through, were it IPv6.
                allow: { ipRanges: [...allow.map(rangeText), '::/0'] },
                ...(globally ? {} : { deny: { ipRanges: [denyText] } }),
              },
            ],
            globally ? { ipRanges: [denyText] } : undefined,
          );
          const quad = formatIpAddress(address);
          const expected: Outcome = contains(address, deny)
            ? { ok: false, code: 'NAME_DENIED' }
            : allow.some((r) => contains(address, r))
              ? { ok: true, names: [{ type: 'ip', value: quad }], policy: 'p' }
              : { ok: false, code: 'NAME_NOT_ALLOWED' };
          for (const spelling of [quad, ...spellings(address)]) {
            expect(outcome(set, local('a'), [{ type: 'ip', value: spelling }]), spelling).toEqual(expected);
          }
        },
      ),
      runs,
    );
  });

  it('formatIpAddress and parseIpAddress round-trip, and the canonical text is a fixed point', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const bytes = parseIpAddress(text);
        expect(bytes).toBeDefined();
        if (!bytes) return;
        const canonical = formatIpAddress(bytes);
        expect(canonical).toBe(canonical.toLowerCase());
        expect(Array.from(parseIpAddress(canonical) ?? [])).toEqual(Array.from(bytes));
        expect(formatIpAddress(parseIpAddress(canonical) ?? new Uint8Array())).toBe(canonical);
      }),
      runs,
    );
  });
});
