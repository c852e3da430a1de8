import { ACMClient, type ACMClientConfig } from '@aws-sdk/client-acm';
import { z } from 'zod';
import {
  decodeOffsetToken,
  describeIssues,
  encodeOffsetToken,
  epochSecondsOf,
  injectedErrorMessage,
  JsonProtocolError,
  type OperationFailureRule,
  OperationFaults,
  recordRequestsInto,
  startOperationServer,
} from './json-protocol-fake.ts';

/** ACM's key types, as the API enum (and the `keyTypes` filter) spells them. */
export const FAKE_ACM_KEY_TYPES = [
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1',
] as const;
export type FakeAcmKeyType = (typeof FAKE_ACM_KEY_TYPES)[number];
const STATUSES = [
  'PENDING_VALIDATION',
  'ISSUED',
  'INACTIVE',
  'EXPIRED',
  'VALIDATION_TIMED_OUT',
  'REVOKED',
  'FAILED',
] as const;
const KEY_PAIR_ORIGINS = ['AWS_MANAGED', 'CUSTOMER_PROVIDED', 'ACME'] as const;
export type FakeAcmKeyPairOrigin = (typeof KEY_PAIR_ORIGINS)[number];

/** One certificate of the estate the fake serves. Dates are what ACM would answer; absent ones are left out. */
export interface FakeAcmCertificate {
  readonly arn: string;
  readonly domainName: string;
  /** Default: the domain name alone, as ACM lists it. */
  readonly subjectAlternativeNames?: readonly string[];
  readonly keyAlgorithm: FakeAcmKeyType;
  readonly signatureAlgorithm?: string;
  readonly type: 'AMAZON_ISSUED' | 'IMPORTED' | 'PRIVATE';
  /** Default ISSUED. */
  readonly status?: (typeof STATUSES)[number];
  /** Default CUSTOMER_PROVIDED for IMPORTED, else AWS_MANAGED. */
  readonly keyPairOrigin?: FakeAcmKeyPairOrigin;
  readonly serial?: string;
  readonly subject?: string;
  readonly issuer?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly createdAt?: Date;
  readonly importedAt?: Date;
  readonly issuedAt?: Date;
  readonly inUseBy?: readonly string[];
  /** Default INELIGIBLE. */
  readonly renewalEligibility?: 'ELIGIBLE' | 'INELIGIBLE';
  readonly renewalStatus?: 'PENDING_AUTO_RENEWAL' | 'PENDING_VALIDATION' | 'SUCCESS' | 'FAILED';
  readonly certificateAuthorityArn?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** A request as the fake received it: the operation from `X-Amz-Target`, the parsed body and the status answered. */
export interface RecordedAcmRequest {
  readonly target: string;
  readonly body: unknown;
  readonly status: number;
}

/** Fails requests to one operation (or any) with an error, `times` times (default once; `Infinity` for always). */
export type AcmFailureRule = OperationFailureRule;

export interface FakeAcm {
  /** `http://127.0.0.1:<port>`, for `new ACMClient({ endpoint })`. */
  readonly endpoint: string;
  /** The estate, in listing order; tests may change it between calls. */
  readonly certificates: FakeAcmCertificate[];
  /** Every request received, oldest first. */
  readonly requests: RecordedAcmRequest[];
  failRequests(rule: AcmFailureRule): void;
  /** Answers the next `times` calls of `target` with ThrottlingException, as ACM does past its rate limit. */
  throttle(target: string, times?: number): void;
  /** Answers every later call of `target` with AccessDeniedException, as for a role whose policy lacks the action. */
  deny(target: string): void;
  /** Forgets recorded requests and failure rules (not the estate). */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeAcmOptions {
  readonly certificates?: readonly FakeAcmCertificate[];
  /**
   * Serve at most this many certificates a page whatever MaxItems says, with a NextToken while more remain: ACM may
   * answer short pages, and a client must page on the token, not on the count.
   */
  readonly maxPageSize?: number;
}

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
/** ListCertificates' page when MaxItems is absent. */
const DEFAULT_MAX_ITEMS = 1000;
/** ListCertificates' filter when `Includes.keyTypes` is absent: "Default filtering returns only RSA_1024 and RSA_2048". */
const DEFAULT_KEY_TYPES: readonly FakeAcmKeyType[] = ['RSA_1024', 'RSA_2048'];
/** ListCertificates' filter when `CertificateKeyPairOrigins` is absent. */
const DEFAULT_KEY_PAIR_ORIGINS: readonly FakeAcmKeyPairOrigin[] = ['AWS_MANAGED', 'CUSTOMER_PROVIDED'];
const CERTIFICATE_ARN = /^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/;

/**
 * The request members the fake implements; `strictObject` refuses any other, so that a member the client sends and
 * the fake would silently ignore (a filter it does not apply) fails the test instead.
 */
const schemas = {
  ListCertificates: z.strictObject({
    CertificateStatuses: z.array(z.enum(STATUSES)).optional(),
    CertificateKeyPairOrigins: z.array(z.enum(KEY_PAIR_ORIGINS)).optional(),
    Includes: z.strictObject({ keyTypes: z.array(z.enum(FAKE_ACM_KEY_TYPES)).optional() }).optional(),
    NextToken: z.string().min(1).max(10000).optional(),
    MaxItems: z.number().int().min(1).max(1000).optional(),
  }),
  DescribeCertificate: z.strictObject({ CertificateArn: z.string().min(20).max(2048) }),
  ListTagsForCertificate: z.strictObject({ CertificateArn: z.string().min(20).max(2048) }),
};

/**
 * Starts an AWS Certificate Manager stand-in on 127.0.0.1 speaking the JSON 1.1 protocol the SDK uses (`POST /`,
 * `X-Amz-Target: CertificateManager.<Operation>`, timestamps as epoch seconds, errors as `{"__type", "message"}` with
 * status 400). It serves a test-given estate through ListCertificates (MaxItems and NextToken paging, short pages on
 * request; ACM's default filters when `Includes.keyTypes` or `CertificateKeyPairOrigins` is absent: RSA_1024 and
 * RSA_2048 only, AWS_MANAGED and CUSTOMER_PROVIDED only), DescribeCertificate and ListTagsForCertificate. Key
 * algorithms come back spelled as ACM answers them (`RSA-2048`, `EC-prime256v1`), not as its enum. Tests inject
 * throttling and access denial per operation. The SigV4 `Authorization` header is checked for shape only.
 */
export async function startFakeAcm(options: FakeAcmOptions = {}): Promise<FakeAcm> {
  const certificates = [...(options.certificates ?? [])];
  const requests: RecordedAcmRequest[] = [];
  const faults = new OperationFaults(defaultMessage);

  function find(arn: string): FakeAcmCertificate {
    if (!CERTIFICATE_ARN.test(arn))
      throw new JsonProtocolError('InvalidArnException', `String '${arn}' is not a valid ARN.`);
    const certificate = certificates.find((candidate) => candidate.arn === arn);
    if (!certificate) {
      throw new JsonProtocolError(
        'ResourceNotFoundException',
        `Could not find certificate ${arn} in account ${ACCOUNT}.`,
      );
    }
    return certificate;
  }

  function listCertificates(request: z.infer<typeof schemas.ListCertificates>): unknown {
    const keyTypes = request.Includes?.keyTypes ?? DEFAULT_KEY_TYPES;
    const origins = request.CertificateKeyPairOrigins ?? DEFAULT_KEY_PAIR_ORIGINS;
    const matching = certificates.filter(
      (certificate) =>
        keyTypes.includes(certificate.keyAlgorithm) &&
        origins.includes(originOf(certificate)) &&
        (request.CertificateStatuses === undefined || request.CertificateStatuses.includes(statusOf(certificate))),
    );
    const offset = request.NextToken === undefined ? 0 : decodeToken(request.NextToken);
    const size = Math.min(request.MaxItems ?? DEFAULT_MAX_ITEMS, options.maxPageSize ?? Number.POSITIVE_INFINITY);
    const page = matching.slice(offset, offset + size);
    const end = offset + page.length;
    return {
      CertificateSummaryList: page.map(summaryOf),
      ...(end < matching.length ? { NextToken: encodeOffsetToken(end) } : {}),
    };
  }

  function handle(operation: string, body: unknown): unknown {
    switch (operation) {
      case 'ListCertificates':
        return listCertificates(parse(schemas.ListCertificates, body));
      case 'DescribeCertificate':
        return { Certificate: detailOf(find(parse(schemas.DescribeCertificate, body).CertificateArn)) };
      case 'ListTagsForCertificate': {
        const certificate = find(parse(schemas.ListTagsForCertificate, body).CertificateArn);
        return { Tags: Object.entries(certificate.tags ?? {}).map(([Key, Value]) => ({ Key, Value })) };
      }
      default:
        throw new JsonProtocolError('UnknownOperationException', `This fake does not implement ${operation}.`);
    }
  }

  const server = await startOperationServer({
    targetPrefix: 'CertificateManager',
    signingName: 'acm',
    internalErrorType: 'InternalServerException',
    record: recordRequestsInto(requests),
    faults,
    handle,
  });

  return {
    endpoint: server.endpoint,
    certificates,
    requests,
    failRequests: faults.failRequests,
    throttle: faults.throttle,
    deny: faults.deny,
    reset: () => {
      requests.length = 0;
      faults.clear();
    },
    close: server.close,
  };
}

function statusOf(certificate: FakeAcmCertificate) {
  return certificate.status ?? 'ISSUED';
}

function originOf(certificate: FakeAcmCertificate): FakeAcmKeyPairOrigin {
  return certificate.keyPairOrigin ?? (certificate.type === 'IMPORTED' ? 'CUSTOMER_PROVIDED' : 'AWS_MANAGED');
}

/** ACM answers key algorithms with a hyphen (`RSA-2048`, `EC-prime256v1`) where its enum has an underscore. */
function answeredKeyAlgorithm(keyType: FakeAcmKeyType): string {
  return keyType.replace('_', '-');
}

function summaryOf(certificate: FakeAcmCertificate): unknown {
  const names = certificate.subjectAlternativeNames ?? [certificate.domainName];
  return {
    CertificateArn: certificate.arn,
    DomainName: certificate.domainName,
    SubjectAlternativeNameSummaries: names.slice(0, 100),
    HasAdditionalSubjectAlternativeNames: names.length > 100,
    Status: statusOf(certificate),
    Type: certificate.type,
    KeyAlgorithm: answeredKeyAlgorithm(certificate.keyAlgorithm),
    KeyUsages: ['DIGITAL_SIGNATURE', 'KEY_ENCIPHERMENT'],
    ExtendedKeyUsages: ['TLS_WEB_SERVER_AUTHENTICATION'],
    InUse: (certificate.inUseBy ?? []).length > 0,
    RenewalEligibility: certificate.renewalEligibility ?? 'INELIGIBLE',
    CertificateKeyPairOrigin: originOf(certificate),
    ...epochSecondsOf({
      NotBefore: certificate.notBefore,
      NotAfter: certificate.notAfter,
      CreatedAt: certificate.createdAt,
      IssuedAt: certificate.issuedAt,
      ImportedAt: certificate.importedAt,
    }),
  };
}

function detailOf(certificate: FakeAcmCertificate): unknown {
  return {
    CertificateArn: certificate.arn,
    DomainName: certificate.domainName,
    SubjectAlternativeNames: certificate.subjectAlternativeNames ?? [certificate.domainName],
    ...(certificate.type === 'AMAZON_ISSUED'
      ? {
          DomainValidationOptions: (certificate.subjectAlternativeNames ?? [certificate.domainName]).map((name) => ({
            DomainName: name,
            ValidationDomain: name,
            ValidationStatus: 'SUCCESS',
            ValidationMethod: 'DNS',
          })),
        }
      : {}),
    ...(certificate.serial === undefined ? {} : { Serial: certificate.serial }),
    Subject: certificate.subject ?? `CN=${certificate.domainName}`,
    ...(certificate.issuer === undefined ? {} : { Issuer: certificate.issuer }),
    ...epochSecondsOf({
      CreatedAt: certificate.createdAt,
      IssuedAt: certificate.issuedAt,
      ImportedAt: certificate.importedAt,
      NotBefore: certificate.notBefore,
      NotAfter: certificate.notAfter,
    }),
    Status: statusOf(certificate),
    KeyAlgorithm: answeredKeyAlgorithm(certificate.keyAlgorithm),
    ...(certificate.signatureAlgorithm === undefined ? {} : { SignatureAlgorithm: certificate.signatureAlgorithm }),
    InUseBy: [...(certificate.inUseBy ?? [])],
    Type: certificate.type,
    ...(certificate.renewalStatus === undefined
      ? {}
      : {
          RenewalSummary: {
            RenewalStatus: certificate.renewalStatus,
            DomainValidationOptions: [],
            UpdatedAt: (certificate.issuedAt ?? certificate.createdAt ?? new Date(0)).getTime() / 1000,
          },
        }),
    KeyUsages: [{ Name: 'DIGITAL_SIGNATURE' }, { Name: 'KEY_ENCIPHERMENT' }],
    ExtendedKeyUsages: [{ Name: 'TLS_WEB_SERVER_AUTHENTICATION', OID: '1.3.6.1.5.5.7.3.1' }],
    ...(certificate.certificateAuthorityArn === undefined
      ? {}
      : { CertificateAuthorityArn: certificate.certificateAuthorityArn }),
    RenewalEligibility: certificate.renewalEligibility ?? 'INELIGIBLE',
    Options: { CertificateTransparencyLoggingPreference: 'ENABLED' },
    CertificateKeyPairOrigin: originOf(certificate),
  };
}

/** NextToken: opaque to the client, here the offset of the next page. */
function decodeToken(token: string): number {
  const offset = decodeOffsetToken(token);
  if (offset === undefined) throw new JsonProtocolError('InvalidArgsException', 'The NextToken is not valid.');
  return offset;
}

function defaultMessage(errorType: string, target: string): string {
  return injectedErrorMessage(errorType, ACCOUNT, `acm:${target}`, '*');
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new JsonProtocolError(
      'ValidationException',
      `${result.error.issues.length} validation error(s) detected: ${describeIssues(result.error)}`,
    );
  }
  return result.data;
}

/** Credentials the SDK signs requests to the fake with: any will do, and none is real. */
export const FAKE_ACM_CREDENTIALS = {
  accessKeyId: 'AKIAFAKEACMTEST00000',
  secretAccessKey: 'fake-acm-test-secret',
} as const;

/**
 * The real SDK client aimed at the fake, in the fake's region. One attempt unless a `retryStrategy` is given, so that
 * a failure is asserted on at once.
 */
export function fakeAcmClient(endpoint: string, config: Pick<ACMClientConfig, 'retryStrategy'> = {}): ACMClient {
  return new ACMClient({
    endpoint,
    region: REGION,
    credentials: FAKE_ACM_CREDENTIALS,
    ...(config.retryStrategy === undefined ? { maxAttempts: 1 } : { retryStrategy: config.retryStrategy }),
  });
}
