import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_LAYOUT, upgradeKeyLayout } from '#lib/adapters/dynamodb-key-layout.ts';

export { KEY_LAYOUT };

/**
 * Upgrades the table of a data directory written with an older key layout, once: `<dataDir>/key-layout` records the
 * layout, so later starts do not scan.
 * @returns how many items were rewritten (0 when the data directory already has today's layout).
 */
export async function upgradeLocalKeys(
  doc: Parameters<typeof upgradeKeyLayout>[0],
  tableName: string,
  dataDir: string,
): Promise<number> {
  const marker = join(dataDir, 'key-layout');
  const recorded = Number((await readFile(marker, 'utf8').catch(() => '0')).trim());
  if (recorded >= KEY_LAYOUT) return 0;
  const rewritten = await upgradeKeyLayout(doc, tableName);
  await writeFile(marker, `${KEY_LAYOUT}\n`, { mode: 0o600 });
  return rewritten;
}
