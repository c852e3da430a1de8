import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { BusEvent } from '#events/catalog.ts';
import { FUNCTION_TABLE_ACCESS, type FunctionName, sealsAnswers } from '#functions/function-access.ts';
import { makeRescoreRiskHandler } from '#functions/rescore-risk/handler.ts';
import { makeScheduledDiscoveryRunHandler } from '#functions/start-discovery-run/handler.ts';
import { createAwsDiscovery } from '#lib/adapters/discovery/aws-discovery.ts';
import { guardTableAccess } from '#lib/adapters/dynamodb-access-guard.ts';
import {
  createDocumentClient,
  createTableIfMissing,
  type DocumentClientOptions,
} from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DynamoDbEnrollmentTokens } from '#lib/adapters/dynamodb-enrollment-tokens.ts';
import { createDynamoDbIdempotencyStore } from '#lib/adapters/dynamodb-idempotency.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { DynamoDbInventorySummary } from '#lib/adapters/dynamodb-inventory-summary.ts';
import { DynamoDbPolicyStore } from '#lib/adapters/dynamodb-policy-store.ts';
import { createNameResolver, createTlsScanner } from '#lib/adapters/tls/tls-scanner.ts';
import { SERVICE_NAME } from '#lib/config/env.ts';
import { resolveTableGrants } from '#lib/config/table-grants.ts';
import { rateMilliseconds, tlsAllowedRanges } from '#lib/domain/discovery-config.ts';
import type { MimConfig } from '#lib/domain/policy.ts';
import { createIdempotencyGuard } from '#lib/http/idempotency.ts';
import { systemClock } from '#lib/ports/clock.ts';
import type { SecretMac } from '#lib/ports/secret-mac.ts';
import { bootstrapCa } from '#lib/use-cases/bootstrap-ca.ts';
import { seedPolicies } from '#lib/use-cases/manage-policies.ts';
import { giveUpDiscoveryUnit, runDiscoveryUnit } from '#lib/use-cases/run-discovery.ts';
import { LOCAL_DYNAMODB_REGION, loadOrCreateDynamoDbAccessKey } from './dynamodb-access-key.ts';
import { startDynamoDbLocal } from './dynamodb-local.ts';
import { loadOrCreateSoftwareKey } from './local-ca.ts';
import { startLocalEvents, startLocalSummary } from './local-events.ts';
import { buildLocalHandlers, type FunctionStores } from './local-handlers.ts';
import { createLocalServer, type LocalRequestLog } from './local-server.ts';
import { LocalDiscoveryQueue } from './local-work-queue.ts';
import { loadOrCreateSealKey } from './seal-key.ts';
import { upgradeLocalKeys } from './upgrade-local-keys.ts';

const DAY_MS = 86_400_000;

export interface LocalOptions {
  readonly port: number;
  /** The validated configuration (roles, policies, local principals). */
  readonly config: MimConfig;
  readonly dataDir: string;
  readonly adminToken?: string | undefined;
  readonly progress: (message: string) => void;
  readonly onRequest?: (log: LocalRequestLog) => void;
  /**
   * Start a discovery run at this period (`rate(...)`, MIM_DISCOVERY_SCHEDULE; `config` for the configuration's
   * `discovery.schedule`); off when absent, as runs then start on request only.
   */
  readonly discoverySchedule?: string | undefined;
  /** The region AWS discovery calls by default (`AWS_REGION`, else us-east-1). */
  readonly awsRegion: string;
  /** Every event put on the local bus (the local plane prints one line each unless MIM_QUIET is set). */
  readonly onEvent?: ((event: BusEvent) => void) | undefined;
}

export interface LocalControlPlane {
  readonly url: string;
  readonly adminTokenSource: string;
  /** Where the other local principals' tokens are, one file per name. */
  readonly tokenDir: string;
  readonly caCreated: boolean;
  /**
   * Resolves once every change committed so far has been published and counted in the inventory summary (tests wait on
   * it instead of sleeping).
   */
  drainEvents(): Promise<void>;
  stop(): Promise<void>;
}

export const LOCAL_TABLE_NAME = 'mim-inventory';
export const LOCAL_CA_ID = 'default';

/** The admin token: MIM_ADMIN_TOKEN if set, else the one in `<dataDir>/admin-token`, created (0600) on first start. */
async function adminToken(dataDir: string, fromEnv: string | undefined): Promise<{ token: string; source: string }> {
  if (fromEnv !== undefined && fromEnv.length > 0) {
    if (fromEnv.length < 16) throw new Error('MIM_ADMIN_TOKEN must be at least 16 characters long.');
    return { token: fromEnv, source: 'the MIM_ADMIN_TOKEN environment variable' };
  }
  const path = join(dataDir, 'admin-token');
  try {
    return { token: (await readFile(path, 'utf8')).trim(), source: path };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, source: path };
}

