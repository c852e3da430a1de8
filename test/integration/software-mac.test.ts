import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSealKey } from '#infra/local/seal-key.ts';
import { SoftwareMac } from '#lib/adapters/software-mac.ts';
import { run } from '#test/support/pki-fixtures.ts';

let dir: string;
let cases = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mim-seal-key-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh data directory per case. */
async function dataDir(): Promise<string> {
  cases += 1;
  const path = join(dir, `data-${cases}`);
  await mkdir(path, { mode: 0o700 });
  return path;
}

describe('SoftwareMac', () => {
  it('computes the HMAC-SHA-256 that openssl computes over the same key', async () => {
    const key = randomBytes(32);
    const message = randomBytes(300);
    const file = join(dir, 'message.bin');
    await writeFile(file, message);
    const expected = await run('openssl', [
      'mac',
      '-digest',
      'SHA256',
      '-macopt',
      `hexkey:${key.toString('hex')}`,
      '-in',
      file,
      'HMAC',
    ]);
    const mac = await SoftwareMac.fromKey(key).mac(message);
    expect(Buffer.from(mac).toString('hex')).toBe(expected.trim().toLowerCase());
  });

  it('refuses keys that are not 32 bytes and messages outside 1 to 4096 bytes, as KMS does', async () => {
    expect(() => SoftwareMac.fromKey(randomBytes(31))).toThrow(RangeError);
    expect(() => SoftwareMac.fromKey(randomBytes(33))).toThrow(RangeError);
    const mac = SoftwareMac.generate();
    await expect(mac.mac(new Uint8Array(0))).rejects.toBeInstanceOf(RangeError);
    await expect(mac.mac(randomBytes(4097))).rejects.toBeInstanceOf(RangeError);
    expect(await mac.mac(randomBytes(4096))).toHaveLength(32);
  });
});

describe('loadOrCreateSealKey', () => {
  it('creates <dataDir>/seal.key with 32 random bytes and mode 600, then reuses it', async () => {
    const data = await dataDir();
    const message = Buffer.from('message');
    const created = await loadOrCreateSealKey(data);
    expect(created).toMatchObject({ created: true, path: join(data, 'seal.key') });
    expect(((await stat(created.path)).mode & 0o777).toString(8)).toBe('600');
    const bytes = await readFile(created.path);
    expect(bytes).toHaveLength(32);
    expect(Buffer.from(await created.mac.mac(message))).toEqual(
      Buffer.from(await SoftwareMac.fromKey(bytes).mac(message)),
    );

    const reused = await loadOrCreateSealKey(data);
    expect(reused.created).toBe(false);
    expect(Buffer.from(await reused.mac.mac(message))).toEqual(Buffer.from(await created.mac.mac(message)));
    expect(await readFile(created.path)).toEqual(bytes);

    // Another data directory gets another key.
    const other = await loadOrCreateSealKey(await dataDir());
    expect(Buffer.from(await other.mac.mac(message))).not.toEqual(Buffer.from(await created.mac.mac(message)));
  });

  it.each([0o640, 0o604, 0o660, 0o644])('refuses a key file with mode %o, naming it and the fix', async (mode) => {
    const data = await dataDir();
    const { path } = await loadOrCreateSealKey(data);
    const before = await readFile(path);
    await chmod(path, mode);
    const error = await loadOrCreateSealKey(data).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(`chmod 600 ${path}`);
    expect((error as Error).message).toContain(`mode ${mode.toString(8)}`);
    // Refused, not silently tightened or replaced.
    expect((await stat(path)).mode & 0o777).toBe(mode);
    expect(await readFile(path)).toEqual(before);
    await chmod(path, 0o600);
    expect((await loadOrCreateSealKey(data)).created).toBe(false);
  });

  it.each([0, 31, 33, 64])('refuses a key file of %i bytes, naming it, and leaves it alone', async (length) => {
    const data = await dataDir();
    const path = join(data, 'seal.key');
    await writeFile(path, randomBytes(length), { mode: 0o600 });
    const error = await loadOrCreateSealKey(data).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`${path}: must hold exactly 32 bytes but holds ${length}`);
    expect(await readFile(path)).toHaveLength(length);
  });

  it('refuses a seal.key that is not a regular file', async () => {
    const data = await dataDir();
    await mkdir(join(data, 'seal.key'), { mode: 0o700 });
    await expect(loadOrCreateSealKey(data)).rejects.toThrow(`${join(data, 'seal.key')} is not a regular file`);
  });
});
