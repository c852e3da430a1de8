import { pathToFileURL } from 'node:url';
import { compilePrincipalPattern } from '#lib/domain/principal.ts';
import { fmt } from './stats.ts';

/**
 * Principal pattern matching (issue #8 item 6): the glob matcher against the regular expressions it replaced
 * (`*` → `.*`, `?` → `.`), measured in the same run. The regular expressions backtrack exponentially on hostile
 * patterns, so here they only run on a shortened key (the 46-character figure is extrapolated) and on at most the
 * issue's seven `*?`; the figures measured once by hand are printed beside them. Prints figures; asserts nothing.
 */

const ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/payments-api-production-eu-west-1`;
/** 24 to 45 s against a 46-character key with the regular expressions. */
const STARS = 'local:*a*a*a*a*a*a*a*a*a*a*b';
const STAR_SEGMENTS = 10;
const roleStars = (pairs: number) => `arn:aws:iam::${ACCOUNT}:role/${'*?'.repeat(pairs)}*z`;
const localAs = (length: number) => `local:${'a'.repeat(length - 'local:'.length)}`;

/**
 * Measured once with the regular expressions on this machine (Node 20, 2 cores, November 2026), outside the bench,
 * each in a fresh process: cold (the first match a regular expression runs) and after 5 matches on a short key.
 */
const MEASURED_BY_HAND = {
  stars46: '44.6 s cold, 11.3 s warmed up',
  rolePairs: '7 pairs 272 ms cold, 110 ms warmed up; 8 pairs 716 ms, 312 ms; 9 pairs 2.1 s cold; 10 pairs 5.6 s cold',
};

/** A test function, as both the glob matcher and RegExp offer it. */
interface Matcher {
  test(key: string): boolean;
}

/** The compiler the glob matcher replaced, kept here as the reference. */
function compileWithRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`);
}

/** Matches per second of the matchers over the keys, round-robin, for about `ms` (at least one pass). */
function matchesPerSecond(matchers: readonly Matcher[], keys: readonly string[], ms: number): number {
  let n = 0;
  const start = performance.now();
  do {
    for (const key of keys) {
      for (const matcher of matchers) matcher.test(key);
      n += matchers.length;
    }
  } while (performance.now() < start + ms);
  return n / ((performance.now() - start) / 1000);
}

