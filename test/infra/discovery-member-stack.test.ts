import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DiscoveryMemberStack } from '../../infra/stacks/discovery-member-stack.ts';

/** The member accounts' read-only role, read from its template (no bundling: this stack has no function). */

const TRUSTED = 'arn:aws:iam::123456789012:role/MimDiscoveryWorker';
const app = new App();
const stack = new DiscoveryMemberStack(app, 'Member', { trustedRoleArn: TRUSTED, externalId: 'mim-7f3a9c' });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const template = Template.fromStack(stack).toJSON();
type Json = any;
const ofType = (type: string) =>
  Object.values(template.Resources as Record<string, Json>).filter((r) => r.Type === type);

describe('discovery member stack', () => {
  it('one role, named as discovery expects, trusting only the control plane role, with the external id', () => {
    const [role] = ofType('AWS::IAM::Role');
    expect(ofType('AWS::IAM::Role')).toHaveLength(1);
    expect(role.Properties.RoleName).toBe('MimDiscoveryReadOnly');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: TRUSTED },
        Condition: { StringEquals: { 'sts:ExternalId': 'mim-7f3a9c' } },
      },
    ]);
    expect(role.Properties.Policies).toBeUndefined();
  });

  it('allows exactly the read calls the sources make: no wildcard action, no managed ReadOnlyAccess', () => {
    const [role] = ofType('AWS::IAM::Role');
    expect(role.Properties.ManagedPolicyArns).toHaveLength(1);
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).not.toContain('ReadOnlyAccess');
    const [policy] = ofType('AWS::IAM::ManagedPolicy');
    const statements: Json[] = policy.Properties.PolicyDocument.Statement;
    const allowed = statements.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat());
    expect(allowed.sort()).toEqual(
      [
        'acm:DescribeCertificate',
        'acm:ListCertificates',
        'acm:ListTagsForCertificate',
        'iam:GetAccessKeyLastUsed',
        'iam:GetAccountAuthorizationDetails',
        'iam:GetAccountSummary',
        'iam:GetLoginProfile',
        'iam:ListAccessKeys',
        'iam:ListMFADevices',
        'iam:ListRoles',
        'iam:ListUsers',
        'kms:DescribeKey',
        'kms:GetKeyRotationStatus',
        'kms:ListAliases',
        'kms:ListKeys',
        'kms:ListResourceTags',
        'secretsmanager:ListSecrets',
      ].sort(),
    );
    for (const action of allowed) {
      expect(action).not.toContain('*');
      expect(action).toMatch(/:(Get|List|Describe)/);
    }
    const denied = statements.filter((s) => s.Effect === 'Deny').flatMap((s) => [s.Action].flat());
    expect(denied).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue', 'kms:Decrypt']));
  });

  it('refuses a trusted principal that is not a role ARN, or a malformed external id', () => {
    expect(() => new DiscoveryMemberStack(new App(), 'Bad', { trustedRoleArn: '*', externalId: 'x1' })).toThrow(
      /trustedRoleArn/,
    );
    expect(
      () => new DiscoveryMemberStack(new App(), 'Bad', { trustedRoleArn: TRUSTED, externalId: 'has spaces' }),
    ).toThrow(/externalId/);
  });

  it('passes cdk-nag, its one finding acknowledged with a reason', () => {
    const violations = new AwsSolutionsChecks(app).validateScope(stack).violations.map((v) => v.ruleName);
    expect([...new Set(violations)]).toEqual(['AwsSolutions-IAM5[Resource::*]']);
    expect(() => app.synth()).not.toThrow();
  });
});
