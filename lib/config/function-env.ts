import { z } from 'zod';
import { ENV } from './env.ts';

type EnvKey = keyof typeof ENV;

const value = z.string().trim().min(1);

/**
 * Reads the named settings from the environment once, at cold start. A missing one fails the cold start with a
 * message naming the variable, rather than failing later inside a request.
 */
export function parseFunctionEnv<K extends EnvKey>(
  env: Readonly<Record<string, string | undefined>>,
  keys: readonly K[],
): Record<K, string> {
  const out = {} as Record<K, string>;
  const missing: string[] = [];
  for (const key of keys) {
    const parsed = value.safeParse(env[ENV[key]]);
    if (parsed.success) out[key] = parsed.data;
    else missing.push(ENV[key]);
  }
  if (missing.length > 0) {
    throw new Error(
      `Missing environment variable(s): ${missing.join(', ')}. The CDK stack sets them; check the deployment.`,
    );
  }
  return out;
}