/** Median milliseconds of one match, over `runs` runs. */
function millisecondsPerMatch(matcher: Matcher, key: string, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    matcher.test(key);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

const microseconds = (perSecond: number) => fmt(1e6 / perSecond, 2);

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

/** A configuration's worth of patterns (roles and policies), and callers that match one of them or none. */
function realisticSet(): { patterns: string[]; keys: string[] } {
  const patterns = [
    ...Array.from({ length: 45 }, (_, k) => `arn:aws:iam::${ACCOUNT}:role/team-${k}-*`),
    ...Array.from({ length: 45 }, (_, k) => `local:team-${k}-*`),
    `arn:aws:iam::*:role/deployer`,
    `arn:aws:iam::${ACCOUNT}:user/auditor-?`,
    `arn:aws:iam::${ACCOUNT}:role/*-ci-??`,
    `arn:aws:iam::${ACCOUNT}:role/payments-*-production-*`,
    'local:svc-*',
    'local:admin',
    'local:operator',
    'local:auditor',
    'local:workload',
    'local:*-canary',
  ];
  const keys = [
    ROLE_ARN,
    `arn:aws:iam::${ACCOUNT}:role/team-44-web`,
    `arn:aws:iam::${ACCOUNT}:role/team/ci/deployer`,
    `arn:aws:iam::${ACCOUNT}:user/auditor-7`,
    `arn:aws:iam::${ACCOUNT}:role/unrelated-service-role`,
    'local:svc-42',
    'local:team-3-api',
    'local:nobody',
  ];
  return { patterns, keys };
}

/** Runs the comparison and prints it. */
export function benchPrincipalPatterns(options: { ms?: number } = {}): void {
  const ms = options.ms ?? 500;
  const { patterns, keys } = realisticSet();
  const glob = patterns.map(compilePrincipalPattern);
  const regexps = patterns.map(compileWithRegExp);
  // Warm-up, so that JIT compilation is not measured.
  matchesPerSecond(glob, keys, ms / 5);
  matchesPerSecond(regexps, keys, ms / 5);
  const globRate = matchesPerSecond(glob, keys, ms);
  const regexpRate = matchesPerSecond(regexps, keys, ms);
  console.log(
    `realistic (${patterns.length} patterns × ${keys.length} keys): glob ${fmt(globRate)} matches/s ` +
      `(${microseconds(globRate)} µs), RegExp ${fmt(regexpRate)} matches/s (${microseconds(regexpRate)} µs), same run`,
  );

  const shortLength = 26;
  const regexpShortMs = millisecondsPerMatch(compileWithRegExp(STARS), localAs(shortLength), 5);
  // The backtracking tries every placement of the 10 `a` segments among the key's a's: C(a's, 10) of them.
  const growth = binomial(46 - 'local:'.length, STAR_SEGMENTS) / binomial(shortLength - 'local:'.length, STAR_SEGMENTS);
  console.log(
    `${STARS} against ${localAs(46)} (46 characters): RegExp ${fmt(regexpShortMs, 1)} ms at ${shortLength} ` +
      `characters (this run) × ${fmt(growth)} (C(40, 10) / C(20, 10)) ≈ ${fmt((regexpShortMs * growth) / 1000, 1)} s ` +
      `(measured once by hand: ${MEASURED_BY_HAND.stars46}; issue #8: 24 s)`,
  );
  const stars = compilePrincipalPattern(STARS);
  // The tail `b` refuses those keys at once; a key ending in `b` makes every middle segment be searched for.
  for (const length of [46, 400, 10_000]) {
    const refused = matchesPerSecond([stars], [localAs(length)], ms / 5);
    const matched = matchesPerSecond([stars], [`${localAs(length).slice(0, -1)}b`], ms / 5);
    console.log(
      `${STARS} against local:aaa… (${fmt(length)} characters): glob ${microseconds(refused)} µs a refusal, ` +
        `${microseconds(matched)} µs a match (key ending in b)`,
    );
  }

  // Seven pairs is the issue's pattern; warmed up, the RegExp takes about a tenth of a second there, so it runs
  // only a few times, and not with more pairs.
  const regexpPairs = [5, 6, 7].map((pairs) => ({
    pairs,
    ms: millisecondsPerMatch(compileWithRegExp(roleStars(pairs)), ROLE_ARN, 3),
  }));
  console.log(
    `role/*?…*z against ${ROLE_ARN}: RegExp (this run) ` +
      `${regexpPairs.map((r) => `${r.pairs} pairs ${fmt(r.ms, 1)} ms`).join(', ')}; ` +
      `measured once by hand: ${MEASURED_BY_HAND.rolePairs}`,
  );
  for (const pairs of [7, 8, 20, 200]) {
    const rate = matchesPerSecond([compilePrincipalPattern(roleStars(pairs))], [ROLE_ARN], ms / 5);
    console.log(`role/${pairs} × *?, then *z: glob ${fmt(rate)} matches/s (${microseconds(rate)} µs)`);
  }

  // The glob matcher's own worst case: the longest pattern the schema accepts, whose long middle segment almost
  // matches at every position of a 2,048-character key.
  const worst = `local:*${'a'.repeat(252)}b*${'a'.repeat(251)}`;
  const worstRate = matchesPerSecond([compilePrincipalPattern(worst)], [localAs(2048)], ms);
  console.log(
    `worst case for the glob (512-character pattern, 2,048-character key): ${fmt(worstRate)} matches/s ` +
      `(${microseconds(worstRate)} µs)`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchPrincipalPatterns();
}
