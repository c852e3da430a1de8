import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';

export const execFileAsync = promisify(execFile);

/** A free TCP port on 127.0.0.1 (bound once, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StartedProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Sends the signal to the whole process group and resolves with the exit code (bounded wait, then SIGKILL). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns a command in its own process group and waits until its stdout contains `readyText`, within `timeoutMs`.
 * Killing the group also kills grandchildren (npm → tsx → node → java).
 */
export async function startProcess(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; readyText: string; timeoutMs: number },
): Promise<StartedProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: 'pipe' });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGINT') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const deadline = Date.now() + options.timeoutMs;
  while (!out.includes(options.readyText)) {
    if (child.exitCode !== null) throw new Error(`process exited early (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`process not ready within ${options.timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out, stop };
}

/**
 * `npm start` as a user runs it, on a free port with its data in `dataDir`; resolves once it listens. The admin
 * token is generated into `<dataDir>/admin-token`. `options.env` adds to (or overrides) the environment, e.g.
 * `MIM_CONFIG`; the process's output (stdout and stderr) stays readable through `plane.output()`.
 */
export async function startLocalPlane(
  dataDir: string,
  options: { env?: Readonly<Record<string, string>> } = {},
): Promise<{ plane: StartedProcess; base: string }> {
  const port = await freePort();
  const plane = await startProcess('npm', ['start', '--silent'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      PORT: String(port),
      MIM_DATA_DIR: dataDir,
      MIM_ADMIN_TOKEN: '',
      MIM_QUIET: '1',
      // No AWS account here: the SDK must not look for instance credentials at 169.254.169.254 (no off-host requests
      // from tests), and no credentials of the machine's user may leak in.
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent/mim-test-aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/mim-test-aws-credentials',
      ...options.env,
    },
    readyText: 'listening on',
    timeoutMs: 90_000,
  });
  return { plane, base: `http://127.0.0.1:${port}` };
}

/**
 * What a test needs to look inside a running local plane: a DynamoDB client on its DynamoDB Local (whose database
 * opens only with the plane's own access key id), and the bearer token of each local principal named.
 */
export async function localPlaneAccess<Who extends string>(
  plane: StartedProcess,
  dataDir: string,
  principals: readonly Who[],
): Promise<{ dynamo: DynamoDBClient; bearer: Record<Who, string> }> {
  const endpoint = /DynamoDB Local ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(plane.output())?.[1];
  if (!endpoint) throw new Error(`no DynamoDB Local endpoint in the output of npm start:\n${plane.output()}`);
  const accessKeyId = (await readFile(join(dataDir, 'dynamodb-access-key'), 'utf8')).trim();
  const dynamo = createDocumentClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId, secretAccessKey: accessKeyId },
  }).client;
  const bearer = {} as Record<Who, string>;
  for (const name of principals) {
    const file = name === 'admin' ? join(dataDir, 'admin-token') : join(dataDir, 'tokens', name);
    bearer[name] = (await readFile(file, 'utf8')).trim();
  }
  return { dynamo, bearer };
}
