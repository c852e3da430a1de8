import { createAwsDiscovery } from '#lib/adapters/discovery/aws-discovery.ts';
import { config } from './lambda-runtime.ts';

/**
 * AWS discovery for the functions that plan runs or work on their units: the configured accounts and regions, in the
 * function's own region by default (`AWS_REGION`, which Lambda always sets).
 */
export const awsDiscovery = createAwsDiscovery({
  config: config.discovery.aws,
  defaultRegion: process.env.AWS_REGION ?? 'us-east-1',
});
