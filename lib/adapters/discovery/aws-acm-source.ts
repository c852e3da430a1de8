import {
  ACMClient,
  type ACMClientConfig,
  type CertificateKeyPairOrigin,
  DescribeCertificateCommand,
  type KeyAlgorithm,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import { z } from 'zod';
import type { Facts, Observation } from '#lib/domain/discovery.ts';
import type { DiscoveryScope, DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import { mapWithConcurrency } from '../map-with-concurrency.ts';
import { assertClientRegion } from './assert-client-region.ts';
import { type DiscoveryReadError, readAws } from './discovery-read-error.ts';
import { checkPageSize, pagedListing, skipIfGone, tokenAfter } from './paged-listing.ts';

const SOURCE = 'aws-acm';

/**
 * Every key type ACM has. Without `Includes.keyTypes`, ListCertificates returns only RSA_1024 and RSA_2048
 * certificates: EC and larger RSA certificates would silently be missing from the inventory.
 */
export const ACM_KEY_TYPES = [
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1',
] as const satisfies readonly KeyAlgorithm[];

/**
 * Every key pair origin ACM has. Without `CertificateKeyPairOrigins`, ListCertificates returns only AWS_MANAGED and
 * CUSTOMER_PROVIDED certificates, which would miss those issued through ACM's ACME endpoints.
 */
export const ACM_KEY_PAIR_ORIGINS = [
  'AWS_MANAGED',
  'CUSTOMER_PROVIDED',
  'ACME',
] as const satisfies readonly CertificateKeyPairOrigin[];

/**
 * Certificates per ListCertificates page (the API allows 1,000). Each certificate costs two more calls, and ACM
 * allows about 10 DescribeCertificate calls a second: 100 keeps one page well under a minute.
 */
export const ACM_PAGE_SIZE = 100;
const DESCRIBE_CONCURRENCY = 4;
/** How ACM says a certificate is gone (deleted between the listing and its description). */
const NOT_FOUND = 'ResourceNotFoundException';

const listSchema = z.object({
  CertificateSummaryList: z.array(z.object({ CertificateArn: z.string().min(1) })).default([]),
  NextToken: z.string().optional(),
});

const detailSchema = z.object({
  Certificate: z.object({
    CertificateArn: z.string().min(1),
    DomainName: z.string().min(1).optional(),
    SubjectAlternativeNames: z.array(z.string()).default([]),
    KeyAlgorithm: z.string().min(1).optional(),
    SignatureAlgorithm: z.string().min(1).optional(),
    Serial: z.string().min(1).optional(),
    Issuer: z.string().min(1).optional(),
    NotBefore: z.date().optional(),
    NotAfter: z.date().optional(),
    Status: z.string().min(1),
    Type: z.string().min(1),
    InUseBy: z.array(z.string()).default([]),
    RenewalEligibility: z.string().min(1).optional(),
    RenewalSummary: z.object({ RenewalStatus: z.string().min(1) }).optional(),
    CreatedAt: z.date().optional(),
    ImportedAt: z.date().optional(),
    IssuedAt: z.date().optional(),
  }),
});
type CertificateDetail = z.infer<typeof detailSchema>['Certificate'];

const tagsSchema = z.object({
  Tags: z.array(z.object({ Key: z.string().min(1), Value: z.string().optional() })).default([]),
});

export interface AwsAcmSourceOptions {
  /** An ACM client for the scope's account and region (see {@link createAcmDiscoveryClient}). */
  readonly client: ACMClient;
  /** Certificates per page, 1 to 1,000 (default {@link ACM_PAGE_SIZE}). */
  readonly pageSize?: number;
}

/**
 * The `aws-acm` discovery source: every certificate ACM holds in one account and region, whatever its key type, type
 * (AMAZON_ISSUED, IMPORTED, PRIVATE) or status, as `x509-certificate` observations. One page is one ListCertificates
 * page; its marker is ACM's NextToken. Each certificate is then read with DescribeCertificate and
 * ListTagsForCertificate, four certificates at a time. A certificate deleted between the listing and its description
 * is left out. Any other failure (access denied, throttling past the client's retries) throws a
 * {@link DiscoveryReadError} naming the action.
 *
 * Calls: `acm:ListCertificates`, `acm:DescribeCertificate`, `acm:ListTagsForCertificate`. It never exports or gets a
 * certificate body or private key.
 */
export class AwsAcmSource implements DiscoverySource {
  readonly name = SOURCE;
  readonly global = false;
  readonly #client: ACMClient;
  readonly #pageSize: number;

  constructor(options: AwsAcmSourceOptions) {
    this.#client = options.client;
    this.#pageSize = checkPageSize(options.pageSize ?? ACM_PAGE_SIZE, 1000);
  }

  async *pages(
    scope: DiscoveryScope,
    options: { readonly resumeFrom?: string | undefined } = {},
  ): AsyncIterable<ObservationPage> {
    await assertClientRegion(SOURCE, this.#client, scope);
    const listing = pagedListing(SOURCE, 'acm:ListCertificates', options.resumeFrom, async (token) => {
      const listed = await readAws(SOURCE, 'acm:ListCertificates', listSchema, () =>
        this.#client.send(
          new ListCertificatesCommand({
            Includes: { keyTypes: [...ACM_KEY_TYPES] },
            CertificateKeyPairOrigins: [...ACM_KEY_PAIR_ORIGINS],
            MaxItems: this.#pageSize,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        ),
      );
      return { page: listed.CertificateSummaryList, next: tokenAfter(listed.NextToken) };
    });
    for await (const { page, next } of listing) {
      const observed = await mapWithConcurrency(page, DESCRIBE_CONCURRENCY, (summary) =>
        this.#observe(summary.CertificateArn, scope),
      );
      yield {
        observations: observed.filter((observation): observation is Observation => observation !== undefined),
        marker: next,
      };
    }
  }

  async #observe(arn: string, scope: DiscoveryScope): Promise<Observation | undefined> {
    const described = await skipIfGone(
      readAws(SOURCE, 'acm:DescribeCertificate', detailSchema, () =>
        this.#client.send(new DescribeCertificateCommand({ CertificateArn: arn })),
      ),
      NOT_FOUND,
    );
    if (!described) return undefined;
    const tagged = await skipIfGone(
      readAws(SOURCE, 'acm:ListTagsForCertificate', tagsSchema, () =>
        this.#client.send(new ListTagsForCertificateCommand({ CertificateArn: arn })),
      ),
      NOT_FOUND,
    );
    if (!tagged) return undefined;
    const certificate = described.Certificate;
    return {
      source: SOURCE,
      type: 'x509-certificate',
      arn: certificate.CertificateArn,
      name: certificate.DomainName ?? certificate.CertificateArn,
      account: scope.account,
      region: scope.region,
      tags: Object.fromEntries(tagged.Tags.map((tag) => [tag.Key, tag.Value ?? ''])),
      facts: certificateFacts(certificate),
    };
  }
}

function certificateFacts(certificate: CertificateDetail): Facts {
  const iso = (date: Date | undefined) => (date === undefined ? null : date.toISOString());
  return {
    domainName: certificate.DomainName ?? null,
    subjectAlternativeNames: [...certificate.SubjectAlternativeNames].sort(),
    // ACM answers `RSA-2048`, `EC-prime256v1`… while its API enum (and the keyTypes filter) spells `RSA_2048`: the
    // fact uses the enum's spelling, so it matches what the filter and the documentation call the key type.
    keyAlgorithm: certificate.KeyAlgorithm === undefined ? null : certificate.KeyAlgorithm.replace('-', '_'),
    signatureAlgorithm: certificate.SignatureAlgorithm ?? null,
    serial: certificate.Serial ?? null,
    issuer: certificate.Issuer ?? null,
    notBefore: iso(certificate.NotBefore),
    notAfter: iso(certificate.NotAfter),
    status: certificate.Status,
    type: certificate.Type,
    inUseBy: [...certificate.InUseBy].sort(),
    renewalEligibility: certificate.RenewalEligibility ?? null,
    ...(certificate.RenewalSummary ? { renewalStatus: certificate.RenewalSummary.RenewalStatus } : {}),
    ...(certificate.CreatedAt ? { createdAt: certificate.CreatedAt.toISOString() } : {}),
    ...(certificate.ImportedAt ? { importedAt: certificate.ImportedAt.toISOString() } : {}),
    ...(certificate.IssuedAt ? { issuedAt: certificate.IssuedAt.toISOString() } : {}),
  };
}

/** Builds the `aws-acm` source for a composition root. */
export function createAwsAcmSource(options: AwsAcmSourceOptions): DiscoverySource {
  return new AwsAcmSource(options);
}

/**
 * The ACM client a composition root builds for one account and region, with that account's discovery role
 * credentials. Adaptive retry: ACM's rate limits are per account and region, shared with whatever else runs there,
 * so a throttled client also slows its later calls rather than only retrying the one that failed.
 */
export function createAcmDiscoveryClient(config: {
  readonly region: string;
  readonly credentials?: NonNullable<ACMClientConfig['credentials']>;
}): ACMClient {
  return new ACMClient({
    region: config.region,
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
    retryMode: 'adaptive',
    maxAttempts: 5,
  });
}