/** The token of a local principal other than admin: `<dataDir>/tokens/<name>`, created (0600) on first start. */
async function principalToken(dataDir: string, name: string): Promise<string> {
  const path = join(dataDir, 'tokens', name);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

/**
 * Each function's stores on a DynamoDB client of its own that allows exactly the function's table grants, as its
 * Lambda's role does in AWS; only a function that seals answers gets the sealing secret, as only its Lambda may use
 * the KMS key. Built on first use and kept.
 */
function functionStores(
  dynamodb: DocumentClientOptions,
  sealingSecret: SecretMac,
): (name: FunctionName) => FunctionStores {
  const built = new Map<FunctionName, FunctionStores>();
  return (name) => {
    const existing = built.get(name);
    if (existing) return existing;
    const { client, doc } = createDocumentClient(dynamodb);
    guardTableAccess(client, name, resolveTableGrants(FUNCTION_TABLE_ACCESS[name], LOCAL_CA_ID));
    const stores: FunctionStores = {
      inventory: new DynamoDbInventory(doc, LOCAL_TABLE_NAME),
      runs: new DynamoDbDiscoveryRuns(doc, LOCAL_TABLE_NAME),
      discovered: new DynamoDbDiscoveredInventory(doc, LOCAL_TABLE_NAME),
      policyStore: new DynamoDbPolicyStore(doc, LOCAL_TABLE_NAME),
      tokenStore: new DynamoDbEnrollmentTokens(doc, LOCAL_TABLE_NAME),
      idempotency: createIdempotencyGuard(
        createDynamoDbIdempotencyStore({ client, tableName: LOCAL_TABLE_NAME }),
        sealsAnswers(name) ? { sealingSecret } : {},
      ),
      summary: new DynamoDbInventorySummary(doc, LOCAL_TABLE_NAME),
    };
    built.set(name, stores);
    return stores;
  };
}

/**
 * Brings up the whole control plane on this machine: DynamoDB Local (a child process, data under the data
 * directory), the inventory table from the stack's own definition, the local CA, and the HTTP server on 127.0.0.1.
 */
export async function startLocalControlPlane(options: LocalOptions): Promise<LocalControlPlane> {
  const dataDir = resolve(options.dataDir);
  await mkdir(join(dataDir, 'dynamodb'), { recursive: true, mode: 0o700 });
  options.progress(`data directory ${dataDir}`);

  const dbPath = join(dataDir, 'dynamodb');
  const access = await loadOrCreateDynamoDbAccessKey(dataDir, dbPath);
  if (access.migrated) options.progress("moved the inventory to a database only the local plane's access key opens");
  const started = Date.now();
  options.progress('starting DynamoDB Local (Java)…');
  const dynamo = await startDynamoDbLocal({ dbPath, perAccessKey: true });
  const stops: Array<() => Promise<void>> = [() => dynamo.stop()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    options.progress(`DynamoDB Local ready at ${dynamo.endpoint} (${Date.now() - started} ms)`);
    const dynamodb: DocumentClientOptions = {
      endpoint: dynamo.endpoint,
      region: LOCAL_DYNAMODB_REGION,
      credentials: access.credentials,
    };
    const { client, doc } = createDocumentClient(dynamodb);
    await createTableIfMissing(client, LOCAL_TABLE_NAME);
    const upgraded = await upgradeLocalKeys(doc, LOCAL_TABLE_NAME, dataDir);
    if (upgraded > 0) options.progress(`upgraded ${upgraded} items of an older data directory to today's key layout`);
    options.progress(`inventory table "${LOCAL_TABLE_NAME}" ready`);
    const seal = await loadOrCreateSealKey(dataDir);
    const storesFor = functionStores(dynamodb, seal.mac);
    const bootstrap = storesFor('bootstrap-ca');

    const warn = (message: string) => options.progress(`warning: ${message}`);
    const root = await loadOrCreateSoftwareKey(dataDir, 'root', 'EC_P256', warn);
    const issuing = await loadOrCreateSoftwareKey(dataDir, 'issuing', 'EC_P256', warn);
    const ca = await bootstrapCa(
      { rootSigner: root.signer, issuingSigner: issuing.signer, chainStore: bootstrap.inventory, clock: systemClock },
      {
        caId: LOCAL_CA_ID,
        rootCommonName: 'MIM Local Root CA',
        issuingCommonName: 'MIM Local Issuing CA',
        rootValidityDays: 3650,
        issuingValidityDays: 1825,
      },
    );
    options.progress(ca.created ? 'local CA created (root and issuing keys in ca/, mode 600)' : 'local CA reused');

    const seeded = await seedPolicies({ policyStore: bootstrap.policyStore, clock: systemClock }, options.config);
    options.progress(
      `policies from the configuration: ${seeded.created.length} created, ${seeded.updated.length} updated, ` +
        `${seeded.deleted.length} deleted, ${seeded.unchanged.length} unchanged`,
    );

    const token = await adminToken(dataDir, options.adminToken);
    const tokenDir = join(dataDir, 'tokens');
    await mkdir(tokenDir, { recursive: true, mode: 0o700 });
    const tokens = [{ name: 'admin', token: token.token }];
    for (const name of options.config.localPrincipals.filter((n) => n !== 'admin')) {
      tokens.push({ name, token: await principalToken(dataDir, name) });
    }
    const logger = new Logger({ serviceName: SERVICE_NAME, logLevel: 'WARN' });
    const aws = createAwsDiscovery({ config: options.config.discovery.aws, defaultRegion: options.awsRegion });
    const worker = storesFor('discovery-worker');
    const tlsConfig = options.config.discovery.tls;
    const allowedRanges = tlsAllowedRanges(tlsConfig, 'local');
    const tlsPlan = {
      targets: tlsConfig.targets,
      allowedRanges,
      resolve: createNameResolver({ timeoutMs: tlsConfig.connectTimeoutMs }),
    };
    const tlsScanner = createTlsScanner({
      allowedRanges,
      trustedCaPems: ca.chainPem,
      concurrency: tlsConfig.concurrency,
      connectTimeoutMs: tlsConfig.connectTimeoutMs,
      handshakeTimeoutMs: tlsConfig.handshakeTimeoutMs,
    });
    const discoveryQueue = new LocalDiscoveryQueue(
      (unit) =>
        runDiscoveryUnit(
          {
            runs: worker.runs,
            inventory: worker.discovered,
            clock: systemClock,
            sourceFor: aws.sourceFor,
            missingAfterRuns: options.config.discovery.missingAfterRuns,
            tls: { scanner: tlsScanner, issued: worker.inventory },
          },
          unit,
        ),
      {
        onGiveUp: (unit, attempts, error) => {
          warn(`discovery gave up on ${unit.source} ${unit.account} ${unit.region}: ${(error as Error).message}`);
          void giveUpDiscoveryUnit({ runs: worker.runs, clock: systemClock }, unit, attempts, error).catch(
            () => undefined,
          );
        },
      },
    );
    const handlers = buildLocalHandlers({
      discovery: {
        plan: aws.plan,
        queue: discoveryQueue,
        randomId: () => randomBytes(6).toString('hex'),
        tls: tlsPlan,
      },
      storesFor,
      config: options.config,
      issuer: ca.issuer,
      caId: LOCAL_CA_ID,
      tokens,
      logger,
      clock: systemClock,
    });
    const events = await startLocalEvents({
      dynamodb,
      tableName: LOCAL_TABLE_NAME,
      dataDir,
      consumers: () => undefined,
      logger,
      onEvent: options.onEvent,
      warn,
    });
    stops.push(() => events.stop());
    options.progress("events: publishing committed changes from the table's stream to the local bus");
    const summary = await startLocalSummary({
      dynamodb,
      tableName: LOCAL_TABLE_NAME,
      dataDir,
      summary: storesFor('summarize-inventory').summary,
      logger,
      warn,
    });
    stops.push(() => summary.stop());
    options.progress("inventory summary: counting committed changes from the table's stream");
    const schedule =
      options.discoverySchedule === 'config' ? options.config.discovery.schedule : options.discoverySchedule;
    if (schedule !== undefined) {
      const every = rateMilliseconds(schedule);
      if (every === undefined) {
        throw new Error(
          `MIM_DISCOVERY_SCHEDULE must be "rate(<n> <minutes|hours|days>)" or "config" locally, not "${schedule}".`,
        );
      }
      const scheduled = makeScheduledDiscoveryRunHandler({
        runs: storesFor('start-discovery-run').runs,
        queue: discoveryQueue,
        clock: systemClock,
        plan: aws.plan,
        randomId: () => randomBytes(6).toString('hex'),
        tls: tlsPlan,
      });
      const timer = setInterval(() => {
        scheduled().then(
          ({ runId }) => options.progress(`discovery run ${runId} started by the schedule`),
          (error: unknown) => warn(`scheduled discovery run failed to start: ${(error as Error).message}`),
        );
      }, every);
      timer.unref();
      stops.push(async () => clearInterval(timer));
      options.progress(`discovery: a run starts on the schedule ${schedule}`);
    }
    // The daily risk sweep, as the stack's schedule runs it: once at start, then every day.
    const rescore = makeRescoreRiskHandler({
      inventory: storesFor('rescore-risk').inventory,
      policyStore: storesFor('rescore-risk').policyStore,
      clock: systemClock,
      logger,
    });
    const sweep = () =>
      rescore().then(
        ({ read, rescored }) => {
          if (rescored > 0) options.progress(`risk sweep: ${rescored} of ${read} certificates due reassessed`);
        },
        (error: unknown) => warn(`risk sweep failed: ${(error as Error).message}`),
      );
    void sweep();
    const sweepTimer = setInterval(() => void sweep(), DAY_MS);
    sweepTimer.unref();
    stops.push(async () => clearInterval(sweepTimer));
    const server = createLocalServer(handlers, options.onRequest);
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        rejectListen(
          error.code === 'EADDRINUSE'
            ? new Error(`Port ${options.port} is already in use. Stop the other process or set PORT to another port.`)
            : error,
        ),
      );
      server.listen(options.port, '127.0.0.1', () => resolveListen());
    });
    stops.push(
      () =>
        new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        }),
    );
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      adminTokenSource: token.source,
      tokenDir,
      caCreated: ca.created,
      drainEvents: async () => {
        await Promise.all([events.drain(), summary.drain()]);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
