import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { DiscoveryConfig } from '#lib/domain/discovery-config.ts';
import type { DiscoveryUnit } from '#lib/ports/discovery-runs.ts';
import type { DiscoverySource } from '#lib/ports/discovery-source.ts';
import type { DiscoveryPlan } from '#lib/use-cases/run-discovery.ts';
import { callerIdentity, discoveryCredentials, resolveDiscoveryAccounts } from './aws-accounts.ts';
import { createAcmDiscoveryClient, createAwsAcmSource } from './aws-acm-source.ts';
import { createAwsIamSource, createIamDiscoveryClient } from './aws-iam-source.ts';
import { createAwsKmsSource, createKmsDiscoveryClient } from './aws-kms-source.ts';
import { createAwsSecretsManagerSource, createSecretsManagerDiscoveryClient } from './aws-secrets-manager-source.ts';

/**
 * Discovery against AWS for a composition root: the plan of a run (the configured accounts and regions) and the
 * source of each unit, with the account's credentials. Clients use the SDK's default credential chain and endpoint
 * resolution, so `AWS_ENDPOINT_URL_<SERVICE>` points them at an emulator and a developer's own credentials at a real
 * account; without credentials, the plan says so and every part of a run is skipped with that reason.
 */
export function createAwsDiscovery(options: {
  readonly config: DiscoveryConfig['aws'];
  /** The deployment's region: the default of `regions`, and where the global IAM is called. */
  readonly defaultRegion: string;
}) {
  const sts = new STSClient({ region: options.defaultRegion });
  const organizations = new OrganizationsClient({ region: options.defaultRegion });
  let credentialsFor: ReturnType<typeof discoveryCredentials> | undefined;

  const plan = async (): Promise<DiscoveryPlan> => {
    let caller: Awaited<ReturnType<typeof callerIdentity>>;
    try {
      caller = await callerIdentity(sts);
    } catch (error) {
      return {
        unavailable:
          `${(error as Error).message} Give the control plane AWS credentials (the SDK's default chain: ` +
          'AWS_PROFILE, AWS_ACCESS_KEY_ID…) to read AWS; the AWS sources are skipped.',
      };
    }
    credentialsFor ??= discoveryCredentials({
      sts,
      callerAccount: caller.account,
      externalId: options.config.externalId,
      partition: caller.partition,
    });
    try {
      const accounts = await resolveDiscoveryAccounts(options.config, { sts, organizations });
      return { accounts, regions: options.config.regions ?? [options.defaultRegion] };
    } catch (error) {
      // The organization could not be listed (not its management or delegated administrator account): the run
      // reports it on every part rather than failing the request.
      return { unavailable: (error as Error).message };
    }
  };

  const sourceFor = async (unit: DiscoveryUnit): Promise<DiscoverySource> => {
    if (credentialsFor === undefined) {
      // A worker that did not plan (in AWS, another function): learn the account the credentials are from.
      await plan();
    }
    const chosen = credentialsFor?.({ accountId: unit.account, roleArn: unit.roleArn });
    let credentials: AwsCredentialIdentityProvider | undefined;
    if (chosen?.kind === 'assumed') {
      // Assume now, so that a refusal reaches the part with its own message rather than wrapped by a source.
      await chosen.provider();
      credentials = chosen.provider;
    }
    const region = unit.region === 'global' ? options.defaultRegion : unit.region;
    const client = { region, ...(credentials ? { credentials } : {}) };
    switch (unit.source) {
      case 'aws-iam':
        return createAwsIamSource({ client: createIamDiscoveryClient(client) });
      case 'aws-acm':
        return createAwsAcmSource({ client: createAcmDiscoveryClient(client) });
      case 'aws-secrets-manager':
        return createAwsSecretsManagerSource({ client: createSecretsManagerDiscoveryClient(client) });
      case 'aws-kms':
        return createAwsKmsSource({ client: createKmsDiscoveryClient(client) });
      case 'tls':
        throw new Error('A tls unit scans its endpoints; it has no AWS source.');
    }
  };

  return { plan, sourceFor };
}
