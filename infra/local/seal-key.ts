import { join } from 'node:path';
import { SOFTWARE_MAC_KEY_BYTES, SoftwareMac } from '#lib/adapters/software-mac.ts';
import { loadOrCreateOwnerOnlyFile } from './owner-only-file.ts';

/** What the stored answers of idempotent token creations are sealed with locally, beside the key in the table. */
export const SEAL_KEY_FILE = 'seal.key';

/**
 * The local stand-in for the KMS HMAC key that seals idempotent answers: `<dataDir>/seal.key`, 32 random bytes
 * created with mode 0600 on first start and reused afterwards (a new key would make every stored answer unreadable).
 * A key file found accessible to group or others is refused, not tightened: with it and the table, the stored tokens
 * open, so the operator must decide.
 *
 * @throws Error naming the file and what to do when it is not a regular file, is readable or writable by group or
 *   others, or does not hold exactly 32 bytes.
 */
export async function loadOrCreateSealKey(
  dataDir: string,
): Promise<{ mac: SoftwareMac; created: boolean; path: string }> {
  const path = join(dataDir, SEAL_KEY_FILE);
  const { value, created } = await loadOrCreateOwnerOnlyFile({
    path,
    create: () => SoftwareMac.generate().exportKey(),
    parse: (key) => {
      if (key.length !== SOFTWARE_MAC_KEY_BYTES) {
        throw new Error(`must hold exactly ${SOFTWARE_MAC_KEY_BYTES} bytes but holds ${key.length}`);
      }
      return SoftwareMac.fromKey(key);
    },
    consequence: 'answers stored under the old key can then no longer be replayed',
  });
  return { mac: value, created, path };
}
