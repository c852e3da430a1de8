import { RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type CfnKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '#lib/config/env.ts';

/** Fixed CloudFormation logical ids of the CA keys. */
export const CA_KEY_LOGICAL_IDS = { root: 'CaRootKey', issuing: 'CaIssuingKey' } as const;

/**
 * The CA's two asymmetric KMS keys (ECC P-256, sign/verify); the private halves never leave KMS. Access is granted per
 * function, narrowly: the root key only to the bootstrap function, `kms:Sign` on the issuing key only to the issuing
 * function. The key policies are CDK's default, a single statement giving the account root `kms:*`, which lets IAM
 * policies in this account grant access and grants nothing to any principal by itself; so who may sign is decided by
 * the IAM policies this construct writes, and the infra tests check exactly those.
 */
export class CaKeys extends Construct {
  readonly rootKey: Key;
  readonly issuingKey: Key;

  constructor(scope: Construct, id: string, props: { readonly aliasPrefix: string }) {
    super(scope, id);
    const caKey = (name: string, logicalId: string, description: string) => {
      const key = new Key(this, name, {
        keySpec: KeySpec.ECC_NIST_P256,
        keyUsage: KeyUsage.SIGN_VERIFY,
        description,
        alias: `${props.aliasPrefix}-${name.toLowerCase()}`,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // A replaced key would orphan every certificate it signed.
      (key.node.defaultChild as CfnKey).overrideLogicalId(logicalId);
      return key;
    };
    this.rootKey = caKey('Root', CA_KEY_LOGICAL_IDS.root, 'Machine identity control plane: root CA signing key');
    this.issuingKey = caKey(
      'Issuing',
      CA_KEY_LOGICAL_IDS.issuing,
      'Machine identity control plane: issuing CA signing key',
    );
  }

  /**
   * The bootstrap signs the root (self-signed) and the issuing CA certificate with the root key, and only reads the
   * issuing key's public half to put it in that certificate. Sets both key env vars.
   */
  grantBootstrap(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['kms:GetPublicKey', 'kms:Sign'], resources: [this.rootKey.keyArn] }),
    );
    fn.addToRolePolicy(new PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [this.issuingKey.keyArn] }));
    fn.addEnvironment(ENV.rootKeyId, this.rootKey.keyArn);
    fn.addEnvironment(ENV.issuingKeyId, this.issuingKey.keyArn);
  }

  /** Signing leaf certificates: `kms:Sign` and the public key on the issuing key, nothing on the root key. */
  grantIssue(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['kms:GetPublicKey', 'kms:Sign'], resources: [this.issuingKey.keyArn] }),
    );
    fn.addEnvironment(ENV.issuingKeyId, this.issuingKey.keyArn);
  }
}
