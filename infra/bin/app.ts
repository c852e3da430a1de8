import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ControlPlaneStack } from '../stacks/control-plane-stack.ts';

/** The CDK app: one stack, checked by cdk-nag's AWS Solutions rules on every synth. */
const app = new App();
new ControlPlaneStack(app, 'MachineIdentityControlPlane', {
  description: 'Machine identity control plane: KMS-backed CA, certificate inventory, HTTP API',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
