import { AuthorizationError, type ControlPlaneError, ValidationError } from './errors.ts';
import type { LeafKeyAlgorithm, SubjectAltName } from './inventory.ts';
import { holdsIpv4Mapped, type IpRange, ipInRange, parseIpRange } from './ip-address.ts';
import { type NormalizedName, normalizeNames, quoteName, SPIFFE_SEGMENT } from './name-normalizer.ts';
import type { ExtendedKeyUsage, NameRulesDocument, PolicyDocument } from './policy.ts';
import {
  compilePrincipalPattern,
  type Principal,
  principalKey,
  principalMatches,
  principalVariables,
} from './principal.ts';
import { formatDuration, parseValidity } from './validity.ts';

/** What a request asks for, as the issuance core read it from the CSR and the request body. */
export interface IssuanceAsk {
  /** subjectAltName entries of the CSR. */
  readonly subjectAltNames: readonly SubjectAltName[];
  /** Subject CNs of the CSR. */
  readonly commonNames: readonly string[];
  readonly key: { readonly algorithm: LeafKeyAlgorithm; readonly keySize: number };
  /** The policy the requester names; otherwise the first policy that allows the whole request. */
  readonly policy?: string | undefined;
  readonly validity?: string | undefined;
  readonly extendedKeyUsages?: readonly ExtendedKeyUsage[] | undefined;
  /** Enrollment tokens only: the policy and the exact names (`type:value`) the token was issued for. */
  readonly binding?: { readonly policy: string; readonly names: readonly string[] } | undefined;
}

/** What the policy decided: everything the CA stamps on the certificate beyond the key. */
export interface IssuanceDecision {
  readonly policy: string;
  readonly names: SubjectAltName[];
  readonly validitySeconds: number;
  readonly extendedKeyUsages: readonly ExtendedKeyUsage[];
  /** Whether the subject gets a CN (the CA picks the first DNS name that fits). */
  readonly withCommonName: boolean;
  readonly organization?: string | undefined;
  readonly organizationalUnit?: string | undefined;
  /** Renewal is due this long before notAfter. */
  readonly renewBeforeSeconds: number | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Name rules with templates rendered for one requester. */
interface ConcreteRules {
  readonly dnsNames: ReadonlySet<string>;
  readonly dnsSuffixes: readonly string[];
  readonly ipRanges: readonly IpRange[];
  readonly uris: ReadonlySet<string>;
  /** Each ends in `/`: the `/*` of the document with the star removed. */
  readonly uriPrefixes: readonly string[];
}

const EMPTY_RULES: NameRulesDocument = { dnsNames: [], dnsSuffixes: [], ipRanges: [], uris: [] };

const HAS_TEMPLATE = /\{[A-Za-z]+\}/;
const DNS_LABEL_VALUE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Renders a template with the requester's variables. A variable the requester lacks, or whose value cannot stand in
 * that kind of name (a DNS label, a SPIFFE path segment), makes the whole entry inapplicable: undefined.
 */
function render(
  text: string,
  vars: Readonly<Record<string, string>>,
  kind: 'dns' | 'uri' | 'text',
): string | undefined {
  if (!HAS_TEMPLATE.test(text)) return text;
  let ok = true;
  const out = text.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const raw = vars[name];
    const value = raw === undefined ? undefined : kind === 'dns' ? raw.toLowerCase() : raw;
    const valid =
      value !== undefined &&
      (kind === 'dns'
        ? DNS_LABEL_VALUE.test(value)
        : kind === 'uri'
          ? SPIFFE_SEGMENT.test(value) && value !== '.' && value !== '..'
          : /^[\x20-\x7e]*$/.test(value));
    if (!valid) ok = false;
    return value ?? '';
  });
  return ok ? out : undefined;
}

function renderRules(rules: NameRulesDocument, vars: Readonly<Record<string, string>>): ConcreteRules {
  const dns = (list: readonly string[]) => list.flatMap((t) => render(t, vars, 'dns') ?? []);
  const uris = rules.uris.flatMap((t) => render(t, vars, 'uri') ?? []);
  return {
    dnsNames: new Set(dns(rules.dnsNames)),
    dnsSuffixes: dns(rules.dnsSuffixes),
    ipRanges: rules.ipRanges.flatMap((r) => parseIpRange(r) ?? []),
    uris: new Set(uris.filter((u) => !u.endsWith('/*'))),
    uriPrefixes: uris.filter((u) => u.endsWith('/*')).map((u) => u.slice(0, -1)),
  };
}

