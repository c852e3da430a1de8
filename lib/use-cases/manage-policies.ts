import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import type { MimConfig, NameRulesDocument, PolicyDocument } from '#lib/domain/policy.ts';
import { PolicySet } from '#lib/domain/policy-engine.ts';
import type { Principal } from '#lib/domain/principal.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { PolicyStore, StoredPolicy } from '#lib/ports/policy-store.ts';

export interface ManagePoliciesDeps {
  readonly policyStore: PolicyStore;
  readonly clock: Clock;
}

/** The actor recorded for changes made by deploying or starting with a configuration file. */
export const CONFIG_ACTOR = 'config';

function audit(
  action: AuditRecord['action'],
  actor: string,
  at: string,
  name: string,
  version: number,
  source: string,
): AuditRecord {
  return {
    eventId: randomUUID(),
    at,
    action,
    actor,
    target: `policy/${name}`,
    details: { version, source },
  };
}

export function listPolicies(deps: ManagePoliciesDeps): Promise<StoredPolicy[]> {
  return deps.policyStore.listPolicies();
}

/** @throws NotFoundError `POLICY_NOT_FOUND`. */
export async function getPolicy(deps: ManagePoliciesDeps, name: string): Promise<StoredPolicy> {
  const found = await deps.policyStore.getPolicy(name);
  if (!found) throw policyNotFound(name);
  return found;
}

function policyNotFound(name: string): NotFoundError {
  return new NotFoundError('POLICY_NOT_FOUND', `There is no policy named "${name}". GET /v1/policies lists them.`);
}

/**
 * Creates (`expectedVersion` 0) or replaces (`expectedVersion` = the version read) a policy, keeping the previous
 * version and auditing the change.
 * @throws ValidationError `POLICY_NAME_MISMATCH` when the body names another policy than the path; ConflictError
 *   `POLICY_VERSION_MISMATCH` from the store.
 */
export async function putPolicy(
  deps: ManagePoliciesDeps,
  principal: Principal,
  write: { readonly name: string; readonly document: PolicyDocument; readonly expectedVersion: number },
): Promise<StoredPolicy> {
  if (write.document.name !== write.name) {
    throw new ValidationError(
      'POLICY_NAME_MISMATCH',
      `The body describes policy "${write.document.name}" but the path names "${write.name}"; they must agree.`,
    );
  }
  const at = deps.clock.now().toISOString();
  const version = write.expectedVersion + 1;
  return deps.policyStore.putPolicy({
    document: write.document,
    expectedVersion: write.expectedVersion,
    source: 'api',
    at,
    by: principal.id,
    audit: audit(
      write.expectedVersion === 0 ? 'PolicyCreated' : 'PolicyUpdated',
      principal.id,
      at,
      write.name,
      version,
      'api',
    ),
  });
}

/** Deletes a policy at the version the caller read; its history stays. */
export async function deletePolicy(
  deps: ManagePoliciesDeps,
  principal: Principal,
  write: { readonly name: string; readonly expectedVersion: number },
): Promise<void> {
  const at = deps.clock.now().toISOString();
  await deps.policyStore.deletePolicy({
    name: write.name,
    expectedVersion: write.expectedVersion,
    audit: audit('PolicyDeleted', principal.id, at, write.name, write.expectedVersion + 1, 'api'),
  });
}

function sameDocument(a: PolicyDocument, b: PolicyDocument): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)))
      : v,
  );
}

export interface SeedReport {
  readonly created: string[];
  readonly updated: string[];
  readonly deleted: string[];
  readonly unchanged: string[];
}

/**
 * Makes the stored policies agree with the configuration file, as a deployment (or `npm start`) does: each policy of
 * the file is created or, when its stored version differs (edited through the API since), replaced by the file's
 * version; policies the file once created and no longer lists are deleted; policies created through the API are left
 * alone. Every change is a new audited version by the actor `config`.
 */
export async function seedPolicies(deps: ManagePoliciesDeps, config: Pick<MimConfig, 'policies'>): Promise<SeedReport> {
  const report: SeedReport = { created: [], updated: [], deleted: [], unchanged: [] };
  const stored = new Map((await deps.policyStore.listPolicies()).map((p) => [p.document.name, p]));
  const at = deps.clock.now().toISOString();
  for (const document of config.policies) {
    const current = stored.get(document.name);
    if (current && current.source === 'config' && sameDocument(current.document, document)) {
      report.unchanged.push(document.name);
      continue;
    }
    const expectedVersion = current?.version ?? 0;
    await deps.policyStore.putPolicy({
      document,
      expectedVersion,
      source: 'config',
      at,
      by: CONFIG_ACTOR,
      audit: audit(
        current ? 'PolicyUpdated' : 'PolicyCreated',
        CONFIG_ACTOR,
        at,
        document.name,
        expectedVersion + 1,
        'config',
      ),
    });
    (current ? report.updated : report.created).push(document.name);
  }
  const inFile = new Set(config.policies.map((p) => p.name));
  for (const [name, current] of stored) {
    if (current.source !== 'config' || inFile.has(name)) continue;
    await deps.policyStore.deletePolicy({
      name,
      expectedVersion: current.version,
      audit: audit('PolicyDeleted', CONFIG_ACTOR, at, name, current.version + 1, 'config'),
    });
    report.deleted.push(name);
  }
  return report;
}

/** Loads the compiled policy set; `invalidate` makes the next call read the store again. */
export interface PolicySetLoader {
  (): Promise<PolicySet>;
  invalidate(): void;
}

/**
 * The policy set issuance evaluates: the stored policies plus the configuration's deny rules, compiled, and reused
 * for `maxAgeMs` (a policy change reaches a warm function within that time) or until `invalidate()`. Concurrent
 * requests share one load.
 */
export function policySetLoader(deps: {
  readonly policyStore: PolicyStore;
  readonly clock: Clock;
  readonly deny?: NameRulesDocument | undefined;
  readonly maxAgeMs: number;
}): PolicySetLoader {
  let cached: { at: number; set: Promise<PolicySet> } | undefined;
  const load = () => {
    const now = deps.clock.now().getTime();
    if (!cached || now - cached.at >= deps.maxAgeMs) {
      const set = deps.policyStore.listPolicies().then(
        (stored) =>
          new PolicySet(
            stored.map((p) => p.document),
            deps.deny,
          ),
      );
      cached = { at: now, set };
      set.catch(() => {
        if (cached?.set === set) cached = undefined;
      });
    }
    return cached.set;
  };
  return Object.assign(load, {
    invalidate: () => {
      cached = undefined;
    },
  });
}

/**
 * The store, with every successful write invalidating the loader: one process that both changes and evaluates
 * policies (the local server) sees each change at once without reading the store on every request.
 */
export function invalidatingPolicyStore(store: PolicyStore, loader: Pick<PolicySetLoader, 'invalidate'>): PolicyStore {
  return {
    listPolicies: () => store.listPolicies(),
    getPolicy: (name) => store.getPolicy(name),
    policyHistory: (name) => store.policyHistory(name),
    putPolicy: async (write) => {
      const stored = await store.putPolicy(write);
      loader.invalidate();
      return stored;
    },
    deletePolicy: async (write) => {
      await store.deletePolicy(write);
      loader.invalidate();
    },
  };
}
