import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configPath, loadMimConfig } from '../config/load-config.ts';
import { ControlPlaneStack } from '../stacks/control-plane-stack.ts';

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
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