/**
 * Deny rules compiled for refusing, once per rule set: what a wildcard covers is looked up, not searched for. Every
 * reading fails closed, as a certificate is used by verifiers that may read its names more loosely than we do.
 */
interface DenyRules {
  /** Exact DNS names, `*.W` entries included as written. */
  readonly dnsNames: ReadonlySet<string>;
  /** Denied zones: each name below one, and its apex. */
  readonly dnsSuffixes: readonly string[];
  /** W of each denied `*.W`: every name one label below W is denied too, as `*.W` matches it. */
  readonly wildcardZones: ReadonlySet<string>;
  /**
   * Each Z whose wildcard `*.Z` covers a denied name: the parent of each denied name and of each denied zone's apex,
   * and W of each denied `*.W`. (`*.Z` with Z in or below a denied zone is refused by the zone itself.)
   */
  readonly coveredByWildcard: ReadonlySet<string>;
  /** IPv4 ranges (mapped IPv6 ranges among them) and IPv6 ranges; 0.0.0.0/0 when an IPv6 range holds ::ffff:0:0/96. */
  readonly ipRanges: readonly IpRange[];
  /** Exact URIs, and the apex of each `prefix/*`, which is denied with it as a zone is with its apex. */
  readonly uris: ReadonlySet<string>;
  /** Each ends in `/`: any URI that starts with one is denied, whatever follows. */
  readonly uriPrefixes: readonly string[];
}

const ALL_IPV4: IpRange = { network: new Uint8Array(4), prefixLength: 0 };

/** The zone a name is directly below (`b.c` for `a.b.c`); undefined for a single label. */
function parentZone(name: string): string | undefined {
  const dot = name.indexOf('.');
  return dot < 0 ? undefined : name.slice(dot + 1);
}

function compileDeny(rules: ConcreteRules): DenyRules {
  const wildcardZones = new Set<string>();
  const coveredByWildcard = new Set<string>();
  for (const name of [...rules.dnsNames, ...rules.dnsSuffixes]) {
    const parent = parentZone(name);
    if (parent === undefined) continue;
    coveredByWildcard.add(parent);
    if (name.startsWith('*.')) wildcardZones.add(parent);
  }
  // An IPv4 name is also denied by an IPv6 range holding its mapped form: the certificate may be read either way.
  const ipRanges = rules.ipRanges.some((r) => r.network.length === 16 && holdsIpv4Mapped(r))
    ? [...rules.ipRanges, ALL_IPV4]
    : rules.ipRanges;
  return {
    dnsNames: rules.dnsNames,
    dnsSuffixes: rules.dnsSuffixes,
    wildcardZones,
    coveredByWildcard,
    ipRanges,
    uris: new Set([...rules.uris, ...rules.uriPrefixes.map((p) => p.slice(0, -1))]),
    uriPrefixes: rules.uriPrefixes,
  };
}

function underZone(name: string, zone: string): boolean {
  return name.endsWith(`.${zone}`);
}

function uriMatches(rules: ConcreteRules, uri: string): boolean {
  if (rules.uris.has(uri)) return true;
  return rules.uriPrefixes.some((prefix) => {
    if (!uri.startsWith(prefix) || uri.length === prefix.length) return false;
    return uri
      .slice(prefix.length)
      .split('/')
      .every((s) => SPIFFE_SEGMENT.test(s) && s !== '.' && s !== '..');
  });
}

/** Whether an allow rule set covers the name. A wildcard `*.zone` needs `*.zone` itself or a suffix covering zone. */
function allows(rules: ConcreteRules, name: NormalizedName): boolean {
  if (name.type === 'ip')
    return name.ip !== undefined && rules.ipRanges.some((r) => ipInRange(name.ip as Uint8Array, r));
  if (name.type === 'uri') return uriMatches(rules, name.value);
  if (rules.dnsNames.has(name.value)) return true;
  const zone = name.wildcard ? name.value.slice(2) : name.value;
  return rules.dnsSuffixes.some((s) => (name.wildcard && zone === s) || underZone(zone, s));
}

/**
 * Whether a deny rule set refuses the name, failing closed: a denied zone is denied with its apex, a denied `*.W`
 * denies every name one label below W, a wildcard `*.Z` is refused when any name it covers (one label below Z) would
 * be, a `prefix/*` URI rule denies its apex and any URI starting with the prefix (SPIFFE-shaped or not), and an IPv4
 * name is denied by an IPv6 range holding its mapped form. Issuance and enrollment-token creation both decide here.
 */
