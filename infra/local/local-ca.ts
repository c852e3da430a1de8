import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SoftwareSigner } from '#lib/adapters/software-signer.ts';
import type { SigningKeyAlgorithm } from '#lib/ports/signer.ts';

/**
 * Locally, software keys under `<dataDir>/ca/` stand in for the KMS keys: PKCS#8 PEM files readable by the owner
 * only (0600, in a 0700 directory). A key found with looser permissions is tightened and reported.
 */
export async function loadOrCreateSoftwareKey(
  dataDir: string,
  name: 'root' | 'issuing',
  algorithm: SigningKeyAlgorithm,
  warn: (message: string) => void,
): Promise<{ signer: SoftwareSigner; created: boolean; path: string }> {
  const dir = join(dataDir, 'ca');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${name}-key.pem`);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const signer = SoftwareSigner.generate(algorithm);
    // 'wx' refuses to overwrite a key another process created meanwhile.
    await writeFile(path, signer.toPkcs8Pem(), { mode: 0o600, flag: 'wx' });
    return { signer, created: true, path };
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode !== 0o600) {
    await chmod(path, 0o600);
    warn(`${path} had permissions ${mode.toString(8)}; set them to 600.`);
  }
  return { signer: SoftwareSigner.fromPkcs8Pem(pem), created: false, path };
}
