import type { Facts, FactValue } from '../discovery.ts';
import type { AnyIdentityType } from '../identity-catalog.ts';
import type { Finding, RiskRule, RiskSubject } from './rule.ts';

/**
 * Defensive readers of the facts the discovery sources record, for the identity risk rules. Facts are JSON written by
 * a source at some version and read back from the inventory: a rule never trusts their shape. Every reader returns
 * `undefined` for a missing or unexpected value, and a rule that needs it then does not fire. None throws.
 */

type FactObject = { readonly [key: string]: FactValue };

const DAY_MS = 86_400_000;

/** The identity is one a rule may fire for: `active` (not missing, retired or revoked) and of one of `types`. */
export function isActiveOf(subject: RiskSubject, types: readonly AnyIdentityType[]): boolean {
  return subject.status === 'active' && types.includes(subject.type);
}

/** The finding of `rule`, with its code, severity and control. */
export function findingOf(
  rule: Pick<RiskRule, 'code' | 'severity' | 'control'>,
  explanation: string,
  remediation: string,
): Finding {
  return {
    rule: rule.code,
    severity: rule.severity,
    explanation,
    remediation,
    ...(rule.control === undefined ? {} : { control: rule.control }),
  };
}

export function asObject(value: FactValue | undefined): FactObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as FactObject) : undefined;
}

export function asString(value: FactValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A finite number. */
export function asNumber(value: FactValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function asBoolean(value: FactValue | undefined): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/** A list of strings; `undefined` when not a list or when any member is not a string. */
export function asStrings(value: FactValue | undefined): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list = value as readonly FactValue[];
  return list.every((item) => typeof item === 'string') ? (list as string[]) : undefined;
}

/** A list of objects (members that are not objects are dropped); `undefined` when not a list. */
export function asObjects(value: FactValue | undefined): FactObject[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return (value as readonly FactValue[]).flatMap((item) => {
    const object = asObject(item);
    return object === undefined ? [] : [object];
  });
}

// A calendar day (`2026-11-20`, as sources keep dates that move with use) or an ISO 8601 date-time in UTC or with an
// offset (`2025-03-01T10:00:00.000Z`).
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** A date fact as a `Date`; `undefined` unless it is an ISO 8601 day or date-time. */
export function asDate(value: FactValue | undefined): Date | undefined {
  if (typeof value !== 'string' || !ISO_DATE.test(value)) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** Whole days from `date` to `now` (negative when `date` is in the future). */
export function daysSince(date: Date, now: Date): number {
  return Math.floor((now.getTime() - date.getTime()) / DAY_MS);
}

/** `YYYY-MM-DD` of a date, in UTC. */
export function utcDayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** "today", "1 day ago", "412 days ago". */
export function ago(date: Date, now: Date): string {
  const days = daysSince(date, now);
  if (days <= 0) return 'today';
  return days === 1 ? '1 day ago' : `${days} days ago`;
}

/** "2026-03-01 (412 days ago)". */
export function dayAndAge(date: Date, now: Date): string {
  return `${utcDayOf(date)} (${ago(date, now)})`;
}

/** The `risk` object the `aws-iam` source records on roles, agents and users. */
export function riskOf(facts: Facts): FactObject | undefined {
  return asObject(facts.risk);
}

/**
 * A permission grant as `risk.adminActions` records it: the action pattern granted on every resource (`*`, `iam:*`,
 * `sts:*`), whether every statement granting it is conditional, and the policies that grant it (`inline:<name>`,
 * `group:<group>:inline:<name>`, or a managed policy's ARN).
 */
export interface Grant {
  readonly action: string;
  readonly conditional: boolean;
  readonly grantedBy: readonly string[];
}

/** The grants of a list fact such as `risk.adminActions`; entries without an action are dropped. */
export function grantsOf(value: FactValue | undefined): Grant[] | undefined {
  const entries = asObjects(value);
  if (entries === undefined) return undefined;
  return entries.flatMap((entry) => {
    const action = asString(entry.action);
    if (action === undefined) return [];
    // A grant whose conditionality is unknown is taken as unconditional: the conservative reading.
    return [
      { action, conditional: asBoolean(entry.conditional) ?? false, grantedBy: asStrings(entry.grantedBy) ?? [] },
    ];
  });
}

/** An escalation path as `risk.privilegeEscalation` records it. */
export interface Escalation {
  readonly method: string;
  readonly actions: readonly string[];
  readonly conditional: boolean;
  readonly grantedBy: readonly string[];
}

export function escalationsOf(value: FactValue | undefined): Escalation[] | undefined {
  const entries = asObjects(value);
  if (entries === undefined) return undefined;
  return entries.flatMap((entry) => {
    const method = asString(entry.method);
    if (method === undefined) return [];
    return [
      {
        method,
        actions: asStrings(entry.actions) ?? [],
        conditional: asBoolean(entry.conditional) ?? false,
        grantedBy: asStrings(entry.grantedBy) ?? [],
      },
    ];
  });
}

/** The administrative grants of a principal (`risk.adminActions`), when its facts record them. */
export function adminGrantsOf(facts: Facts): Grant[] | undefined {
  return grantsOf(riskOf(facts)?.adminActions);
}

/**
 * The grants in words, those from the same policies under the same conditionality together:
 * "*, iam:*, sts:* on * (granted by arn:aws:iam::aws:policy/AdministratorAccess)"; a conditional grant says so.
 */
export function describeGrants(grants: readonly Grant[]): string {
  const groups = new Map<string, { actions: string[]; grant: Grant }>();
  for (const grant of grants) {
    const key = JSON.stringify([grant.grantedBy, grant.conditional]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { actions: [grant.action], grant });
    else group.actions.push(grant.action);
  }
  return [...groups.values()]
    .map(({ actions, grant }) => {
      const by = grant.grantedBy.length === 0 ? '' : ` (granted by ${grant.grantedBy.join(', ')})`;
      return `${actions.join(', ')} on *${by}${grant.conditional ? ', only under conditions' : ''}`;
    })
    .join('; ');
}

/**
 * The ids of the user's active access keys: `activeAccessKeys`, a sorted list of access key ids on an `iam-user`.
 * The `aws-iam` source records it on each user, beside each key's own `iam-access-key` identity.
 */
export function activeAccessKeysOf(facts: Facts): string[] | undefined {
  return asStrings(facts.activeAccessKeys);
}

/**
 * Whether an IAM user has a console password. `consolePassword` (a boolean, from `GetLoginProfile` or the credential
 * report) says it when a source records it; no source does yet. Until then, a recorded `passwordLastUsed` day is the
 * hint: the user signed in with a password, so it had one.
 */
export function consolePasswordOf(facts: Facts): { readonly has: boolean; readonly lastUsed?: Date } | undefined {
  const recorded = asBoolean(facts.consolePassword);
  const lastUsed = asDate(facts.passwordLastUsed);
  if (recorded === false) return { has: false };
  if (recorded === true || lastUsed !== undefined)
    return lastUsed === undefined ? { has: true } : { has: true, lastUsed };
  return undefined;
}

/** An IAM principal's agent signals (`agentSignals`: `trust:bedrock-agent`, `tag:mim:kind=agent`…); [] when none. */
export function agentSignalsOf(facts: Facts): string[] {
  return asStrings(facts.agentSignals) ?? [];
}

/** Whether a subject is an AI agent: typed so, or an IAM principal with agent signals. */
export function isAgent(subject: RiskSubject): boolean {
  return subject.type === 'ai-agent' || agentSignalsOf(subject.facts).length > 0;
}
