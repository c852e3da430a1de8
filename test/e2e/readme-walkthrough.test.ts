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
