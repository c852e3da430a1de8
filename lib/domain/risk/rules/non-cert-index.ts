import type { RiskRule } from '../rule.ts';
import { agentAdminEquivalent } from './agent-admin-equivalent.ts';
import { agentLongLivedKeys } from './agent-long-lived-keys.ts';
import { iamAccessKeyOld } from './iam-access-key-old.ts';
import { iamAdminEquivalent } from './iam-admin-equivalent.ts';
import { iamCredentialsUnused } from './iam-credentials-unused.ts';
import { iamCrossAccountNoExternalId } from './iam-cross-account-no-external-id.ts';
import { iamGithubOidcNoSub } from './iam-github-oidc-no-sub.ts';
import { iamPrivilegeEscalation } from './iam-privilege-escalation.ts';
import { iamRoleUnused } from './iam-role-unused.ts';
import { iamRootAccessKey } from './iam-root-access-key.ts';
import { iamTrustAnyPrincipal } from './iam-trust-any-principal.ts';
import { iamUserConsoleAndKeys } from './iam-user-console-and-keys.ts';
import { iamWildcardServiceActions } from './iam-wildcard-service-actions.ts';
import { kmsRotationDisabled } from './kms-rotation-disabled.ts';
import { ownerMissing } from './ownership-owner-missing.ts';
import { secretNotRotated90d } from './secret-not-rotated-90d.ts';
import { secretRotationDisabled } from './secret-rotation-disabled.ts';
import { secretUnused90d } from './secret-unused-90d.ts';

/**
 * The risk rules over discovered identities' facts (IAM roles, users and access keys, AI agents, secrets, KMS keys),
 * and the ownership rule over every identity, most severe first; codes are unique. The certificate rules are
 * registered beside them.
 */
export const IDENTITY_RULES: readonly RiskRule[] = [
  // critical
  iamTrustAnyPrincipal,
  iamRootAccessKey,
  agentAdminEquivalent,
  // high
  iamAdminEquivalent,
  iamPrivilegeEscalation,
  iamGithubOidcNoSub,
  agentLongLivedKeys,
  // medium
  iamAccessKeyOld,
  iamCredentialsUnused,
  iamWildcardServiceActions,
  iamCrossAccountNoExternalId,
  iamUserConsoleAndKeys,
  secretRotationDisabled,
  secretNotRotated90d,
  kmsRotationDisabled,
  // low
  iamRoleUnused,
  secretUnused90d,
  ownerMissing,
];
