import { describe, expect, it } from 'vitest';
import type { Facts } from '#lib/domain/discovery.ts';
import type { CertificateRecord } from '#lib/domain/inventory.ts';
import {
  certificateViewOfAcmFacts,
  certificateViewOfRecord,
  renewalDueAt,
  signatureAlgorithmOfCaKey,
} from '#lib/domain/risk/certificate-view.ts';
import type { CertificateView, RiskRule, RiskSubject } from '#lib/domain/risk/rule.ts';
import { certChainInvalid } from '#lib/domain/risk/rules/cert-chain-invalid.ts';
import { certExpired } from '#lib/domain/risk/rules/cert-expired.ts';
import { certExpiringDeployed } from '#lib/domain/risk/rules/cert-expiring-deployed.ts';
import { CERTIFICATE_RULES } from '#lib/domain/risk/rules/cert-index.ts';
import { certNameMismatch } from '#lib/domain/risk/rules/cert-name-mismatch.ts';
import { certRenewalDue } from '#lib/domain/risk/rules/cert-renewal-due.ts';
import { certRevokedStillServed } from '#lib/domain/risk/rules/cert-revoked-still-served.ts';
import { certSelfSignedOnEndpoint } from '#lib/domain/risk/rules/cert-self-signed-on-endpoint.ts';
import { certSharedKey } from '#lib/domain/risk/rules/cert-shared-key.ts';
import { listSome } from '#lib/domain/risk/rules/cert-support.ts';
import { certValidityTooLong } from '#lib/domain/risk/rules/cert-validity-too-long.ts';
import { certWeakKey } from '#lib/domain/risk/rules/cert-weak-key.ts';
import { certWeakSignature, isWeakSignatureAlgorithm } from '#lib/domain/risk/rules/cert-weak-signature.ts';
import { certWildcard } from '#lib/domain/risk/rules/cert-wildcard.ts';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const DAY = 86_400_000;
/** An instant `days` from NOW (negative: before). */
const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();

/** A healthy certificate: 90-day validity, 60 days left, P-256, ECDSA SHA-256, not deployed. */
function view(overrides: Partial<CertificateView> = {}): CertificateView {
  return {
    notBefore: at(-30),
    notAfter: at(60),
    renewAfter: undefined,
    keyFamily: 'EC',
    keyBits: 256,
    signatureAlgorithm: 'ecdsa-with-SHA256',
    names: ['api.example.com'],
    selfSigned: false,
    revoked: false,
    servedAt: [],
    inUseBy: [],
    ...overrides,
  };
}

function subject(certificate: Partial<CertificateView> = {}, overrides: Partial<RiskSubject> = {}): RiskSubject {
  return {
    identityId: 'id-1',
    type: 'x509-certificate',
    source: 'issued',
    status: 'active',
    owner: 'team-payments',
    facts: {},
    certificate: view(certificate),
    ...overrides,
  };
}

/** The codes of every certificate rule that fires, sorted. */
function fired(s: RiskSubject, now = NOW): string[] {
  return CERTIFICATE_RULES.flatMap((rule) => (rule.evaluate(s, now) ? [rule.code] : [])).sort();
}

interface RuleCase {
  readonly rule: RiskRule;
  readonly fires: RiskSubject;
  readonly quiet: RiskSubject;
  /** What the explanation must say: this certificate's own figures. */
  readonly says: RegExp;
}

