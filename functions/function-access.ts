import type { TableGrant } from '#lib/config/table-grants.ts';
import type { ApiFunctionName, NON_API_FUNCTIONS } from './routes.ts';

/**
 * What each function may touch, as plain data read by the CDK stack (which turns it into IAM statements, key policies
 * and env vars) and by the local runtime (which enforces the same table grants on each handler's client).
 */

/** Every function of the control plane, by its `functions/<name>` folder. */
export type FunctionName = ApiFunctionName | (typeof NON_API_FUNCTIONS)[number];

/** One grant per partition family, named by what the code does with it. */
const IDEMPOTENCY: TableGrant = {
  // Powertools' persistence layer: a conditional put claims the key, get/update/delete complete or release it.
  actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
  partitions: ['idempotency'],
};
const READ_CURRENT_POLICIES: TableGrant = { actions: ['Query'], partitions: ['currentPolicies'] };
const APPEND_AUDIT: TableGrant = { actions: ['PutItem'], partitions: ['audit'] };
/** Writing a policy: its latest version from the history, then the current item, history item and audit entry. */
const PUT_POLICY: readonly TableGrant[] = [
  { actions: ['GetItem', 'PutItem'], partitions: ['currentPolicies'] },
  { actions: ['Query', 'PutItem'], partitions: ['policyHistory'] },
  APPEND_AUDIT,
];
/** Deleting one: the current item goes, a tombstone version and an audit entry are added. */
const DELETE_POLICY: readonly TableGrant[] = [
  { actions: ['GetItem', 'DeleteItem'], partitions: ['currentPolicies'] },
  { actions: ['PutItem'], partitions: ['policyHistory', 'audit'] },
];

/**
 * What each function may do in the inventory table: least privilege, partition by partition. The CDK stack turns
 * each grant into an IAM statement with a `dynamodb:LeadingKeys` condition (and the env var naming the table); the
 * local runtime runs each handler on a DynamoDB client that refuses anything its grants do not allow, so every local
 * and end-to-end test also checks that these grants cover what the code does. A `Record` over every function, so a
 * new function does not typecheck until its access is declared.
 */
