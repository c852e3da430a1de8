import { AccessDeniedException, DescribeCertificateCommand, ListCertificatesCommand } from '@aws-sdk/client-acm';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ACM_KEY_TYPES,
  AwsAcmSource,
  createAcmDiscoveryClient,
  createAwsAcmSource,
} from '#lib/adapters/discovery/aws-acm-source.ts';
import { DiscoveryReadError } from '#lib/adapters/discovery/discovery-read-error.ts';
import type { Observation } from '#lib/domain/discovery.ts';
import type { DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import { type FakeAcm, type FakeAcmCertificate, fakeAcmClient, startFakeAcm } from '#test/support/fake-acm-server.ts';

const SCOPE = { account: '111122223333', region: 'us-east-1' };
const arn = (id: string) => `arn:aws:acm:us-east-1:111122223333:certificate/${id}`;
const ALB = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188';
const CLOUDFRONT = 'arn:aws:cloudfront::111122223333:distribution/E2QWRUHAPOMQZL';

/** Public certificate issued by ACM, in use, renewed by ACM. */
const PUBLIC_RSA: FakeAcmCertificate = {
  arn: arn('4f2f2c8a-0c39-4d5b-9d1e-3f1c2a7b9e01'),
  domainName: 'www.example.com',
  subjectAlternativeNames: ['www.example.com', 'example.com'],
  keyAlgorithm: 'RSA_2048',
  signatureAlgorithm: 'SHA256WITHRSA',
  type: 'AMAZON_ISSUED',
  serial: '0f:ac:b0:a3:8d:ea:65:52:2d:7d:01:3a:39:36:db:d6',
  issuer: 'Amazon',
  createdAt: new Date('2026-03-01T09:15:02.250Z'),
  issuedAt: new Date('2026-03-01T09:16:40Z'),
  notBefore: new Date('2026-03-01T00:00:00Z'),
  notAfter: new Date('2027-03-30T23:59:59Z'),
  inUseBy: [CLOUDFRONT, ALB],
  renewalEligibility: 'ELIGIBLE',
  renewalStatus: 'SUCCESS',
  tags: { owner: 'web-platform', env: 'prod' },
};

/** Imported EC certificate: ListCertificates leaves it out unless asked for every key type. */
const IMPORTED_EC: FakeAcmCertificate = {
  arn: arn('9b1e5c7d-2a4f-4e8b-a6c3-0d5f7e9a1b23'),
  domainName: 'api.partner.example',
  keyAlgorithm: 'EC_prime256v1',
  signatureAlgorithm: 'SHA256WITHECDSA',
  type: 'IMPORTED',
  serial: '5a:01:33:7c',
  issuer: 'Partner Issuing CA 2',
  createdAt: new Date('2026-05-10T12:00:00Z'),
  importedAt: new Date('2026-05-10T12:00:00Z'),
  notBefore: new Date('2026-05-09T00:00:00Z'),
  notAfter: new Date('2026-11-05T00:00:00Z'),
};

/** Private certificate from AWS Private CA, not yet in use. */
const PRIVATE_RSA: FakeAcmCertificate = {
  arn: arn('0c7a3e91-5b2d-4f60-8e14-7a9b2c4d6e8f'),
  domainName: 'billing.internal.example',
  subjectAlternativeNames: ['billing.internal.example'],
  keyAlgorithm: 'RSA_2048',
  signatureAlgorithm: 'SHA256WITHRSA',
  type: 'PRIVATE',
  serial: '1d:22:9e',
  issuer: 'Example Internal Issuing CA',
  certificateAuthorityArn: 'arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/5f2a',
  createdAt: new Date('2026-06-01T08:00:00Z'),
  issuedAt: new Date('2026-06-01T08:00:05Z'),
  notBefore: new Date('2026-06-01T07:00:00Z'),
  notAfter: new Date('2027-07-01T08:00:00Z'),
  renewalEligibility: 'INELIGIBLE',
  tags: { team: 'billing' },
};

const ESTATE = [PUBLIC_RSA, IMPORTED_EC, PRIVATE_RSA];

const EXPECTED: Observation[] = [
  {
    source: 'aws-acm',
    type: 'x509-certificate',
    arn: PUBLIC_RSA.arn,
    name: 'www.example.com',
    account: SCOPE.account,
    region: SCOPE.region,
    tags: { owner: 'web-platform', env: 'prod' },
    facts: {
      domainName: 'www.example.com',
      subjectAlternativeNames: ['example.com', 'www.example.com'],
      keyAlgorithm: 'RSA_2048',
      signatureAlgorithm: 'SHA256WITHRSA',
      serial: '0f:ac:b0:a3:8d:ea:65:52:2d:7d:01:3a:39:36:db:d6',
      issuer: 'Amazon',
      notBefore: '2026-03-01T00:00:00.000Z',
      notAfter: '2027-03-30T23:59:59.000Z',
      status: 'ISSUED',
      type: 'AMAZON_ISSUED',
      inUseBy: [CLOUDFRONT, ALB].sort(),
      renewalEligibility: 'ELIGIBLE',
      renewalStatus: 'SUCCESS',
      createdAt: '2026-03-01T09:15:02.250Z',
      issuedAt: '2026-03-01T09:16:40.000Z',
    },
  },
  {
    source: 'aws-acm',
    type: 'x509-certificate',
    arn: IMPORTED_EC.arn,
    name: 'api.partner.example',
    account: SCOPE.account,
    region: SCOPE.region,
    tags: {},
    facts: {
      domainName: 'api.partner.example',
      subjectAlternativeNames: ['api.partner.example'],
      keyAlgorithm: 'EC_prime256v1',
      signatureAlgorithm: 'SHA256WITHECDSA',
      serial: '5a:01:33:7c',
      issuer: 'Partner Issuing CA 2',
      notBefore: '2026-05-09T00:00:00.000Z',
      notAfter: '2026-11-05T00:00:00.000Z',
      status: 'ISSUED',
      type: 'IMPORTED',
      inUseBy: [],
      renewalEligibility: 'INELIGIBLE',
      createdAt: '2026-05-10T12:00:00.000Z',
      importedAt: '2026-05-10T12:00:00.000Z',
    },
  },
  {
    source: 'aws-acm',
    type: 'x509-certificate',
    arn: PRIVATE_RSA.arn,
    name: 'billing.internal.example',
    account: SCOPE.account,
    region: SCOPE.region,
    tags: { team: 'billing' },
    facts: {
      domainName: 'billing.internal.example',
      subjectAlternativeNames: ['billing.internal.example'],
      keyAlgorithm: 'RSA_2048',
      signatureAlgorithm: 'SHA256WITHRSA',
      serial: '1d:22:9e',
      issuer: 'Example Internal Issuing CA',
      notBefore: '2026-06-01T07:00:00.000Z',
      notAfter: '2027-07-01T08:00:00.000Z',
      status: 'ISSUED',
      type: 'PRIVATE',
      inUseBy: [],
      renewalEligibility: 'INELIGIBLE',
      createdAt: '2026-06-01T08:00:00.000Z',
      issuedAt: '2026-06-01T08:00:05.000Z',
    },
  },
];

/** A client that retries at once: the fake's throttling is injected, there is no rate to back off from. */
const fastRetries = () => new ConfiguredRetryStrategy(4, 1);

async function collect(source: DiscoverySource, options: { resumeFrom?: string } = {}): Promise<ObservationPage[]> {
  const pages: ObservationPage[] = [];
  for await (const page of source.pages(SCOPE, options)) pages.push(page);
  return pages;
}

let acm: FakeAcm;
let client: ReturnType<typeof fakeAcmClient>;

beforeAll(async () => {
  acm = await startFakeAcm({ certificates: ESTATE });
  client = fakeAcmClient(acm.endpoint);
});

afterEach(() => acm.reset());

afterAll(async () => {
  client.destroy();
  await acm.close();
});

describe('the fake ACM, through the real SDK client', () => {
  it('applies ACM default filter: without Includes.keyTypes only RSA_1024 and RSA_2048 certificates come back', async () => {
    const listed = await client.send(new ListCertificatesCommand({}));
    expect(listed.CertificateSummaryList?.map((summary) => summary.CertificateArn)).toEqual([
      PUBLIC_RSA.arn,
      PRIVATE_RSA.arn,
    ]);
    const all = await client.send(new ListCertificatesCommand({ Includes: { keyTypes: [...ACM_KEY_TYPES] } }));
    expect(all.CertificateSummaryList).toHaveLength(3);
    // The SDK turns the epoch seconds into Dates; key algorithms come spelled as ACM answers them.
    expect(all.CertificateSummaryList?.[1]).toMatchObject({
      KeyAlgorithm: 'EC-prime256v1',
      Type: 'IMPORTED',
      NotAfter: new Date('2026-11-05T00:00:00Z'),
      ImportedAt: new Date('2026-05-10T12:00:00Z'),
    });
  });

  it('describes a certificate in the SDK shape and answers modelled errors', async () => {
    const described = await client.send(new DescribeCertificateCommand({ CertificateArn: PUBLIC_RSA.arn }));
    expect(described.Certificate).toMatchObject({
      CertificateArn: PUBLIC_RSA.arn,
      KeyAlgorithm: 'RSA-2048',
      CreatedAt: new Date('2026-03-01T09:15:02.250Z'),
      RenewalSummary: { RenewalStatus: 'SUCCESS' },
      InUseBy: [CLOUDFRONT, ALB],
    });
    acm.deny('DescribeCertificate');
    await expect(
      client.send(new DescribeCertificateCommand({ CertificateArn: PUBLIC_RSA.arn })),
    ).rejects.toBeInstanceOf(AccessDeniedException);
  });
});

describe('AwsAcmSource', () => {
  it('observes every certificate, EC and imported and private ones included, with exact facts and tags', async () => {
    const source = createAwsAcmSource({ client });
    expect(source).toMatchObject({ name: 'aws-acm', global: false });

    const pages = await collect(source);
    expect(pages).toEqual([{ observations: EXPECTED, marker: undefined }]);

    const list = acm.requests.filter((request) => request.target === 'ListCertificates');
    expect(list.map((request) => request.body)).toEqual([
      {
        Includes: { keyTypes: [...ACM_KEY_TYPES] },
        CertificateKeyPairOrigins: ['AWS_MANAGED', 'CUSTOMER_PROVIDED', 'ACME'],
        MaxItems: 100,
      },
    ]);
    for (const target of ['DescribeCertificate', 'ListTagsForCertificate']) {
      const arns = acm.requests
        .filter((request) => request.target === target)
        .map((request) => (request.body as { CertificateArn: string }).CertificateArn);
      expect(arns.sort()).toEqual(ESTATE.map((certificate) => certificate.arn).sort());
    }
  });

  it('follows NextToken through short pages, and a run resumes after the page whose marker it was given', async () => {
    const short = await startFakeAcm({
      certificates: [
        ...ESTATE,
        { ...PRIVATE_RSA, arn: arn('11111111-1111-4111-8111-111111111111'), domainName: 'a.internal.example' },
        { ...PRIVATE_RSA, arn: arn('22222222-2222-4222-8222-222222222222'), domainName: 'b.internal.example' },
      ],
      maxPageSize: 2,
    });
    const shortClient = fakeAcmClient(short.endpoint);
    try {
      const source = new AwsAcmSource({ client: shortClient, pageSize: 3 });
      const pages = await collect(source);
      expect(pages.map((page) => page.observations.map((observation) => observation.name))).toEqual([
        ['www.example.com', 'api.partner.example'],
        ['billing.internal.example', 'a.internal.example'],
        ['b.internal.example'],
      ]);
      expect(pages.map((page) => page.marker === undefined)).toEqual([false, false, true]);
      expect(short.requests.filter((request) => request.target === 'ListCertificates')).toHaveLength(3);

      const resumed = await collect(source, { resumeFrom: pages[0]?.marker ?? '' });
      expect(resumed).toEqual(pages.slice(1));
      expect(short.requests.filter((request) => request.target === 'ListCertificates').at(-2)?.body).toMatchObject({
        NextToken: pages[0]?.marker,
        MaxItems: 3,
      });
    } finally {
      shortClient.destroy();
      await short.close();
    }
  });

  it('recovers from throttling with the client retries', async () => {
    const retrying = fakeAcmClient(acm.endpoint, { retryStrategy: fastRetries() });
    try {
      acm.throttle('ListCertificates', 2);
      acm.throttle('DescribeCertificate', 2);
      acm.throttle('ListTagsForCertificate', 1);
      const pages = await collect(createAwsAcmSource({ client: retrying }));
      expect(pages).toEqual([{ observations: EXPECTED, marker: undefined }]);
      expect(
        acm.requests.filter((request) => request.target === 'ListCertificates').map((request) => request.status),
      ).toEqual([400, 400, 200]);
    } finally {
      retrying.destroy();
    }
  });

  it.each([
    ['ListCertificates', 'acm:ListCertificates'],
    ['DescribeCertificate', 'acm:DescribeCertificate'],
    ['ListTagsForCertificate', 'acm:ListTagsForCertificate'],
  ])('throws a DiscoveryReadError naming %s when access is denied', async (target, action) => {
    acm.deny(target);
    const error = await collect(createAwsAcmSource({ client })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscoveryReadError);
    expect(error).toMatchObject({
      code: 'DISCOVERY_READ_FAILED',
      source: 'aws-acm',
      action,
      reason: 'AccessDeniedException',
      message: `aws-acm could not read: ${action} failed with AccessDeniedException.`,
    });
  });

  it('throws once throttling outlasts the client retries', async () => {
    acm.throttle('ListCertificates', 5);
    await expect(collect(createAwsAcmSource({ client }))).rejects.toMatchObject({
      action: 'acm:ListCertificates',
      reason: 'ThrottlingException',
    });
  });

  it('leaves out a certificate deleted between the listing and its description', async () => {
    acm.failRequests({ target: 'DescribeCertificate', errorType: 'ResourceNotFoundException', times: 1 });
    const [page] = await collect(createAwsAcmSource({ client }));
    expect(page?.observations).toHaveLength(2);
    expect(EXPECTED).toEqual(expect.arrayContaining([...(page?.observations ?? [])]));
  });

  it('refuses a scope in another region than its client, before any call', async () => {
    const pages = createAwsAcmSource({ client })
      .pages({ ...SCOPE, region: 'eu-west-1' })
      [Symbol.asyncIterator]();
    await expect(pages.next()).rejects.toMatchObject({ code: 'DISCOVERY_SCOPE_MISMATCH' });
    expect(acm.requests).toEqual([]);
  });

  it('builds its default client with adaptive retry', async () => {
    const built = createAcmDiscoveryClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' },
    });
    try {
      expect(await built.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
      expect(await built.config.region()).toBe('eu-west-1');
    } finally {
      built.destroy();
    }
  });
});