const CASES: readonly RuleCase[] = [
  {
    rule: certExpired,
    fires: subject({ notBefore: at(-93), notAfter: at(-3) }),
    quiet: subject({ notAfter: at(1) }),
    says: /expired 3 days ago \(notAfter 2026-11-22T12:00:00Z\)/,
  },
  {
    rule: certRenewalDue,
    fires: subject({ notAfter: at(12) }),
    quiet: subject({ notAfter: at(31) }),
    says: /expires in 12 days .*30-day renewal window for 18 days/,
  },
  {
    rule: certValidityTooLong,
    fires: subject({ notBefore: at(-400), notAfter: at(425) }),
    quiet: subject({ notBefore: at(-338), notAfter: at(60) }),
    says: /valid for 825 days/,
  },
  {
    rule: certWeakKey,
    fires: subject({ keyFamily: 'RSA', keyBits: 1024 }),
    quiet: subject({ keyFamily: 'RSA', keyBits: 2048 }),
    says: /1024-bit RSA key/,
  },
  {
    rule: certWeakSignature,
    fires: subject({ signatureAlgorithm: 'sha1WithRSAEncryption' }),
    quiet: subject({ signatureAlgorithm: 'sha256WithRSAEncryption' }),
    says: /signed with sha1WithRSAEncryption/,
  },
  {
    rule: certWildcard,
    fires: subject({ names: ['*.example.com', 'example.com'] }),
    quiet: subject({ names: ['api.example.com', 'www.example.com'] }),
    says: /wildcard name \*\.example\.com/,
  },
  {
    rule: certSelfSignedOnEndpoint,
    fires: subject({ selfSigned: true, servedAt: ['10.0.0.5:8443'] }),
    quiet: subject({ selfSigned: true, servedAt: [] }),
    says: /self-signed and served at 10\.0\.0\.5:8443/,
  },
  {
    rule: certChainInvalid,
    fires: subject({ chainValid: false, servedAt: ['api.example.com:443'] }),
    quiet: subject({ chainValid: true, servedAt: ['api.example.com:443'] }),
    says: /served at api\.example\.com:443, comes with a chain that does not validate/,
  },
  {
    rule: certNameMismatch,
    fires: subject({ nameMatches: false, servedAt: ['billing.example.com:443'] }),
    quiet: subject({ nameMatches: true, servedAt: ['api.example.com:443'] }),
    says: /served at billing\.example\.com:443, but it names only api\.example\.com/,
  },
  {
    rule: certSharedKey,
    fires: subject({ publicKeySha256: 'ab'.repeat(32) }, { context: { certificatesSharingKey: 2 } }),
    quiet: subject({}, { context: { certificatesSharingKey: 0 } }),
    says: /shares its key pair with 2 other certificates .*public key SHA-256 abab/,
  },
  {
    rule: certRevokedStillServed,
    fires: subject({ revoked: true, servedAt: ['api.example.com:443'] }, { status: 'revoked' }),
    quiet: subject({ servedAt: ['api.example.com:443'] }),
    says: /revoked but still served at api\.example\.com:443/,
  },
  {
    rule: certExpiringDeployed,
    fires: subject({ notAfter: at(5), servedAt: ['api.example.com:443'] }),
    quiet: subject({ notAfter: at(5) }),
    says: /expires in 5 days .* still in use at api\.example\.com:443/,
  },
];

