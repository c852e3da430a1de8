import type { AnyIdentityType } from '../../identity-catalog.ts';
import type { CertificateView, Finding, RiskRule, RiskSubject, Severity } from '../rule.ts';

/**
 * What the certificate rules share: which subjects they look at, and how they word durations and lists.
 *
 * Which certificates are judged at all:
 * - only `x509-certificate` subjects that carry a {@link CertificateView};
 * - never a `retired` one: its source no longer has it, so there is nothing left to fix, and its findings resolve;
 * - never a revoked one that nothing serves or uses (revoked by its issuer, or an issued identity whose status is
 *   `revoked`): relying parties are told not to trust it, so its expiry, key or names no longer put anyone at risk.
 *   Revoked and still deployed, every rule judges it, and `CERT_REVOKED_STILL_SERVED` says so.
 *
 * Deployment (`servedAt` from a TLS scan, `inUseBy` from ACM) is read only for subjects whose source still sees them
 * (`active`, or `revoked` for issued ones): a `missing` identity's deployment is its last sighting, not a fact of now,
 * so the deployment rules do not fire on it; the rules that read the certificate itself (expiry, key, signature…)
 * still do, since the certificate they describe has not changed.
 */

/** The identity types the certificate rules apply to. */
export const CERTIFICATE_TYPES: readonly AnyIdentityType[] = ['x509-certificate'];

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Where the certificate is known to be deployed now: endpoints serving it, then AWS resources using it. */
export function currentDeployments(subject: RiskSubject, view: CertificateView): readonly string[] {
  if (subject.status !== 'active' && subject.status !== 'revoked') return [];
  return [...view.servedAt, ...view.inUseBy];
}

/** Revoked by its issuer, or an issued identity the inventory marks revoked. */
export function isRevoked(subject: RiskSubject, view: CertificateView): boolean {
  return view.revoked || subject.status === 'revoked';
}

/** The certificate the rules judge, or undefined when none should (see the module's comment). */
export function judgedCertificate(subject: RiskSubject): CertificateView | undefined {
  const view = subject.certificate;
  if (subject.type !== 'x509-certificate' || view === undefined || subject.status === 'retired') return undefined;
  if (isRevoked(subject, view) && currentDeployments(subject, view).length === 0) return undefined;
  return view;
}

/** What a rule says when it fires; `control` here overrides the rule's own (undefined: no control for this one). */
export interface Verdict {
  readonly explanation: string;
  readonly remediation: string;
  readonly control?: string | undefined;
}

export interface CertificateRuleSpec {
  readonly code: string;
  readonly severity: Severity;
  readonly title: string;
  readonly control?: string | undefined;
  /** Called only for a {@link judgedCertificate}; pure. */
  check(view: CertificateView, subject: RiskSubject, now: Date): Verdict | undefined;
}

/** A {@link RiskRule} for certificates from its spec: the gate and the finding's shape are the same for all. */
export function certificateRule(spec: CertificateRuleSpec): RiskRule {
  return {
    code: spec.code,
    severity: spec.severity,
    title: spec.title,
    ...(spec.control === undefined ? {} : { control: spec.control }),
    appliesTo: CERTIFICATE_TYPES,
    evaluate(subject: RiskSubject, now: Date): Finding | undefined {
      const view = judgedCertificate(subject);
      if (view === undefined) return undefined;
      const verdict = spec.check(view, subject, now);
      if (verdict === undefined) return undefined;
      const control = 'control' in verdict ? verdict.control : spec.control;
      return {
        rule: spec.code,
        severity: spec.severity,
        explanation: verdict.explanation,
        remediation: verdict.remediation,
        ...(control === undefined ? {} : { control }),
      };
    },
  };
}

/** `3 days`, `1 day`, `5 hours`, `less than an hour`: a duration as people read it, rounded down. */
export function formatDuration(ms: number): string {
  const days = Math.floor(Math.abs(ms) / DAY_MS);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.floor(Math.abs(ms) / HOUR_MS);
  if (hours >= 1) return `${hours} hour${hours === 1 ? '' : 's'}`;
  return 'less than an hour';
}

/** Whole days, rounded down. */
export function wholeDays(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** An ISO timestamp without milliseconds: `2026-11-30T12:00:00Z`. */
export function formatInstant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `a`, `a and b`, `a, b, c and 4 more`. */
export function listSome(items: readonly string[], shown = 3): string {
  if (items.length <= 1) return items[0] ?? '';
  const head = items.slice(0, Math.min(shown, items.length - 1));
  const rest = items.length - head.length;
  return rest === 1 ? `${head.join(', ')} and ${items[head.length]}` : `${head.join(', ')} and ${rest} more`;
}

/** How the certificate is named in an explanation: its first name, else its identity id. */
export function certificateLabel(subject: RiskSubject, view: CertificateView): string {
  const name = view.names[0];
  return name === undefined ? `Certificate ${subject.identityId}` : `The certificate for ${listSome(view.names, 2)}`;
}

/**
 * How to get a fresh certificate, by where this one comes from: `renew` when a renewal of the same kind will do
 * (expiry), `replace` when it needs a new key or a new kind of certificate (weak key or signature), which renewing an
 * ACM certificate would not give.
 */
export function replacementAdvice(subject: RiskSubject, need: 'renew' | 'replace' = 'renew'): string {
  if (subject.source === 'issued') {
    return 'Request a new certificate from this control plane with a fresh key (POST /v1/certificates, POST /v1/enroll, or your ACME client) and deploy it';
  }
  if (subject.source === 'aws-acm') {
    const type = typeof subject.facts.type === 'string' ? subject.facts.type.toUpperCase() : undefined;
    if (type === 'IMPORTED') {
      return 'Get a new certificate from its issuer (ACM never renews imported ones) and re-import it to the same ARN (aws acm import-certificate --certificate-arn …), so the resources using it pick it up';
    }
    if (need === 'replace' && (type === 'AMAZON_ISSUED' || type === 'PRIVATE')) {
      return 'Request a new ACM certificate (aws acm request-certificate --key-algorithm EC_prime256v1 …; renewal keeps the old key type) and switch the resources using this one to it';
    }
    if (type === 'AMAZON_ISSUED') {
      return 'Make ACM renew it (it renews Amazon-issued certificates only while they are in use and their domain validation passes: check its renewal status and DNS validation records), or request a new ACM certificate and switch its users to it';
    }
    if (type === 'PRIVATE') {
      return 'Renew it from its private CA (aws acm renew-certificate, with ACM allowed to use the CA) and check that its users picked up the renewal';
    }
  }
  return 'Obtain a new certificate from its issuer and deploy it in place of this one';
}
