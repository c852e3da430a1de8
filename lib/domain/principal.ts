/**
 * Who is calling. Every authentication path (the API Gateway IAM authorizer in AWS, bearer tokens locally, enrollment
 * tokens anywhere) ends in this one shape, and domain code sees nothing else of the request's credentials.
 */
export type Principal =
  | {
      readonly kind: 'iam';
      /** The caller's IAM ARN as the authorizer reported it (user, role or assumed-role session). */
      readonly id: string;
      /** The ARN policies match: an assumed-role session's role ARN (`…:iam::<account>:role/<name>`), else `id`. */
      readonly arn: string;
      readonly accountId: string;
      readonly userId: string;
    }
  | {
      readonly kind: 'local-token';
      /** `local:<name>`, a stable name for the token holder. Never the token itself. */
      readonly id: string;
    }
  | {
      readonly kind: 'enrollment-token';
      /** `enrollment:<first 16 hex of the token hash>`: what logs and audit entries show. */
      readonly id: string;
      /** Lower-case hex SHA-256 of the token: the key the token is stored under. */
      readonly tokenHash: string;
    };

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/**
 * The ARN an IAM caller is matched by. STS reports assumed-role callers as
 * `arn:aws:sts::<account>:assumed-role/<role>/<session>`; the session name is chosen by the caller, so policies match the
 * role (`arn:aws:iam::<account>:role/<role>`) instead. The role's path is not in a session ARN, so it is lost here.
 */
export function normalizeIamArn(arn: string): string {
  const match = ASSUMED_ROLE.exec(arn);
  return match ? `arn:${match[1]}:iam::${match[2]}:role/${match[3]}` : arn;
}

/** The string principal patterns are matched against; enrollment tokens match no pattern. */
export function principalKey(principal: Principal): string | undefined {
  if (principal.kind === 'iam') return principal.arn;
  if (principal.kind === 'local-token') return principal.id;
  return undefined;
}

/**
 * A principal pattern, compiled once: `*` matches any run of characters (`/` included, and none at all), `?` exactly
 * one (one UTF-16 code unit), everything else itself; case-sensitive, as IAM names are, and always the whole key.
 */
export interface PrincipalPattern {
  /** The pattern as written. */
  readonly source: string;
  /**
   * Whether the pattern matches the whole key. Costs at most (|pattern| + 1) · (|key| + 1) character reads, so
   * about a million for the longest pattern the schema accepts (512) against a 2,048-character key, whatever the
   * pattern: there is no backtracking to blow up.
   */
  test(key: string): boolean;
}

/**
 * Compiles a principal pattern into a glob matcher rather than a regular expression: backtracking let a pattern such
 * as `local:*a*a*a*a*a*a*a*a*a*a*b` spend tens of seconds on a 46-character key, on every issuance (issue #8). The
 * meaning is the one the regular expressions (`*` → `.*`, `?` → `.`) had, down to a quirk of `.`: it never matched a
 * line terminator (LF, CR, U+2028, U+2029), so a key containing one matches nothing.
 * @throws RangeError for a pattern containing a line terminator, which the `principalPattern` schema never accepts.
 */
export function compilePrincipalPattern(pattern: string): PrincipalPattern {
  if (hasLineTerminator(pattern)) throw new RangeError('A principal pattern is one line.');
  const glob = compileGlob(pattern);
  return {
    source: pattern,
    // The key is scanned for a terminator only once the rest matched, which is rare.
    test: (key) => globMatches(glob, key) && !hasLineTerminator(key),
  };
}

/** Whether any of the compiled patterns matches the principal. */
export function principalMatches(patterns: readonly PrincipalPattern[], principal: Principal): boolean {
  const key = principalKey(principal);
  return key !== undefined && patterns.some((p) => p.test(key));
}

/**
 * A pattern as literal segments between stars, in which `?` stands for any one character. With no star, `head` is
 * the whole pattern and `tail` is undefined.
 */
interface Glob {
  readonly head: string;
  readonly middle: readonly string[];
  readonly tail: string | undefined;
  /** The fewest characters the pattern matches: its length without the stars. */
  readonly minLength: number;
}

const QUESTION_MARK = 0x3f;

function compileGlob(pattern: string): Glob {
  const segments = pattern.split('*');
  if (segments.length === 1) return { head: pattern, middle: [], tail: undefined, minLength: pattern.length };
  const head = segments[0] ?? '';
  const tail = segments[segments.length - 1] ?? '';
  // Empty middle segments come from runs of stars, which match what one star matches.
  const middle = segments.slice(1, -1).filter((segment) => segment !== '');
  const minLength = segments.reduce((sum, segment) => sum + segment.length, 0);
  return { head, middle, tail, minLength };
}

/**
 * Whether the key matches the glob, wildcards matching any character. The head must sit at the start and the tail at
 * the end; each middle segment is placed at its leftmost occurrence after the one before. Leftmost is always safe:
 * the stars on either side absorb any shift, and it leaves the most room to the segments that follow. So no choice is
 * ever revisited, and each segment scans the key at most once: ≤ |segment| · |key| reads.
 */
function globMatches(glob: Glob, key: string): boolean {
  if (key.length < glob.minLength) return false;
  if (glob.tail === undefined) return key.length === glob.head.length && segmentAt(glob.head, key, 0);
  if (!segmentAt(glob.head, key, 0) || !segmentAt(glob.tail, key, key.length - glob.tail.length)) return false;
  let cursor = glob.head.length;
  const limit = key.length - glob.tail.length;
  for (const segment of glob.middle) {
    const found = indexOfSegment(segment, key, cursor, limit);
    if (found < 0) return false;
    cursor = found + segment.length;
  }
  return true;
}

/** The first position in `[from, limit - |segment|]` where the segment matches the key, or -1. */
function indexOfSegment(segment: string, key: string, from: number, limit: number): number {
  for (let at = from; at + segment.length <= limit; at++) if (segmentAt(segment, key, at)) return at;
  return -1;
}

function segmentAt(segment: string, key: string, at: number): boolean {
  for (let i = 0; i < segment.length; i++) {
    const expected = segment.charCodeAt(i);
    if (expected !== QUESTION_MARK && expected !== key.charCodeAt(at + i)) return false;
  }
  return true;
}

/** Whether the text holds an LF, CR, U+2028 or U+2029: what a regular expression's `.` never matches. */
function hasLineTerminator(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/**
 * Template variables of a principal: `account`, `roleName` (IAM roles), `userName` (IAM users) and `principalName`
 * (the role, user or local name). Only names the caller cannot choose freely are offered: never a session name.
 */
export function principalVariables(principal: Principal): Readonly<Record<string, string>> {
  if (principal.kind === 'local-token') return { principalName: principal.id.replace(/^local:/, '') };
  if (principal.kind === 'enrollment-token') return {};
  const match = /^arn:[a-z-]+:iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(principal.arn);
  if (!match?.[3]) return { account: principal.accountId };
  const name = match[3];
  return {
    account: match[1] ?? principal.accountId,
    principalName: name,
    ...(match[2] === 'role' ? { roleName: name } : { userName: name }),
  };
}