describe('certificate rules', () => {
  it('are all registered once, in the certificate registry, for certificates only', () => {
    const codes = CERTIFICATE_RULES.map((rule) => rule.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual(CASES.map((c) => c.rule.code).sort());
    for (const rule of CERTIFICATE_RULES) {
      expect(rule.code).toMatch(/^CERT_[A-Z_]+$/);
      expect(rule.appliesTo).toEqual(['x509-certificate']);
      expect(rule.title.length).toBeGreaterThan(10);
    }
  });

  it('have the documented severities and controls', () => {
    const table = Object.fromEntries(CERTIFICATE_RULES.map((rule) => [rule.code, [rule.severity, rule.control]]));
    expect(table).toEqual({
      CERT_EXPIRED: ['high', 'AWS FSBP ACM.1'],
      CERT_RENEWAL_DUE: ['medium', 'AWS FSBP ACM.1'],
      CERT_VALIDITY_TOO_LONG: ['low', undefined],
      CERT_WEAK_KEY: ['high', 'AWS FSBP ACM.2'],
      CERT_WEAK_SIGNATURE: ['high', undefined],
      CERT_WILDCARD: ['low', undefined],
      CERT_SELF_SIGNED_ON_ENDPOINT: ['medium', undefined],
      CERT_CHAIN_INVALID: ['high', undefined],
      CERT_NAME_MISMATCH: ['high', undefined],
      CERT_SHARED_KEY: ['medium', undefined],
      CERT_REVOKED_STILL_SERVED: ['critical', undefined],
      CERT_EXPIRING_DEPLOYED: ['critical', 'AWS FSBP ACM.1'],
    });
  });

  describe.each(CASES)('$rule.code', ({ rule, fires, quiet, says }) => {
    it('fires, with this certificate’s figures and a remediation', () => {
      const finding = rule.evaluate(fires, NOW);
      expect(finding).toBeDefined();
      expect(finding?.rule).toBe(rule.code);
      expect(finding?.severity).toBe(rule.severity);
      expect(finding?.explanation).toMatch(says);
      expect(finding?.remediation.length).toBeGreaterThan(40);
    });

    it('stays silent when the condition does not hold', () => {
      expect(rule.evaluate(quiet, NOW)).toBeUndefined();
    });

    it('stays silent for other identity types, and without a certificate', () => {
      expect(rule.evaluate({ ...fires, type: 'secret' }, NOW)).toBeUndefined();
      expect(rule.evaluate({ ...fires, certificate: undefined }, NOW)).toBeUndefined();
    });

    it('stays silent for a retired identity (its source deleted it)', () => {
      expect(rule.evaluate({ ...fires, status: 'retired', source: 'aws-acm' }, NOW)).toBeUndefined();
    });
  });

  it('a healthy certificate gets no finding', () => {
    expect(fired(subject())).toEqual([]);
  });

  it('an expired certificate is not also renewal due; it is valid through its notAfter second', () => {
    expect(fired(subject({ notAfter: at(-1) }))).toEqual(['CERT_EXPIRED']);
    const lastSecond = subject({ notAfter: NOW.toISOString() });
    expect(fired(lastSecond)).toEqual(['CERT_RENEWAL_DUE']);
    expect(certRenewalDue.evaluate(lastSecond, NOW)?.explanation).toMatch(/expires in less than an hour/);
  });

  it('renewal is due at renewAfter when the certificate has one, else 30 days before notAfter', () => {
    expect(fired(subject({ notAfter: at(20), renewAfter: at(-2) }))).toEqual(['CERT_RENEWAL_DUE']);
    expect(certRenewalDue.evaluate(subject({ notAfter: at(20), renewAfter: at(-2) }), NOW)?.explanation).toMatch(
      /renewal was due 2 days ago \(renewAfter 2026-11-23T12:00:00Z\)/,
    );
    expect(fired(subject({ notAfter: at(20), renewAfter: at(10) }))).toEqual([]);
    expect(fired(subject({ notAfter: at(30) }))).toEqual(['CERT_RENEWAL_DUE']);
    expect(fired(subject({ notAfter: new Date(NOW.getTime() + 30 * DAY + 1).toISOString() }))).toEqual([]);
  });

  it('needs the dates it reads: without notAfter no expiry rule fires', () => {
    expect(fired(subject({ notAfter: undefined, servedAt: ['a:443'] }))).toEqual([]);
    expect(fired(subject({ notAfter: 'not a date', servedAt: ['a:443'] }))).toEqual([]);
  });

  it('counts validity exactly: 398 days is allowed, a second more is not', () => {
    const notBefore = at(-100);
    const maxEnd = new Date(Date.parse(notBefore) + 398 * DAY).toISOString();
    expect(certValidityTooLong.evaluate(subject({ notBefore, notAfter: maxEnd }), NOW)).toBeUndefined();
    const over = new Date(Date.parse(notBefore) + 398 * DAY + 1000).toISOString();
    expect(certValidityTooLong.evaluate(subject({ notBefore, notAfter: over }), NOW)).toBeDefined();
  });

  it('weak keys: RSA under 2048 names FSBP ACM.2, EC under 256 names no control; Ed25519 is never weak', () => {
    expect(certWeakKey.evaluate(subject({ keyFamily: 'RSA', keyBits: 1024 }), NOW)?.control).toBe('AWS FSBP ACM.2');
    const ec = certWeakKey.evaluate(subject({ keyFamily: 'EC', keyBits: 224 }), NOW);
    expect(ec?.explanation).toMatch(/224-bit curve/);
    expect(ec && 'control' in ec).toBe(false);
    expect(certWeakKey.evaluate(subject({ keyFamily: 'EC', keyBits: 384 }), NOW)).toBeUndefined();
    expect(certWeakKey.evaluate(subject({ keyFamily: 'ED25519', keyBits: 256 }), NOW)).toBeUndefined();
    expect(certWeakKey.evaluate(subject({ keyFamily: 'RSA', keyBits: undefined }), NOW)).toBeUndefined();
  });

  it.each([
    ['SHA1WITHRSA', true],
    ['sha1WithRSAEncryption', true],
    ['ecdsa-with-SHA1', true],
    ['SHA-1 with RSA', true],
    ['md5WithRSAEncryption', true],
    ['MD2WITHRSA', true],
    ['SHA256WITHRSA', false],
    ['SHA384WITHECDSA', false],
    ['ecdsa-with-SHA256', false],
    ['sha512WithRSAEncryption', false],
    ['Ed25519', false],
  ])('signature algorithm %s is weak: %s', (algorithm, weak) => {
    expect(isWeakSignatureAlgorithm(algorithm)).toBe(weak);
  });

  it('a revoked certificate nothing serves gets no finding at all, even expired, weak and wildcard', () => {
    const dead = { notAfter: at(-10), keyFamily: 'RSA' as const, keyBits: 1024, names: ['*.example.com'] };
    expect(fired(subject({ ...dead, revoked: true }, { status: 'revoked' }))).toEqual([]);
    expect(fired(subject({ ...dead, revoked: false }, { status: 'revoked' }))).toEqual([]);
  });

  it('a revoked certificate still served is judged in full, revoked-still-served first', () => {
    const served = subject(
      { notAfter: at(-10), revoked: true, servedAt: ['api.example.com:443'] },
      { status: 'revoked' },
    );
    expect(fired(served)).toEqual(['CERT_EXPIRED', 'CERT_EXPIRING_DEPLOYED', 'CERT_REVOKED_STILL_SERVED']);
  });

  it('an expired certificate still deployed is the most urgent: expiring-deployed, critical', () => {
    const finding = certExpiringDeployed.evaluate(
      subject({ notAfter: at(-2), servedAt: ['a.example.com:443', 'b.example.com:443'] }),
      NOW,
    );
    expect(finding?.severity).toBe('critical');
    expect(finding?.explanation).toMatch(
      /expired 2 days ago .* still in use at a\.example\.com:443 and b\.example\.com:443/,
    );
    expect(finding?.remediation).toMatch(/all 2 places using it now\.$/);
  });

  it('a missing identity keeps its certificate findings but not its deployment ones (last sighting only)', () => {
    const missing = subject(
      {
        notAfter: at(10),
        selfSigned: true,
        inUseBy: ['arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/1'],
      },
      { status: 'missing', source: 'aws-acm' },
    );
    expect(fired(missing)).toEqual(['CERT_RENEWAL_DUE']);
    expect(fired({ ...missing, status: 'active' })).toEqual([
      'CERT_EXPIRING_DEPLOYED',
      'CERT_RENEWAL_DUE',
      'CERT_SELF_SIGNED_ON_ENDPOINT',
    ]);
  });

  it('names a certificate without names by its identity id', () => {
    const finding = certExpired.evaluate(subject({ names: [], notAfter: at(-1) }), NOW);
    expect(finding?.explanation).toMatch(/^Certificate id-1 expired 1 day ago/);
  });

  it('lists a few places and counts the rest', () => {
    expect(listSome([])).toBe('');
    expect(listSome(['a'])).toBe('a');
    expect(listSome(['a', 'b'])).toBe('a and b');
    expect(listSome(['a', 'b', 'c', 'd'])).toBe('a, b, c and d');
    expect(listSome(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c and 2 more');
  });

  it('evaluate is pure: the same answer twice, and the subject untouched', () => {
    const s = subject({ notAfter: at(-1), servedAt: ['a:443'] });
    const copy = structuredClone(s);
    const first = CERTIFICATE_RULES.map((rule) => rule.evaluate(s, NOW));
    expect(CERTIFICATE_RULES.map((rule) => rule.evaluate(s, NOW))).toEqual(first);
    expect(s).toEqual(copy);
  });
});

const RECORD: CertificateRecord = {
  serialNumber: '4f1c2d',
  identityId: 'id-issued',
  policy: 'web',
  subject: 'CN=api.local.test',
  subjectAltNames: [
    { type: 'dns', value: 'api.local.test' },
    { type: 'ip', value: '10.0.0.7' },
  ],
  keyAlgorithm: 'EC_P256',
  keySize: 256,
  notBefore: '2026-11-01T00:00:00.000Z',
  notAfter: '2026-12-01T00:00:00.000Z',
  renewAfter: '2026-11-21T00:00:00.000Z',
  fingerprintSha256: 'cd'.repeat(32),
  issuedAt: '2026-11-01T00:00:00.000Z',
  issuedBy: 'local:admin',
  status: 'active',
  certificatePem: '',
  tags: { owner: 'team-payments' },
};

describe('certificate view of an issued certificate', () => {
  it('reads key, dates, names and renewal from the record; never self-signed', () => {
    expect(certificateViewOfRecord(RECORD)).toEqual({
      notBefore: '2026-11-01T00:00:00.000Z',
      notAfter: '2026-12-01T00:00:00.000Z',
      renewAfter: '2026-11-21T00:00:00.000Z',
      keyFamily: 'EC',
      keyBits: 256,
      signatureAlgorithm: undefined,
      names: ['api.local.test', '10.0.0.7'],
      selfSigned: false,
      publicKeySha256: undefined,
      revoked: false,
      servedAt: [],
      inUseBy: [],
      chainValid: undefined,
      nameMatches: undefined,
    });
  });

  it('takes the CA signature algorithm and scan results as extras', () => {
    const v = certificateViewOfRecord(RECORD, {
      signatureAlgorithm: signatureAlgorithmOfCaKey('EC_P384'),
      servedAt: ['api.local.test:443'],
      chainValid: true,
      nameMatches: true,
    });
    expect(v.signatureAlgorithm).toBe('ecdsa-with-SHA384');
    expect(v.servedAt).toEqual(['api.local.test:443']);
    expect(signatureAlgorithmOfCaKey('EC_P256')).toBe('ecdsa-with-SHA256');
    expect(signatureAlgorithmOfCaKey('RSA_3072')).toBe('sha256WithRSAEncryption');
    expect(signatureAlgorithmOfCaKey('DSA')).toBeUndefined();
  });

  it('maps each key algorithm', () => {
    expect(certificateViewOfRecord({ ...RECORD, keyAlgorithm: 'EC_P384', keySize: 384 })).toMatchObject({
      keyFamily: 'EC',
      keyBits: 384,
    });
    expect(certificateViewOfRecord({ ...RECORD, keyAlgorithm: 'RSA', keySize: 3072 })).toMatchObject({
      keyFamily: 'RSA',
      keyBits: 3072,
    });
    expect(certificateViewOfRecord({ ...RECORD, keyAlgorithm: 'ED25519', keySize: 256 })).toMatchObject({
      keyFamily: 'ED25519',
      keyBits: 256,
    });
  });

  it('falls back to the subject CN without subjectAltNames, and marks a revoked record revoked', () => {
    const v = certificateViewOfRecord({
      ...RECORD,
      subject: 'CN=legacy\\,host.local.test,O=Example',
      subjectAltNames: [],
      status: 'revoked',
    });
    expect(v.names).toEqual(['legacy,host.local.test']);
    expect(v.revoked).toBe(true);
    expect(certificateViewOfRecord({ ...RECORD, subject: '', subjectAltNames: [] }).names).toEqual([]);
  });

  it('feeds the rules: renewal due at the policy window, nothing else', () => {
    const s = subject({}, { identityId: 'id-issued', certificate: certificateViewOfRecord(RECORD) });
    expect(fired(s, new Date('2026-11-20T00:00:00Z'))).toEqual([]);
    expect(fired(s, new Date('2026-11-22T00:00:00Z'))).toEqual(['CERT_RENEWAL_DUE']);
    expect(fired(s, new Date('2026-12-02T00:00:00Z'))).toEqual(['CERT_EXPIRED']);
    const revoked = certificateViewOfRecord({ ...RECORD, status: 'revoked' });
    expect(fired({ ...s, status: 'revoked', certificate: revoked }, new Date('2026-12-02T00:00:00Z'))).toEqual([]);
  });
});

/** Facts as the aws-acm source writes them (see certificateFacts). */
function acmFacts(overrides: Record<string, Facts[string]> = {}): Facts {
  return {
    domainName: 'shop.example.com',
    subjectAlternativeNames: ['shop.example.com', 'www.shop.example.com'],
    keyAlgorithm: 'RSA_2048',
    signatureAlgorithm: 'SHA256WITHRSA',
    serial: '0a:1b',
    issuer: 'Amazon',
    notBefore: '2026-06-01T00:00:00.000Z',
    notAfter: '2027-06-30T23:59:59.000Z',
    status: 'ISSUED',
    type: 'AMAZON_ISSUED',
    inUseBy: [],
    renewalEligibility: 'ELIGIBLE',
    ...overrides,
  };
}

const acmSubject = (facts: Facts, overrides: Partial<RiskSubject> = {}): RiskSubject => ({
  identityId: 'd-acm',
  type: 'x509-certificate',
  source: 'aws-acm',
  status: 'active',
  owner: undefined,
  facts,
  certificate: certificateViewOfAcmFacts(facts),
  ...overrides,
});

describe('certificate view of an ACM certificate', () => {
  it('reads ACM’s facts', () => {
    expect(
      certificateViewOfAcmFacts(acmFacts({ inUseBy: ['arn:aws:cloudfront::123456789012:distribution/E1'] })),
    ).toEqual({
      notBefore: '2026-06-01T00:00:00.000Z',
      notAfter: '2027-06-30T23:59:59.000Z',
      renewAfter: undefined,
      keyFamily: 'RSA',
      keyBits: 2048,
      signatureAlgorithm: 'SHA256WITHRSA',
      names: ['shop.example.com', 'www.shop.example.com'],
      selfSigned: false,
      publicKeySha256: undefined,
      revoked: false,
      servedAt: [],
      inUseBy: ['arn:aws:cloudfront::123456789012:distribution/E1'],
      chainValid: undefined,
      nameMatches: undefined,
    });
  });

  it.each([
    ['RSA_1024', 'RSA', 1024],
    ['RSA-4096', 'RSA', 4096],
    ['EC_prime256v1', 'EC', 256],
    ['EC_secp384r1', 'EC', 384],
    ['EC_secp521r1', 'EC', 521],
    ['EC_brainpoolP256r1', 'EC', undefined],
    ['DSA_1024', undefined, undefined],
  ])('key algorithm %s is %s of %s bits', (keyAlgorithm, family, bits) => {
    const v = certificateViewOfAcmFacts(acmFacts({ keyAlgorithm }));
    expect([v.keyFamily, v.keyBits]).toEqual([family, bits]);
  });

  it('an imported certificate may be self-signed (unknown); REVOKED is revoked; names fall back to the domain', () => {
    const v = certificateViewOfAcmFacts(
      acmFacts({ type: 'IMPORTED', status: 'REVOKED', subjectAlternativeNames: [], domainName: 'legacy.example.com' }),
    );
    expect(v.selfSigned).toBeUndefined();
    expect(v.revoked).toBe(true);
    expect(v.names).toEqual(['legacy.example.com']);
  });

  it('reads odd facts as unknown, never throwing', () => {
    const odd: Facts = {
      keyAlgorithm: 42,
      signatureAlgorithm: null,
      notBefore: 'yesterday-ish',
      notAfter: { at: '2027-01-01' },
      subjectAlternativeNames: 'shop.example.com',
      domainName: '',
      inUseBy: [1, 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/1', null, ['x']],
      status: null,
      type: false,
    };
    const v = certificateViewOfAcmFacts(odd);
    expect(v).toMatchObject({
      notBefore: undefined,
      notAfter: undefined,
      keyFamily: undefined,
      keyBits: undefined,
      signatureAlgorithm: undefined,
      names: [],
      selfSigned: undefined,
      revoked: false,
      inUseBy: ['arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/1'],
    });
    expect(certificateViewOfAcmFacts({})).toMatchObject({ names: [], inUseBy: [], revoked: false });
    expect(fired(acmSubject(odd))).toEqual([]);
    expect(renewalDueAt(v)).toBeUndefined();
  });

  it('RSA_1024 signed with SHA1WITHRSA fires weak key (FSBP ACM.2) and weak signature', () => {
    const s = acmSubject(acmFacts({ keyAlgorithm: 'RSA_1024', signatureAlgorithm: 'SHA1WITHRSA', type: 'IMPORTED' }));
    expect(fired(s)).toEqual(['CERT_WEAK_KEY', 'CERT_WEAK_SIGNATURE']);
    const key = certWeakKey.evaluate(s, NOW);
    expect(key?.control).toBe('AWS FSBP ACM.2');
    expect(key?.explanation).toMatch(/shop\.example\.com .* 1024-bit RSA key/);
    expect(key?.remediation).toMatch(/re-import it to the same ARN/);
    expect(certWeakSignature.evaluate(s, NOW)?.explanation).toMatch(/signed with SHA1WITHRSA/);
  });

  it('in use and inside 30 days of expiry fires CERT_EXPIRING_DEPLOYED (and renewal due)', () => {
    const lb = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188';
    const s = acmSubject(acmFacts({ notBefore: at(-380), notAfter: at(14), inUseBy: [lb] }));
    expect(fired(s)).toEqual(['CERT_EXPIRING_DEPLOYED', 'CERT_RENEWAL_DUE']);
    const finding = certExpiringDeployed.evaluate(s, NOW);
    expect(finding).toMatchObject({ rule: 'CERT_EXPIRING_DEPLOYED', severity: 'critical', control: 'AWS FSBP ACM.1' });
    expect(finding?.explanation).toContain(`expires in 14 days`);
    expect(finding?.explanation).toContain(lb);
    expect(finding?.remediation).toMatch(/domain validation/);
    expect(fired(acmSubject(acmFacts({ notBefore: at(-380), notAfter: at(14) })))).toEqual(['CERT_RENEWAL_DUE']);
  });

  it('a REVOKED ACM certificate still in use is revoked-still-served', () => {
    const s = acmSubject(
      acmFacts({ status: 'REVOKED', inUseBy: ['arn:aws:cloudfront::123456789012:distribution/E1'] }),
    );
    expect(fired(s)).toEqual(['CERT_REVOKED_STILL_SERVED']);
    expect(fired(acmSubject(acmFacts({ status: 'REVOKED' })))).toEqual([]);
  });
});
