import { OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  checkJsonContentType,
  FaultRegistry,
  JsonProtocolError,
  sigV4Authorization,
  startJsonProtocolServer,
} from './json-protocol-fake.ts';

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
const SIGV4_AUTHORIZATION = sigV4Authorization('organizations');

/** An error as Organizations answers it, with its `Reason` when it has one. */
function organizationsError(type: string, message: string, reason: string): JsonProtocolError {
  return new JsonProtocolError(type, message, 400, { Reason: reason });
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
  const faults = new FaultRegistry<{ type: string; status: number }>();

  // A token names the offset it continues from, plus a serial so that no two are alike (an empty page hands on a new
  // token for the same offset); a real one is opaque and tied to the caller, this one only to the call.
  let serial = 0;
  const token = (offset: number) => Buffer.from(`ListAccounts:${offset}:${++serial}`).toString('base64url');
  function offsetOf(value: unknown): number {
    if (value === undefined) return 0;
    const match =
      typeof value === 'string' && /^ListAccounts:(\d+):\d+$/.exec(Buffer.from(value, 'base64url').toString());
    if (!match) {
      throw organizationsError(
        'InvalidInputException',
        'You provided invalid pagination token.',
        'INVALID_PAGINATION_TOKEN',
      );
    }
    return Number(match[1]);
  }

  function listAccounts(body: Record<string, unknown>): unknown {
    const max = body.MaxResults ?? MAX_RESULTS;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
      throw organizationsError(
        'InvalidInputException',
        `MaxResults must be between 1 and ${MAX_RESULTS}.`,
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

  const server = await startJsonProtocolServer({
    targetPrefix: TARGET_PREFIX.slice(0, -1),
    internalErrorType: 'ServiceException',
    messageMember: 'Message',
    record: ({ targetHeader, body }) => {
      const record: RecordedOrganizationsRequest = { target: targetOf(targetHeader), body, status: 200 };
      requests.push(record);
      return record;
    },
    handle: ({ req, targetHeader, body }) => {
      if (req.method !== 'POST' || req.url !== '/') throw new JsonProtocolError('UnknownOperationException', 'POST /.');
      const authorization = req.headers.authorization;
      if (authorization === undefined || !SIGV4_AUTHORIZATION.test(authorization)) {
        throw new JsonProtocolError('IncompleteSignatureException', 'The request is not signed with SigV4.');
      }
      checkJsonContentType(req);
      const fault = faults.take();
      if (fault) throw new JsonProtocolError(fault.type, faultMessage(fault.type), fault.status);
      if (targetOf(targetHeader) !== 'ListAccounts') {
        throw new JsonProtocolError('UnknownOperationException', `This fake does not implement ${targetHeader}.`);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new JsonProtocolError('SerializationException', 'Body is not a JSON object.');
      }
      return listAccounts(body as Record<string, unknown>);
    },
  });

  function faultMessage(type: string): string {
    if (type === 'AccessDeniedException') return "You don't have permissions to access this resource.";
    if (type === 'AWSOrganizationsNotInUseException') {
      return 'Your account is not a member of an organization.';
    }
    if (type === 'TooManyRequestsException')
      return "AWS Organizations can't complete your request because of a rate limit.";
    return `Injected ${type}`;
  }

  return {
    endpoint: server.endpoint,
    accounts,
    requests,
    scriptPages: (sizes) => {
      pageScript = [...sizes];
    },
    deny: () => faults.add({ type: 'AccessDeniedException', status: 400 }, Number.POSITIVE_INFINITY),
    fail: (type, failure = {}) =>
      faults.add({ type, status: failure.status ?? 400 }, failure.times ?? Number.POSITIVE_INFINITY),
    reset: () => {
      requests.length = 0;
      pageScript = [];
      faults.clear();
    },
    close: server.close,
  };
}

/** The operation an `X-Amz-Target` names, or the header itself when it lacks the prefix. */
function targetOf(targetHeader: string): string {
  return targetHeader.startsWith(TARGET_PREFIX) ? targetHeader.slice(TARGET_PREFIX.length) : targetHeader;
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
