import { Lazy, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccountRootPrincipal,
  AnyPrincipal,
  Effect,
  type IRole,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import { type CfnKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/**
 * What a key is for. `sign`: an ECC P-256 key whose private operation is `kms:Sign` (CA keys, and later the OCSP
 * responder and the audit seal). `mac`: an HMAC-SHA-256 key whose private operation is `kms:GenerateMac` (the
 * server-held secret that seals stored idempotent answers).
 */
export type SigningKeyKind = 'sign' | 'mac';

const PRIVATE_ACTIONS: Record<SigningKeyKind, readonly string[]> = {
  sign: ['kms:Sign'],
  mac: ['kms:GenerateMac'],
};

/** What a designated function may also do with the key besides its private operation. */
const PUBLIC_ACTIONS: Record<SigningKeyKind, readonly string[]> = {
  sign: ['kms:GetPublicKey'],
  mac: [],
};

/**
 * Key administration the account keeps (delegated to IAM through the account root): describe, tag, enable and
 * disable, schedule deletion, manage aliases, revoke grants, and read and change the key policy itself, so the
 * account can never lock itself out. Deliberately absent: `kms:CreateGrant` (a grant could hand the private operation
 * to anyone) and every cryptographic operation.
 */
export const KEY_ADMINISTRATION_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:ListKeyPolicies',
  'kms:GetKeyRotationStatus',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:RetireGrant',
] as const;

export interface SigningKeyProps {
  readonly kind: SigningKeyKind;
  /** Fixed CloudFormation logical id: a replaced key orphans everything it signed or sealed. */
  readonly logicalId: string;
  readonly alias: string;
  readonly description: string;
}

/**
 * A KMS key whose private operation only designated functions may perform, whatever IAM policies say elsewhere in
 * the account. The default key policy (`kms:*` for the account root) would let any principal whose IAM policy allows
 * `kms:Sign` on `*` — AdministratorAccess, PowerUserAccess, many CI roles — sign with a CA key and mint a subordinate
 * CA. So the key policy instead:
 * 1. keeps key administration with the account ({@link KEY_ADMINISTRATION_ACTIONS}), key policy included;
 * 2. allows each designated function's role its private operation (and the public key where needed);
 * 3. denies the private operation to every principal whose `aws:PrincipalArn` is not a designated role. An explicit
 *    deny in the key policy also beats grants and any IAM allow, so this holds even for account administrators.
 * Someone who may `kms:PutKeyPolicy` can still rewrite the policy: that is the account's last resort, visible in
 * CloudTrail, and cannot be removed without risking a key nobody can manage.
 *
 * The grant helpers also set the environment variable naming the key, so the two cannot drift.
 */
export class SigningKey extends Construct {
  readonly key: Key;
  private readonly designated: IRole[] = [];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: SigningKeyProps,
  ) {
    super(scope, id);
    const privateActions = [...PRIVATE_ACTIONS[props.kind]];
    this.key = new Key(this, 'Key', {
      keySpec: props.kind === 'sign' ? KeySpec.ECC_NIST_P256 : KeySpec.HMAC_256,
      keyUsage: props.kind === 'sign' ? KeyUsage.SIGN_VERIFY : KeyUsage.GENERATE_VERIFY_MAC,
      description: props.description,
      alias: props.alias,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: 'KeyAdministrationByTheAccount',
            principals: [new AccountRootPrincipal()],
            actions: [...KEY_ADMINISTRATION_ACTIONS],
            resources: ['*'],
          }),
          new PolicyStatement({
            sid: 'PrivateOperationOnlyByDesignatedFunctions',
            effect: Effect.DENY,
            principals: [new AnyPrincipal()],
            actions: privateActions,
            resources: ['*'],
            conditions: {
              ArnNotEquals: {
                'aws:PrincipalArn': Lazy.list({ produce: () => this.designated.map((role) => role.roleArn) }),
              },
            },
          }),
        ],
      }),
    });
    (this.key.node.defaultChild as CfnKey).overrideLogicalId(props.logicalId);
    this.node.addValidation({
      validate: () =>
        this.designated.length > 0
          ? []
          : [`${props.logicalId}: no function may use this key; call grantUse() for the one that signs with it.`],
    });
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /**
   * The function performs the key's private operation (`kms:Sign` or `kms:GenerateMac`, plus `kms:GetPublicKey` for
   * a signing key), allowed in the key policy and the role's policy alike. Sets `envVar` to the key's ARN.
   */
  grantUse(fn: LambdaFunction, envVar: string): void {
    const role = this.roleOf(fn);
    const actions = [...PRIVATE_ACTIONS[this.props.kind], ...PUBLIC_ACTIONS[this.props.kind]];
    this.designated.push(role);
    this.allow(fn, role, actions, 'Use');
    fn.addEnvironment(envVar, this.keyArn);
  }

  /** The function only reads the public key (e.g. to put it in a certificate). Sets `envVar` to the key's ARN. */
  grantPublicKey(fn: LambdaFunction, envVar: string): void {
    const actions = [...PUBLIC_ACTIONS[this.props.kind]];
    if (actions.length === 0)
      throw new Error(`${this.props.logicalId} is a ${this.props.kind} key: it has no public key.`);
    this.allow(fn, this.roleOf(fn), actions, 'ReadPublicKey');
    fn.addEnvironment(envVar, this.keyArn);
  }

  private allow(fn: LambdaFunction, role: IRole, actions: string[], what: string): void {
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: `${what}By${fn.node.scope?.node.id ?? fn.node.id}`,
        principals: [role],
        actions,
        resources: ['*'],
      }),
    );
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [this.keyArn] }));
  }

  private roleOf(fn: LambdaFunction): IRole {
    if (!fn.role) throw new Error(`Function ${fn.node.path} has no role to grant ${this.props.logicalId} to.`);
    return fn.role;
  }
}