function denies(rules: DenyRules, name: NormalizedName): boolean {
  if (name.type === 'ip')
    return name.ip !== undefined && rules.ipRanges.some((r) => ipInRange(name.ip as Uint8Array, r));
  if (name.type === 'uri') {
    return rules.uris.has(name.value) || rules.uriPrefixes.some((prefix) => name.value.startsWith(prefix));
  }
  if (rules.dnsNames.has(name.value)) return true;
  const zone = name.wildcard ? name.value.slice(2) : name.value;
  if (rules.dnsSuffixes.some((s) => zone === s || underZone(zone, s))) return true;
  if (name.wildcard) return rules.coveredByWildcard.has(zone);
  const parent = parentZone(name.value);
  return parent !== undefined && rules.wildcardZones.has(parent);
}

/** A readable summary of what a rule set allows, for refusal messages. */
function describe(rules: ConcreteRules, type: SubjectAltName['type']): string {
  const options =
    type === 'dns'
      ? [...rules.dnsNames, ...rules.dnsSuffixes.map((s) => `*.${s} (any depth)`)]
      : type === 'uri'
        ? [...rules.uris, ...rules.uriPrefixes.map((p) => `${p}<path>`)]
        : rules.ipRanges.map((r) => `${r.network.length === 4 ? 'IPv4' : 'IPv6'} /${r.prefixLength} range`);
  if (options.length === 0) return `no ${type === 'dns' ? 'DNS' : type === 'uri' ? 'URI' : 'IP'} names`;
  const shown = options.slice(0, 10).join(', ');
  return options.length > 10 ? `${shown} and ${options.length - 10} more` : shown;
}

function refuse(code: string, message: string, details?: Record<string, unknown>): AuthorizationError {
  return new AuthorizationError(code, message, details ? { details } : undefined);
}

/** What a policy stamps on a certificate for one requester. */
interface Stamp {
  readonly organization: string | undefined;
  readonly organizationalUnit: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** One policy, compiled once: principal patterns as glob matchers, template-free rules rendered. */
class CompiledPolicy {
  readonly principals: readonly ReturnType<typeof compilePrincipalPattern>[];
  readonly maxValiditySeconds: number;
  readonly defaultValiditySeconds: number;
  readonly renewBeforeSeconds: number | undefined;
  private readonly staticAllow: ConcreteRules | undefined;
  private readonly staticDeny: DenyRules | undefined;

  constructor(readonly document: PolicyDocument) {
    this.principals = document.principals.map(compilePrincipalPattern);
    this.maxValiditySeconds = parseValidity(document.validity.max);
    this.defaultValiditySeconds = parseValidity(document.validity.default);
    this.renewBeforeSeconds = document.renewBefore === undefined ? undefined : parseValidity(document.renewBefore);
    this.staticAllow = templated(document.allow) ? undefined : renderRules(document.allow, {});
    const deny = document.deny ?? EMPTY_RULES;
    this.staticDeny = templated(deny) ? undefined : compileDeny(renderRules(deny, {}));
  }

  get name(): string {
    return this.document.name;
  }

  private readonly stamps = new WeakMap<object, Stamp>();

  /** The subject attributes and tags for a requester's variables, rendered once per variables object. */
  stampFor(vars: Readonly<Record<string, string>>): Stamp {
    let stamp = this.stamps.get(vars);
    if (!stamp) {
      const text = (t: string | undefined) => (t === undefined ? undefined : render(t, vars, 'text'));
      stamp = {
        organization: text(this.document.subject.organization),
        organizationalUnit: text(this.document.subject.organizationalUnit),
        // Shared by every decision for this requester: frozen, so no caller can change another's.
        tags: Object.freeze(
          Object.fromEntries(
            Object.entries(this.document.tags).flatMap(([k, v]) => {
              const value = render(v, vars, 'text');
              return value === undefined ? [] : [[k, value]];
            }),
          ),
        ),
      };
      this.stamps.set(vars, stamp);
    }
    return stamp;
  }

  allowRules(vars: Readonly<Record<string, string>>): ConcreteRules {
    return this.staticAllow ?? renderRules(this.document.allow, vars);
  }

