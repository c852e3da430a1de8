import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrganizationsClient } from '@aws-sdk/client-organizations';

/** A member account as a test writes it. */
export interface FakeOrganizationAccount {
  readonly id: string;
  /** Default `account-<id>`. */
  readonly name?: string;
  /**
   * The older field (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`), being retired; absent: left out of the answer, as the
   * service will once it is gone.
   */
  readonly status?: string;
  /** The newer field (`ACTIVE`, `SUSPENDED`, `PENDING_ACTIVATION`, `PENDING_CLOSURE`, `CLOSED`); absent: left out. */
  readonly state?: string;
}

/** A request as the fake received it: the operation from `X-Amz-Target`, the parsed body and the status answered. */
export interface RecordedOrganizationsRequest {
  readonly target: string;
  readonly body: unknown;
  status: number;
}

export interface FakeOrganizations {
  /** `http://127.0.0.1:<port>`, for `new OrganizationsClient({ endpoint })`. */
  readonly endpoint: string;
  /** The organization's accounts in the order the service lists them; a test may change it. */
  readonly accounts: FakeOrganizationAccount[];
  readonly requests: RecordedOrganizationsRequest[];
  /**
   * Sizes of the next ListAccounts pages, one per page (0: an empty page that still carries a NextToken), whatever
   * MaxResults asked; after them, pages are MaxResults long.
   */
  scriptPages(sizes: readonly number[]): void;
  /** Refuses every ListAccounts with AccessDeniedException, as for a member account that is not a delegated admin. */
  deny(): void;
  /** Fails the next `times` (default: every) requests with the error `type` (HTTP 400 unless `status`). */
  fail(type: string, options?: { readonly status?: number; readonly times?: number }): void;
  /** Forgets requests, page scripts and faults; keeps the accounts. */
  reset(): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'AWSOrganizationsV20161128.';
/** ListAccounts' MaxResults range. */
const MAX_RESULTS = 20;
const SIGV4_AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/organizations\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/;

class OrganizationsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * Starts an AWS Organizations stand-in on 127.0.0.1 speaking the JSON 1.1 protocol the SDK uses (`POST /`,
 * `X-Amz-Target: AWSOrganizationsV20161128.<Operation>`, errors as `{"__type", "Message"}` with status 400).
 * Implements ListAccounts over the given accounts: MaxResults 1 to 20, an opaque NextToken, pages as short (or empty)
 * as a test scripts them, each account with `Status` and/or `State` as given. Access denial and other errors can be
 * injected. The SigV4 `Authorization` header is checked for shape, not for a valid signature.
 */
export async function startFakeOrganizations(options: {
  readonly managementAccount: string;
  readonly accounts: readonly FakeOrganizationAccount[];
}): Promise<FakeOrganizations> {
  const organizationId = 'o-fake0example';
  const accounts: FakeOrganizationAccount[] = [...options.accounts];
  const requests: RecordedOrganizationsRequest[] = [];
  let pageScript: number[] = [];
  let faults: Array<{ type: string; status: number; remaining: number }> = [];

  // A token names the offset it continues from, plus a serial so that no two are alike (an empty page hands on a new
  // token for the same offset); a real one is opaque and tied to the caller, this one only to the call.
  let serial = 0;
  const token = (offset: number) => Buffer.from(`ListAccounts:${offset}:${++serial}`).toString('base64url');
  function offsetOf(value: unknown): number {
    if (value === undefined) return 0;
    const match =
      typeof value === 'string' && /^ListAccounts:(\d+):\d+$/.exec(Buffer.from(value, 'base64url').toString());
    if (!match) {
      throw new OrganizationsError(
        'InvalidInputException',
        'You provided invalid pagination token.',
        400,
        'INVALID_PAGINATION_TOKEN',
      );
    }
    return Number(match[1]);
  }

  function listAccounts(body: Record<string, unknown>): unknown {
    const max = body.MaxResults ?? MAX_RESULTS;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
      throw new OrganizationsError(
        'InvalidInputException',
        `MaxResults must be between 1 and ${MAX_RESULTS}.`,
        400,
        typeof max === 'number' && max < 1 ? 'MIN_VALUE_EXCEEDED' : 'MAX_VALUE_EXCEEDED',
      );
    }
    const offset = offsetOf(body.NextToken);
    const size = pageScript.shift() ?? max;
    const slice = accounts.slice(offset, offset + size);
    const next = offset + slice.length;
    return {
      Accounts: slice.map((account) => ({
        Id: account.id,
        Arn: `arn:aws:organizations::${options.managementAccount}:account/${organizationId}/${account.id}`,
        Email: `aws+${account.id}@example.com`,
        Name: account.name ?? `account-${account.id}`,
        ...(account.status === undefined ? {} : { Status: account.status }),
        ...(account.state === undefined ? {} : { State: account.state }),
        JoinedMethod: account.id === options.managementAccount ? 'CREATED' : 'INVITED',
        // JSON 1.1 sends timestamps as epoch seconds.
        JoinedTimestamp: Date.UTC(2024, 0, 1) / 1000,
      })),
      ...(next < accounts.length ? { NextToken: token(next) } : {}),
    };
  }

