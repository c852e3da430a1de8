import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileAsync, type StartedProcess, startLocalPlane } from '../support/processes.ts';

/**
 * The README's copy-paste walk-through, run as written (openssl, curl, jq, certtool) against `npm start`; only the
 * port and the data directory are those of this test.
 */

let dir: string;
let plane: StartedProcess;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mim-readme-'));
  ({ plane, base } = await startLocalPlane(join(dir, '.mim')));
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('works as the README says', async () => {
  const readme = await readFile('README.md', 'utf8');
  const from = readme.indexOf('In another terminal');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from))?.[1];
  expect(block).toBeDefined();
  const script = (block ?? '').replaceAll('http://127.0.0.1:8080', base);
  const { stdout } = await execFileAsync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir });
  expect(stdout).toContain('api.pem: OK');
  expect(stdout).toContain('DNS:api.local.test');
  expect(stdout).toContain('Chain verification output: Verified');
  expect(stdout).toContain('"status": "active"');
  expect(stdout).toContain('"changed": true');
}, 120_000);

it('discovers as the README says (without AWS credentials here: every part skipped, with the reason)', async () => {
  const readme = await readFile('README.md', 'utf8');
  const from = readme.indexOf('## Walk-through: discover what exists in AWS');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from))?.[1];
  expect(block).toBeDefined();
  const script = (block ?? '').replaceAll('http://127.0.0.1:8080', base);
  const { stdout } = await execFileAsync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir });
  expect(stdout).toContain('"parts": 4');
  expect(stdout).toContain('"status": "completed"');
  expect(stdout).toContain('"status": "skipped"');
  expect(stdout).toContain('credentials');
}, 120_000);

it('scans TLS endpoints as the README says', async () => {
  const readme = await readFile('README.md', 'utf8');
  const from = readme.indexOf('## Walk-through: scan TLS endpoints');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from))?.[1];
  expect(block).toBeDefined();
  const script = (block ?? '').replaceAll('http://127.0.0.1:8080', base);
  const { stdout } = await execFileAsync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir });
  expect(stdout).toContain('"status": "completed"');
  expect(stdout).toMatch(/"location": "127\.0\.0\.1:9443",\s*"outcome": "tls"/);
  expect(stdout).toMatch(/"location": "127\.0\.0\.2:9443",\s*"outcome": "refused"/);
  expect(stdout).toContain('"name": "web.local.test"');
  expect(stdout).toContain('CERT_SELF_SIGNED_ON_ENDPOINT');
  expect(stdout).toContain('CERT_NAME_MISMATCH');
}, 120_000);

it('reads and owns the inventory as the README says', async () => {
  const readme = await readFile('README.md', 'utf8');
  const from = readme.indexOf('## Walk-through: read and own the inventory');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from))?.[1];
  expect(block).toBeDefined();
  const script = (block ?? '').replaceAll('http://127.0.0.1:8080', base);
  const { stdout } = await execFileAsync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: dir });
  expect(stdout).toContain('"source": "issued"');
  expect(stdout).toContain('"owner": "payments-team"');
  expect(stdout).toMatch(/"version": 3/); // issued 1, revoked 2, annotated 3
  expect(stdout.trim().split('\n').at(-1)).toBe('IDENTITY_VERSION_MISMATCH');
}, 120_000);