  denyRules(vars: Readonly<Record<string, string>>): DenyRules {
    return this.staticDeny ?? compileDeny(renderRules(this.document.deny ?? EMPTY_RULES, vars));
  }
}

function templated(rules: NameRulesDocument): boolean {
  return [...rules.dnsNames, ...rules.dnsSuffixes, ...rules.uris].some((t) => HAS_TEMPLATE.test(t));
}

/**
 * A set of issuance policies, compiled for evaluation. Evaluation order, each step able to refuse:
 * 1. names are normalized (400 `NAME_INVALID`, `CSR_CN_NOT_IN_SAN`…);
 * 2. the policies whose principals match the requester are the candidates (403 `NO_MATCHING_POLICY`); a named
 *    policy must be one of them (403 `POLICY_NOT_PERMITTED`, the same answer whether or not it exists);
 * 3. deny rules of the configuration and of every candidate refuse names (403 `NAME_DENIED`): deny beats allow;
 * 4. the named policy, else each candidate in order, must allow every name, the key, the validity and the extended
 *    key usages; the first that does decides. When none does, its refusal (one candidate) or a list of each
 *    candidate's reason (403 `NO_POLICY_ALLOWS`) is the answer.
 */
export class PolicySet {
  private readonly policies: readonly CompiledPolicy[];
  private readonly globalDenyDocument: NameRulesDocument;
  /** The configuration's deny rules when they use no template; else rendered per requester. */
  private readonly staticGlobalDeny: DenyRules | undefined;

  constructor(policies: readonly PolicyDocument[], deny?: NameRulesDocument) {
    this.policies = policies.map((p) => new CompiledPolicy(p));
    this.globalDenyDocument = deny ?? EMPTY_RULES;
    this.staticGlobalDeny = templated(this.globalDenyDocument)
      ? undefined
      : compileDeny(renderRules(this.globalDenyDocument, {}));
  }

  private globalDeny(vars: Readonly<Record<string, string>>): DenyRules {
    return this.staticGlobalDeny ?? compileDeny(renderRules(this.globalDenyDocument, vars));
  }

  get names(): string[] {
    return this.policies.map((p) => p.name);
  }

  /**
   * What the policy set says about one requester, computed once and reused: its template variables, the policies
   * that apply, their rules rendered for it, and the deny rules that apply to it. Workloads ask again and again, so
   * this turns evaluation into set lookups; the cache lives as long as this compiled set (policies reload into a new
   * one) and is bounded.
   */
  private readonly requesters = new Map<string, RequesterView>();

  private requesterView(principal: Principal): RequesterView {
    const key = principalKey(principal);
    const cached = key === undefined ? undefined : this.requesters.get(key);
    if (cached) return cached;
    const vars = principalVariables(principal);
    const candidates = this.policies.filter((p) => principalMatches(p.principals, principal));
    const view: RequesterView = {
      vars,
      candidates,
      allow: new Map(candidates.map((p) => [p.name, p.allowRules(vars)])),
      deny: [
        { policy: undefined, rules: this.globalDeny(vars) },
        ...candidates.map((p) => ({ policy: p.name as string | undefined, rules: p.denyRules(vars) })),
      ],
    };
    if (key !== undefined) {
      if (this.requesters.size >= MAX_CACHED_REQUESTERS) this.requesters.clear();
      this.requesters.set(key, view);
    }
    return view;
  }