  async function respond(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const text = await readBody(req);
    const targetHeader = String(req.headers['x-amz-target']);
    const target = targetHeader.startsWith(TARGET_PREFIX) ? targetHeader.slice(TARGET_PREFIX.length) : targetHeader;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const record: RecordedOrganizationsRequest = { target, body, status: 200 };
    requests.push(record);
    try {
      if (req.method !== 'POST' || req.url !== '/')
        throw new OrganizationsError('UnknownOperationException', 'POST /.');
      const authorization = req.headers.authorization;
      if (authorization === undefined || !SIGV4_AUTHORIZATION.test(authorization)) {
        throw new OrganizationsError('IncompleteSignatureException', 'The request is not signed with SigV4.');
      }
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1') {
        throw new OrganizationsError('SerializationException', 'Content-Type must be application/x-amz-json-1.1.');
      }
      const fault = faults.find((f) => f.remaining > 0);
      if (fault) {
        fault.remaining--;
        throw new OrganizationsError(fault.type, faultMessage(fault.type), fault.status);
      }
      if (target !== 'ListAccounts') {
        throw new OrganizationsError('UnknownOperationException', `This fake does not implement ${targetHeader}.`);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new OrganizationsError('SerializationException', 'Body is not a JSON object.');
      }
      return { status: 200, body: listAccounts(body as Record<string, unknown>) };
    } catch (error) {
      const known = error instanceof OrganizationsError;
      record.status = known ? error.status : 500;
      return {
        status: record.status,
        body: {
          __type: known ? error.type : 'ServiceException',
          Message: known ? error.message : String(error),
          ...(known && error.reason !== undefined ? { Reason: error.reason } : {}),
        },
      };
    }
  }

  function faultMessage(type: string): string {
    if (type === 'AccessDeniedException') return "You don't have permissions to access this resource.";
    if (type === 'AWSOrganizationsNotInUseException') {
      return 'Your account is not a member of an organization.';
    }
    if (type === 'TooManyRequestsException')
      return "AWS Organizations can't complete your request because of a rate limit.";
    return `Injected ${type}`;
  }

  const server = createServer((req, res) => {
    respond(req).then(
      ({ status, body }) => {
        res
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() })
          .end(JSON.stringify(body));
      },
      // Only reading the body can fail here (the client went away); there is nobody left to answer.
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    accounts,
    requests,
    scriptPages: (sizes) => {
      pageScript = [...sizes];
    },
    deny: () => {
      faults.push({ type: 'AccessDeniedException', status: 400, remaining: Number.POSITIVE_INFINITY });
    },
    fail: (type, failure = {}) => {
      faults.push({
        type,
        status: failure.status ?? 400,
        remaining: failure.times ?? Number.POSITIVE_INFINITY,
      });
    },
    reset: () => {
      requests.length = 0;
      pageScript = [];
      faults = [];
    },
    close: async () => {
      // The SDK keeps connections alive; close() alone would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Credentials the SDK signs requests to the fake with: any will do, and none is real. */
export const FAKE_ORGANIZATIONS_CREDENTIALS = {
  accessKeyId: 'AKIAFAKEORGSTEST0000',
  secretAccessKey: 'fake-organizations-test-secret',
} as const;

/** The real SDK client aimed at the fake. One attempt, so that a failure is asserted on at once. */
export function fakeOrganizationsClient(endpoint: string): OrganizationsClient {
  return new OrganizationsClient({
    endpoint,
    region: 'us-east-1',
    credentials: FAKE_ORGANIZATIONS_CREDENTIALS,
    maxAttempts: 1,
  });
}
