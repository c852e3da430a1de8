import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SOFTWARE_MAC_KEY_BYTES, SoftwareMac } from '#lib/adapters/software-mac.ts';

/** What the stored answers of idempotent token creations are sealed with locally, beside the key in the table. */
export const SEAL_KEY_FILE = 'seal.key';

/**
 * The local stand-in for the KMS HMAC key that seals idempotent answers: `<dataDir>/seal.key`, 32 random bytes
 * created with mode 0600 on first start and reused afterwards (a new key would make every stored answer unreadable).
 *
 * Unlike the CA keys, a key file found readable by group or others is refused rather than tightened: whoever could
 * read it may have copied it, and with it and the table they can open the stored tokens, so the operator must decide
 * (tighten it, or replace it).
 *
 * @throws Error naming the file and what to do when it is not a regular file, is readable or writable by group or
 *   others, or does not hold exactly 32 bytes.
 */
export async function loadOrCreateSealKey(
  dataDir: string,
): Promise<{ mac: SoftwareMac; created: boolean; path: string }> {
  const path = join(dataDir, SEAL_KEY_FILE);
  const existing = await readKeyFile(path);
  if (existing !== undefined) return { mac: SoftwareMac.fromKey(existing), created: false, path };
  const mac = SoftwareMac.generate();
  try {
    // 'wx' refuses to overwrite a key another process created meanwhile; that one is then read instead.
    await writeFile(path, mac.exportKey(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const raced = await readKeyFile(path);
    if (raced !== undefined) return { mac: SoftwareMac.fromKey(raced), created: false, path };
    throw error;
  }
  return { mac, created: true, path };
}

/** The key bytes, or undefined when there is no file yet. Checks what was opened, not the path again (no race). */
async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} is not a regular file: move it away so that a new key is created.`);
    const mode = info.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `${path} is accessible to group or others (mode ${mode.toString(8)}), so the stored enrollment tokens it ` +
          `seals may have been exposed: run chmod 600 ${path} if nobody else could have read it, or delete it to ` +
          'start with a new key (answers stored under the old one can then no longer be replayed).',
      );
    }
    const key = await handle.readFile();
    if (key.length !== SOFTWARE_MAC_KEY_BYTES) {
      throw new Error(
        `${path} must hold exactly ${SOFTWARE_MAC_KEY_BYTES} bytes but holds ${key.length}: restore it from a ` +
          'backup, or delete it to start with a new key (answers stored under the old one can then no longer be ' +
          'replayed).',
      );
    }
    return key;
  } finally {
    await handle.close();
  }
}
