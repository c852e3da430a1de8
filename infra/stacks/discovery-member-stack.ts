import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { ArnPrincipal, Effect, ManagedPolicy, PolicyDocument, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DEFAULT_DISCOVERY_ROLE_NAME } from '#lib/domain/discovery-config.ts';

/**
 * Exactly the read calls the discovery sources make (lib/adapters/discovery/), by source. No `*` action, no managed
 * `ReadOnlyAccess` (which reads secret values, S3 objects and much more).
 */
export const DISCOVERY_READ_ACTIONS = {
  'aws-iam': [
    'iam:GetAccountAuthorizationDetails',
    'iam:ListRoles',
    'iam:ListUsers',
    'iam:ListAccessKeys',
    'iam:GetAccessKeyLastUsed',
    'iam:ListMFADevices',
    'iam:GetLoginProfile',
    'iam:GetAccountSummary',
  ],
  'aws-acm': ['acm:ListCertificates', 'acm:DescribeCertificate', 'acm:ListTagsForCertificate'],
  'aws-secrets-manager': ['secretsmanager:ListSecrets'],
  'aws-kms': ['kms:ListKeys', 'kms:ListAliases', 'kms:DescribeKey', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'],
} as const;

/** What the role may never do, whatever else someone attaches to it: read a secret's value, decrypt. */
export const DISCOVERY_DENIED_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  'kms:Decrypt',
  'kms:GenerateDataKey*',
  'kms:Sign',
] as const;

export interface DiscoveryMemberStackProps extends StackProps {
  /** The control plane's discovery function role: the only principal the role trusts. */
  readonly trustedRoleArn: string;
  /** Required on every AssumeRole (`discovery.aws.externalId` in the control plane's configuration). */
  readonly externalId: string;
  /** Default `MimDiscoveryReadOnly`, the name discovery assumes when an account's entry names no role. */
  readonly roleName?: string;
}

/**
 * Deployed in each member account (directly, or through a StackSet): the read-only role discovery assumes there. It
 * trusts only the control plane's discovery function role, with the external id, and allows exactly the read calls
 * the sources make.
 */
export class DiscoveryMemberStack extends Stack {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: DiscoveryMemberStackProps) {
    super(scope, id, props);
    if (!/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(props.trustedRoleArn)) {
      throw new Error(`trustedRoleArn must be the control plane's discovery role ARN, not "${props.trustedRoleArn}".`);
    }
    if (!/^[\w+=,.@:/-]{2,1224}$/.test(props.externalId)) {
      throw new Error('externalId must be 2 to 1224 letters, digits or +=,.@:/- (the one in mim.config.json).');
    }
    const policy = new ManagedPolicy(this, 'ReadPolicy', {
      description: 'What machine identity discovery reads: identities and their metadata, never a secret value',
      document: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: 'ReadMachineIdentities',
            actions: Object.values(DISCOVERY_READ_ACTIONS).flat(),
            resources: ['*'],
          }),
          new PolicyStatement({
            sid: 'NeverSecretValuesOrKeyUse',
            effect: Effect.DENY,
            actions: [...DISCOVERY_DENIED_ACTIONS],
            resources: ['*'],
          }),
        ],
      }),
    });
    this.role = new Role(this, 'Role', {
      roleName: props.roleName ?? DEFAULT_DISCOVERY_ROLE_NAME,
      description: 'Read-only role machine identity discovery assumes in this account',
      assumedBy: new ArnPrincipal(props.trustedRoleArn).withConditions({
        StringEquals: { 'sts:ExternalId': props.externalId },
      }),
      managedPolicies: [policy],
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Discovery lists and describes every identity of the account (IAM authorization details, certificates, ' +
        'secrets metadata, keys), which IAM only grants on "*" for List calls; every action is a read of metadata, ' +
        'secret values and key use are explicitly denied.',
    });
  }
}