  /** Decides a request, or throws the reason it is refused. */
  decide(principal: Principal, ask: IssuanceAsk): IssuanceDecision {
    const names = normalizeNames(requestedNames(ask));
    const validitySeconds = ask.validity === undefined ? undefined : parseValidity(ask.validity);
    const view = ask.binding ? this.bindingView(ask) : this.requesterView(principal);
    const { vars } = view;
    const candidates = this.candidates(principal, ask, view);

    for (const name of names) {
      for (const { policy, rules } of view.deny) {
        if (!denies(rules, name)) continue;
        throw refuse(
          'NAME_DENIED',
          `The name ${quoteName(name.value)} is denied by ${policy === undefined ? "the configuration's deny rules" : `policy "${policy}"`}.`,
          policy === undefined ? { name: name.value } : { name: name.value, policy },
        );
      }
    }
    if (ask.binding) {
      const bound = new Set(ask.binding.names);
      const extra = names.find((n) => !bound.has(nameKey(n)));
      if (extra) {
        throw refuse(
          'NAME_NOT_ALLOWED',
          `The name ${quoteName(extra.value)} is not one the enrollment token was created for: ${ask.binding.names.join(', ')}.`,
          { name: extra.value },
        );
      }
    }

    const tried = ask.policy === undefined ? candidates : candidates.filter((p) => p.name === ask.policy);
    const failures: Array<{ policy: string; error: ControlPlaneError }> = [];
    for (const policy of tried) {
      try {
        return evaluate(
          policy,
          view.allow.get(policy.name) ?? policy.allowRules(vars),
          vars,
          names,
          ask,
          validitySeconds,
        );
      } catch (error) {
        if (!(error instanceof AuthorizationError)) throw error;
        failures.push({ policy: policy.name, error });
      }
    }
    const [first] = failures;
    if (first && failures.length === 1) throw first.error;
    // When every policy refused for the same reason, that reason is the answer; each policy's message is in details.
    const sameCode = first && failures.every((f) => f.error.code === first.error.code) ? first.error.code : undefined;
    throw refuse(
      sameCode ?? 'NO_POLICY_ALLOWS',
      `None of the ${failures.length} policies that apply to you allows this request; see details for each reason.`,
      { reasons: failures.map((f) => ({ policy: f.policy, code: f.error.code, message: f.error.message })) },
    );
  }

  /**
   * Checks that a policy could issue these names to an enrollment token's holder (no requester variables): used when
   * a token is created, so that a token that could never be used is refused up front.
   * @throws ValidationError `POLICY_UNKNOWN`; AuthorizationError with the policy's refusal.
   */
  checkBinding(policyName: string, requested: readonly SubjectAltName[]): NormalizedName[] {
    const policy = this.policy(policyName);
    const names = normalizeNames(requested);
    const deny = [this.globalDeny({}), policy.denyRules({})];
    const denied = names.find((n) => deny.some((rules) => denies(rules, n)));
    if (denied) {
      throw refuse('NAME_DENIED', `The name ${quoteName(denied.value)} is denied by the deny rules.`, {
        name: denied.value,
      });
    }
    const rules = policy.allowRules({});
    for (const name of names) checkName(policy, rules, name);
    return names;
  }

  private policy(name: string): CompiledPolicy {
    const found = this.policies.find((p) => p.name === name);
    if (!found) {
      throw new ValidationError('POLICY_UNKNOWN', `There is no policy named "${name.slice(0, 64)}".`, {
        details: { policy: name.slice(0, 64) },
      });
    }
    return found;
  }

  /** An enrollment token's view: its one policy, rendered without requester variables. */
  private bindingView(ask: IssuanceAsk): RequesterView {
    const policy = this.policy(ask.binding?.policy ?? '');
    return {
      vars: {},
      candidates: [policy],
      allow: new Map([[policy.name, policy.allowRules({})]]),
      deny: [
        { policy: undefined, rules: this.globalDeny({}) },
        { policy: policy.name, rules: policy.denyRules({}) },
      ],
    };
  }

  private candidates(principal: Principal, ask: IssuanceAsk, view: RequesterView): readonly CompiledPolicy[] {
    if (ask.binding) {
      if (ask.policy !== undefined && ask.policy !== ask.binding.policy) {
        throw refuse('POLICY_NOT_PERMITTED', `The enrollment token is bound to policy "${ask.binding.policy}".`);
      }
      return view.candidates;
    }
    const matching = view.candidates;
    if (ask.policy !== undefined && !matching.some((p) => p.name === ask.policy)) {
      // One answer whether the policy is unknown or does not list the caller: a workload must not learn which
      // policies exist (and what they are called) by probing names. Only token creation (checkBinding), which is
      // for admins, who may list the policies anyway, answers POLICY_UNKNOWN.
      const name = ask.policy.slice(0, 64);
      throw refuse(
        'POLICY_NOT_PERMITTED',
        `Policy "${name}" is not one you may use: it does not exist or does not list ${principalKey(principal) ?? principal.id} among its principals.`,
        { policy: name },
      );
    }
    if (matching.length === 0) {
      throw refuse(
        'NO_MATCHING_POLICY',
        `No policy applies to ${principalKey(principal) ?? principal.id}: ask an admin to add it to a policy's principals.`,
      );
    }
    return matching;
  }
}

/** Requesters whose evaluation is kept per compiled policy set. */
const MAX_CACHED_REQUESTERS = 10_000;

interface RequesterView {
  readonly vars: Readonly<Record<string, string>>;
  readonly candidates: readonly CompiledPolicy[];
  readonly allow: ReadonlyMap<string, ConcreteRules>;
  readonly deny: ReadonlyArray<{ readonly policy: string | undefined; readonly rules: DenyRules }>;
}

/** The names a CSR asks for: its subjectAltNames, or its CN when it has none. A CN must also be a SAN. */
function requestedNames(ask: IssuanceAsk): SubjectAltName[] {
  if (ask.subjectAltNames.length === 0) return ask.commonNames.map((value) => ({ type: 'dns', value }));
  const sans = new Set(ask.subjectAltNames.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()));
  const stray = ask.commonNames.find((cn) => !sans.has(cn.toLowerCase()));
  if (stray !== undefined) {
    throw new ValidationError(
      'CSR_CN_NOT_IN_SAN',
      `The CSR's subject CN ${quoteName(stray)} is not one of its DNS subjectAltNames: add it to the SAN extension ` +
        '(openssl: -addext subjectAltName=DNS:<name>) or drop the CN.',
    );
  }
  return [...ask.subjectAltNames];
}

