import { createAwsDiscovery } from '#lib/adapters/discovery/aws-discovery.ts';
import { createNameResolver } from '#lib/adapters/tls/tls-scanner.ts';
import { tlsAllowedRanges } from '#lib/domain/discovery-config.ts';
import { config } from './lambda-runtime.ts';

/**
 * AWS discovery for the functions that plan runs or work on their units: the configured accounts and regions, in the
 * function's own region by default (`AWS_REGION`, which Lambda always sets).
 */
export const awsDiscovery = createAwsDiscovery({
  config: config.discovery.aws,
  defaultRegion: process.env.AWS_REGION ?? 'us-east-1',
});

/** What a run scans (the configured targets) and where the scanner may connect: in AWS, nowhere until configured. */
export const tlsPlan = {
  targets: config.discovery.tls.targets,
  allowedRanges: tlsAllowedRanges(config.discovery.tls, 'aws'),
  resolve: createNameResolver({ timeoutMs: config.discovery.tls.connectTimeoutMs }),
};
