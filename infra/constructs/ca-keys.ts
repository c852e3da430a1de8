import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '#lib/config/env.ts';
import { SigningKey } from './signing-key.ts';

/** Fixed CloudFormation logical ids of the CA keys. */
export const CA_KEY_LOGICAL_IDS = { root: 'CaRootKey', issuing: 'CaIssuingKey' } as const;

/**
 * The CA's two asymmetric KMS keys (ECC P-256, sign/verify); the private halves never leave KMS. Each is a
 * {@link SigningKey}: its key policy lets only the designated function sign — the bootstrap with the root key, the
 * issuing function with the issuing key — and denies `kms:Sign` to every other principal of the account, however
 * broad its IAM policies.
 */
export class CaKeys extends Construct {
  readonly rootKey: SigningKey;
  readonly issuingKey: SigningKey;

  constructor(scope: Construct, id: string, props: { readonly aliasPrefix: string }) {
    super(scope, id);
    this.rootKey = new SigningKey(this, 'Root', {
      kind: 'sign',
      logicalId: CA_KEY_LOGICAL_IDS.root,
      alias: `${props.aliasPrefix}-root`,
      description: 'Machine identity control plane: root CA signing key',
    });
    this.issuingKey = new SigningKey(this, 'Issuing', {
      kind: 'sign',
      logicalId: CA_KEY_LOGICAL_IDS.issuing,
      alias: `${props.aliasPrefix}-issuing`,
      description: 'Machine identity control plane: issuing CA signing key',
    });
  }

  /**
   * The bootstrap signs the root (self-signed) and the issuing CA certificate with the root key, and only reads the
   * issuing key's public half to put it in that certificate. Sets both key env vars.
   */
  grantBootstrap(fn: LambdaFunction): void {
    this.rootKey.grantUse(fn, ENV.rootKeyId);
    this.issuingKey.grantPublicKey(fn, ENV.issuingKeyId);
  }

  /** Signing leaf certificates: `kms:Sign` and the public key on the issuing key, nothing on the root key. */
  grantIssue(fn: LambdaFunction): void {
    this.issuingKey.grantUse(fn, ENV.issuingKeyId);
  }
}
