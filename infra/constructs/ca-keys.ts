import { RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type CfnKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '#lib/config/env.ts';

/**
 * The CA's two asymmetric KMS keys. The private halves never leave KMS. Access is granted per function, narrowly:
 * the root key only to the bootstrap function, `kms:Sign` on the issuing key only to the issuing function.
 * The key policies keep CDK's default statement delegating to IAM in this account; no other statement opens Sign.
 */
export class CaKeys extends Construct {
  readonly rootKey: Key;
  readonly issuingKey: Key;

  constructor(scope: Construct, id: string, props: { aliasPrefix: string }) {
    super(scope, id);
    const caKey = (name: string, description: string) => {
      const key = new Key(this, name, {
        keySpec: KeySpec.ECC_NIST_P256,
        keyUsage: KeyUsage.SIGN_VERIFY,
        description,
        alias: `${props.aliasPrefix}-${name.toLowerCase().replace('key', '')}`,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Fixed logical ids: a replaced key would orphan every certificate it signed.
      (key.node.defaultChild as CfnKey).overrideLogicalId(`Ca${name}`);
      return key;
    };
    this.rootKey = caKey('RootKey', 'Machine identity control plane: root CA signing key');
    this.issuingKey = caKey('IssuingKey', 'Machine identity control plane: issuing CA signing key');
  }

  /** The bootstrap signs the root and the intermediate with the root key and reads the issuing key's public half. */
  grantBootstrap(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['kms:GetPublicKey', 'kms:Sign'], resources: [this.rootKey.keyArn] }),
    );
    fn.addToRolePolicy(new PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [this.issuingKey.keyArn] }));
    fn.addEnvironment(ENV.rootKeyId, this.rootKey.keyArn);
    fn.addEnvironment(ENV.issuingKeyId, this.issuingKey.keyArn);
  }

  /** Signing leaf certificates: `kms:Sign` (and the public key) on the issuing key, nothing on the root key. */
  grantIssue(fn: LambdaFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['kms:GetPublicKey', 'kms:Sign'], resources: [this.issuingKey.keyArn] }),
    );
    fn.addEnvironment(ENV.issuingKeyId, this.issuingKey.keyArn);
  }
}
