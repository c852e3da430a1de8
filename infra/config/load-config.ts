import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type MimConfig, parseMimConfig } from '#lib/domain/policy.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

/** Where the configuration is read from: `MIM_CONFIG` (a path), else `mim.config.ts`, else `mim.config.json`. */
export function configPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const given = env.MIM_CONFIG;
  if (given) return isAbsolute(given) ? given : resolve(given);
  const ts = join(repoRoot, 'mim.config.ts');
  return existsSync(ts) ? ts : join(repoRoot, 'mim.config.json');
}

/**
 * Reads and validates the configuration document. A `.ts` (or `.mts`, `.js`) file's default export is the document,
 * so it can be computed; JSON is read as is. Every problem is reported with the field it is in.
 * @throws Error naming the file and each offending field.
 */
export async function loadMimConfig(path: string = configPath()): Promise<MimConfig> {
  if (!existsSync(path)) {
    throw new Error(`No configuration at ${path}: create it (see README "Policies") or set MIM_CONFIG to its path.`);
  }
  let document: unknown;
  if (/\.(ts|mts|js|mjs)$/.test(path)) {
    const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
    document = module.default;
  } else {
    try {
      document = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
    }
  }
  return parseMimConfig(document, path);
}