function checkName(policy: CompiledPolicy, rules: ConcreteRules, name: NormalizedName): void {
  if (name.wildcard && !policy.document.allowWildcardCertificates) {
    throw refuse(
      'WILDCARD_NOT_ALLOWED',
      `Policy "${policy.name}" does not issue wildcard certificates (${quoteName(name.value)}); request each name.`,
      { name: name.value, policy: policy.name },
    );
  }
  if (!allows(rules, name)) {
    throw refuse(
      'NAME_NOT_ALLOWED',
      `Policy "${policy.name}" does not allow the name ${quoteName(name.value)}; it allows ${describe(rules, name.type)}.`,
      { name: name.value, policy: policy.name },
    );
  }
}

function evaluate(
  policy: CompiledPolicy,
  rules: ConcreteRules,
  vars: Readonly<Record<string, string>>,
  names: readonly NormalizedName[],
  ask: IssuanceAsk,
  requestedValidity: number | undefined,
): IssuanceDecision {
  const doc = policy.document;
  for (const name of names) checkName(policy, rules, name);
  if (!doc.keyTypes.includes(ask.key.algorithm)) {
    throw refuse(
      'KEY_NOT_ALLOWED',
      `Policy "${policy.name}" accepts ${doc.keyTypes.join(', ')} keys, not ${ask.key.algorithm}.`,
      { policy: policy.name },
    );
  }
  if (ask.key.algorithm === 'RSA' && ask.key.keySize < doc.minRsaBits) {
    throw refuse(
      'KEY_NOT_ALLOWED',
      `Policy "${policy.name}" needs RSA keys of at least ${doc.minRsaBits} bits; the CSR's has ${ask.key.keySize}.`,
      { policy: policy.name },
    );
  }
  if (requestedValidity !== undefined && requestedValidity > policy.maxValiditySeconds) {
    throw refuse(
      'VALIDITY_TOO_LONG',
      `Policy "${policy.name}" issues certificates for at most ${formatDuration(policy.maxValiditySeconds)}; ask for less.`,
      { policy: policy.name, maxValiditySeconds: policy.maxValiditySeconds },
    );
  }
  const ekus = ask.extendedKeyUsages ?? doc.extendedKeyUsages;
  const extra = ekus.find((e) => !doc.extendedKeyUsages.includes(e));
  if (extra !== undefined) {
    throw refuse(
      'EKU_NOT_ALLOWED',
      `Policy "${policy.name}" grants ${doc.extendedKeyUsages.join(', ')}, not ${extra}.`,
      { policy: policy.name },
    );
  }
  const sans = names.map(({ type, value }) => ({ type, value }));
  const stamp = policy.stampFor(vars);
  return {
    policy: policy.name,
    names: sans,
    validitySeconds: requestedValidity ?? policy.defaultValiditySeconds,
    extendedKeyUsages: [...new Set(ekus)],
    withCommonName: doc.subject.commonName === 'first-dns-name',
    organization: stamp.organization,
    organizationalUnit: stamp.organizationalUnit,
    renewBeforeSeconds: policy.renewBeforeSeconds,
    tags: stamp.tags,
  };
}

/** The key of a normalized name in an enrollment token's binding: `dns:api.example.internal`. */
export function nameKey(name: { readonly type: string; readonly value: string }): string {
  return `${name.type}:${name.value}`;
}
