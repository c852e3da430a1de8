import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The dependency rules of ../shared/ARCHITECTURE.md, checked on every import of the source tree. */

const root = process.cwd();

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(join(root, dir))) return out;
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (path.endsWith('.ts')) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
}

/** Resolves an import to a repository path (or leaves a package name as it is). */
function target(file: string, spec: string): string {
  if (spec.startsWith('#lib/')) return `lib/${spec.slice(5)}`;
  if (spec.startsWith('#functions/')) return `functions/${spec.slice(11)}`;
  if (spec.startsWith('#infra/')) return `infra/${spec.slice(7)}`;
  if (spec.startsWith('.')) return relative(root, join(root, file, '..', spec));
  return spec;
}

const files = ['lib', 'functions', 'infra', 'events'].flatMap((d) => sourceFiles(d));

const rules: Array<{ name: string; from: RegExp; forbidden: RegExp }> = [
  { name: 'only lib/adapters imports the AWS SDK', from: /^(?!lib\/adapters\/)/, forbidden: /^@aws-sdk\// },
  { name: 'lib never depends on functions or infra', from: /^lib\//, forbidden: /^(functions|infra)\// },
  {
    name: 'domain is pure: no I/O, no outer layers',
    from: /^lib\/domain\//,
    forbidden:
      /^(lib\/(adapters|use-cases|http|pki|config)\/|node:(fs|http|https|net|child_process|dns)|@aws-sdk|@middy|@aws-lambda-powertools)/,
  },
  { name: 'ports depend on domain only', from: /^lib\/ports\//, forbidden: /^lib\/(adapters|use-cases|http|pki)\// },
  { name: 'use cases never reach adapters or HTTP', from: /^lib\/use-cases\//, forbidden: /^lib\/(adapters|http)\// },
  {
    name: 'pki never reaches adapters or use cases',
    from: /^lib\/pki\//,
    forbidden: /^lib\/(adapters|use-cases|http)\//,
  },
];

describe('architecture', () => {
  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  for (const rule of rules) {
    it(rule.name, () => {
      const broken = files
        .filter((f) => rule.from.test(f))
        .flatMap((f) => importsOf(f).map((spec) => ({ f, t: target(f, spec) })))
        .filter(({ t }) => rule.forbidden.test(t))
        .map(({ f, t }) => `${f} → ${t}`);
      expect(broken).toEqual([]);
    });
  }

  it('only composition roots read process.env', () => {
    const readers = files.filter(
      (f) => f.startsWith('lib/') && readFileSync(join(root, f), 'utf8').includes('process.env'),
    );
    expect(readers).toEqual([]);
  });
});
