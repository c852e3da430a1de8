import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configPath, loadMimConfig } from '../config/load-config.ts';
import { ControlPlaneStack } from '../stacks/control-plane-stack.ts';
import { DiscoveryMemberStack } from '../stacks/discovery-member-stack.ts';

/**
 * The CDK app: one stack, checked by cdk-nag's AWS Solutions rules on every synth, configured by `mim.config.json`
 * (or the file `MIM_CONFIG` names), which is validated here before anything is built.
 */
const app = new App();
let config: Awaited<ReturnType<typeof loadMimConfig>>;
try {
  config = await loadMimConfig(configPath());
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
new ControlPlaneStack(app, 'MachineIdentityControlPlane', {
  description: 'Machine identity control plane: KMS-backed CA, certificate inventory, HTTP API',
  config,
});
// The member accounts' read-only discovery role, when asked for: deploy it to each account discovery reads (or as a
// StackSet) with `npm run cdk -- deploy MimDiscoveryMember -c discoveryTrustedRoleArn=<the control plane's discovery
// role ARN>`; the external id is the configuration's `discovery.aws.externalId`.
const trustedRoleArn: unknown = app.node.tryGetContext('discoveryTrustedRoleArn');
if (typeof trustedRoleArn === 'string') {
  const externalId = config.discovery.aws.externalId;
  if (externalId === undefined) {
    console.error('discovery.aws.externalId must be set in the configuration to deploy the member role.');
    process.exit(1);
  }
  new DiscoveryMemberStack(app, 'MimDiscoveryMember', {
    description: 'Machine identity control plane: read-only role for discovery in a member account',
    trustedRoleArn,
    externalId,
  });
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
