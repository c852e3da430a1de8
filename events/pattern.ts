/**
 * EventBridge event patterns, the subset the control plane's rules use, and a matcher for them: the local bus routes
 * with the very patterns the CDK stack gives EventBridge, so the two must mean the same.
 *
 * A pattern is an object whose keys name fields of the event (`source`, `detail-type`, `detail`, …) and whose leaves
 * are arrays of alternatives: a string, number or boolean matches that value exactly (or any element of an array
 * field); `{ prefix: "…" }` a string starting with it; `{ "anything-but": [...] }` a present value that is none of
 * them; `{ exists: true | false }` presence. Nested objects match nested fields. All keys must match.
 */
export type PatternMatcher =
  | string
  | number
  | boolean
  | { readonly prefix: string }
  | { readonly 'anything-but': readonly (string | number)[] }
  | { readonly exists: boolean };

export interface EventPattern {
  readonly [field: string]: readonly PatternMatcher[] | EventPattern;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function leafMatches(matcher: PatternMatcher, value: unknown, present: boolean): boolean {
  if (typeof matcher !== 'object') {
    return Array.isArray(value) ? value.some((v) => v === matcher) : value === matcher;
  }
  if ('exists' in matcher) return matcher.exists === present;
  if (!present) return false;
  const values = Array.isArray(value) ? value : [value];
  if ('prefix' in matcher) return values.some((v) => typeof v === 'string' && v.startsWith(matcher.prefix));
  return values.every((v) => !(matcher['anything-but'] as readonly unknown[]).includes(v));
}

/** Whether the event (as EventBridge delivers it: `source`, `detail-type`, `detail`, …) matches the pattern. */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  if (!isRecord(event)) return false;
  return Object.entries(pattern).every(([field, expected]) => {
    const present = Object.hasOwn(event, field) && event[field] !== undefined;
    const value = present ? event[field] : undefined;
    if (Array.isArray(expected)) return expected.some((m: PatternMatcher) => leafMatches(m, value, present));
    return present && matchesPattern(expected as EventPattern, value);
  });
}