export const FUNCTION_TABLE_ACCESS: Readonly<Record<FunctionName, readonly TableGrant[]>> = {
  health: [],
  'get-openapi': [],
  'route-not-found': [],
  'get-ca-chain': [{ actions: ['GetItem'], partitions: ['caChain'] }],
  'issue-certificate': [
    { actions: ['GetItem'], partitions: ['caChain'] },
    READ_CURRENT_POLICIES,
    // The token is read, then spent in the issuance's transaction with the certificate, identity and audit entry.
    { actions: ['GetItem', 'UpdateItem'], partitions: ['enrollmentToken'] },
    { actions: ['PutItem'], partitions: ['certificate', 'identity', 'audit'] },
    IDEMPOTENCY,
  ],
  'get-certificate': [{ actions: ['GetItem'], partitions: ['certificate'] }],
  'revoke-certificate': [
    { actions: ['GetItem', 'UpdateItem'], partitions: ['certificate', 'identity'] },
    APPEND_AUDIT,
    IDEMPOTENCY,
  ],
  'list-identities': [
    { actions: ['Query'], index: 'byType' },
    { actions: ['Query'], index: 'byOwner' },
    { actions: ['Query'], index: 'byAccount' },
    { actions: ['Query'], index: 'byRisk' },
  ],
  // The identity; for certificates the linked certificate; for discovered ones when their scope was last read.
  'get-identity': [
    { actions: ['GetItem'], partitions: ['identity', 'discoveredIdentity', 'certificate', 'scopeReads'] },
    // A certificate on TLS endpoints: its locations' last scans.
    { actions: ['BatchGetItem'], partitions: ['scopeReads'] },
  ],
  // The identity as read, then its next version and the audit entry in one transaction.
  'update-identity': [
    { actions: ['GetItem', 'PutItem'], partitions: ['identity', 'discoveredIdentity'] },
    // An issued identity's certificate: its risk is reassessed with the new owner.
    { actions: ['GetItem'], partitions: ['certificate'] },
    APPEND_AUDIT,
  ],
  // Each group is a listing: by a risk rule (byRisk), or by type (byType).
  'get-consolidation': [
    { actions: ['Query'], index: 'byRisk' },
    { actions: ['Query'], index: 'byType' },
    // Live certificates found elsewhere: their issuer, from their facts.
    { actions: ['BatchGetItem'], partitions: ['discoveredIdentity'] },
  ],
  // The summary's counters of every burst shard, summed (a Query of each shard's partition).
  'get-inventory-summary': [{ actions: ['Query'], partitions: ['summaryCounters'] }],
  // The identities of an import: read in batches, written when new or changed.
  'import-identities': [
    { actions: ['BatchGetItem', 'PutItem'], partitions: ['discoveredIdentity'] },
    // An imported certificate is filed under its public key; who else holds the key is read to count the sharers.
    { actions: ['PutItem', 'Query'], partitions: ['keyHolders'] },
    // One audit entry per import that changed something.
    APPEND_AUDIT,
  ],
  'list-policies': [READ_CURRENT_POLICIES],
  'get-policy': [{ actions: ['GetItem'], partitions: ['currentPolicies'] }],
  'put-policy': PUT_POLICY,
  'delete-policy': DELETE_POLICY,
  'create-enrollment-token': [
    READ_CURRENT_POLICIES,
    { actions: ['PutItem'], partitions: ['enrollmentToken', 'audit'] },
    IDEMPOTENCY,
  ],
  'list-audit-events': [{ actions: ['Query'], partitions: ['audit'] }],
  // Reads the table's stream (granted with its event source mapping), never its items: the images are in the records.
  'publish-events': [],
  // Reads the table's stream like the publisher; for each identity version, what it is counted in (read, then replaced
  // in a transaction with an ADD to the counters of its shard).
  'summarize-inventory': [
    // What each identity of a batch is counted in: read together, then replaced with the counters in few transactions.
    { actions: ['GetItem', 'BatchGetItem', 'PutItem'], partitions: ['summaryContribution'] },
    { actions: ['UpdateItem'], partitions: ['summaryCounters'] },
  ],
  // The run's parts, then its record (after checking the id is new).
  'start-discovery-run': [
    { actions: ['GetItem', 'PutItem'], partitions: ['discoveryRuns'] },
    { actions: ['PutItem'], partitions: ['discoveryRunParts'] },
  ],
  'get-discovery-run': [
    { actions: ['GetItem'], partitions: ['discoveryRuns'] },
    { actions: ['Query'], partitions: ['discoveryRunParts'] },
  ],
  'list-discovery-runs': [{ actions: ['Query'], partitions: ['discoveryRuns'] }],
  // One unit of work: the identities it sees (read in batches, written when changed), its scope's identities (to
  // count missed runs), and its own part of the run.
  'discovery-worker': [
    // A page's identities read in batches; a scanned certificate's read alone (and re-read when another unit won).
    { actions: ['BatchGetItem', 'GetItem', 'PutItem'], partitions: ['discoveredIdentity'] },
    { actions: ['Query'], index: 'byScope' },
    // Its part (read, replaced), the run's tally (moved with it), and when its scope was last read: an identity
    // missed now was last seen then; a part that succeeds records it. A tls unit reads and records its locations' scans.
    { actions: ['GetItem', 'PutItem'], partitions: ['discoveryRunParts'] },
    { actions: ['GetItem', 'BatchGetItem', 'PutItem'], partitions: ['scopeReads'] },
    { actions: ['UpdateItem'], partitions: ['discoveryRuns'] },
    // A tls unit: our CA's chain (is a presented chain ours?), a certificate we issued found on an endpoint (by its
    // serial) and its identity, rewritten with where it is served and its risk reassessed.
    { actions: ['GetItem'], partitions: ['caChain', 'certificate'] },
    { actions: ['GetItem', 'PutItem'], partitions: ['identity'] },
    // A scanned certificate is filed under its public key; who else holds the key is read to count the sharers.
    { actions: ['PutItem', 'Query'], partitions: ['keyHolders'] },
  ],
  // The daily risk sweep: the policies (the longest renewal window), the certificates due in it, their identities
  // (read, and rewritten when their assessment moved).
  'rescore-risk': [
    READ_CURRENT_POLICIES,
    { actions: ['Query'], index: 'expiry' },
    { actions: ['GetItem', 'PutItem'], partitions: ['identity'] },
  ],
  // Creates the CA chain once, and seeds the configuration's policies on every deployment that changes them.
  'bootstrap-ca': [
    { actions: ['GetItem', 'PutItem'], partitions: ['caChain'] },
    READ_CURRENT_POLICIES,
    ...PUT_POLICY,
    ...DELETE_POLICY,
  ],
};

/**
 * What an API function may touch besides the table, whose access is declared item by item in
 * `FUNCTION_TABLE_ACCESS` below. Every grant also sets the env var naming the resource.
 */
export interface FunctionAccess {
  /** `kms:Sign` with the issuing key. */
  readonly signsWithIssuingKey?: boolean;
  /** Stores idempotent answers that hold secrets: `kms:GenerateMac` with the sealing key. */
  readonly sealsAnswers?: boolean;
  /** Starts discovery runs: hands units to the discovery queue and resolves the configured accounts. */
  readonly startsDiscovery?: boolean;
  /** Serves or signs with the CA chain: gets MIM_CA_ID and deploys after the bootstrap has written the chain. */
  readonly usesCaChain?: boolean;
}

/**
 * Least privilege per API function beyond the table. A `Record` over every function name, so a route added to
 * `ROUTES` does not typecheck until its access is declared here.
 */
export const API_FUNCTION_ACCESS: Record<ApiFunctionName, FunctionAccess> = {
  health: {},
  'get-ca-chain': { usesCaChain: true },
  'get-openapi': {},
  'issue-certificate': { signsWithIssuingKey: true, usesCaChain: true },
  'get-certificate': {},
  'revoke-certificate': {},
  'list-identities': {},
  'get-identity': {},
  'update-identity': {},
  'get-consolidation': {},
  'get-inventory-summary': {},
  'import-identities': {},
  'route-not-found': {},
  'list-policies': {},
  'get-policy': {},
  'put-policy': {},
  'delete-policy': {},
  'create-enrollment-token': { sealsAnswers: true },
  'list-audit-events': {},
  'start-discovery-run': { startsDiscovery: true },
  'get-discovery-run': {},
  'list-discovery-runs': {},
};

/** Whether the function stores idempotent answers that hold secrets, and so holds the sealing key. */
export function sealsAnswers(name: FunctionName): boolean {
  return name in API_FUNCTION_ACCESS && API_FUNCTION_ACCESS[name as ApiFunctionName].sealsAnswers === true;
}
