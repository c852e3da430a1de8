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
 * A compiled principal pattern: `*` matches any run of characters, `?` one character, everything else itself.
 * Case-sensitive, as IAM names are.
 */
export function compilePrincipalPattern(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`);
}

/** Whether any of the compiled patterns matches the principal. */
export function principalMatches(patterns: readonly RegExp[], principal: Principal): boolean {
  const key = principalKey(principal);
  return key !== undefined && patterns.some((p) => p.test(key));
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
