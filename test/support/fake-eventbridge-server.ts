import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import {
  checkJsonProtocolRequest,
  describeIssues,
  FaultRegistry,
  JsonProtocolError,
  recordRequestsInto,
  sigV4Authorization,
  startJsonProtocolServer,
} from './json-protocol-fake.ts';

/** A request as the fake received it: the operation from `X-Amz-Target`, the parsed body and the status answered. */
export interface RecordedEventBridgeRequest {
  readonly target: string;
  readonly body: unknown;
  readonly status: number;
}

/** An entry the fake accepted onto a bus. */
export interface AcceptedBusEntry {
  /** The EventId the fake answered with. */
  readonly eventId: string;
  /** The entry's EventBusName as sent (a name or an ARN), `default` when it had none. */
  readonly eventBusName: string;
  readonly source: string;
  readonly detailType: string;
  /** The parsed Detail. */
  readonly detail: Record<string, unknown>;
  /** The entry's Time: the SDK sends epoch seconds. */
  readonly time: Date | undefined;
  readonly resources: readonly string[];
}

/** Fails the entries whose `Detail.eventId` is listed, `times` times each rule (default: every time). */
export interface EntryFailureRule {
  readonly eventIds: readonly string[];
  readonly errorCode: string;
  readonly errorMessage?: string;
  readonly times?: number;
}

/** Fails the next `times` requests (default 1) as a whole, before looking at them. */
export interface RequestFailureRule {
  readonly errorType: string;
  readonly message?: string;
  /** Default 500 for `Internal…` types, 503 for `ServiceUnavailable…`, else 400 (as throttling is in JSON 1.1). */
  readonly status?: number;
  readonly times?: number;
}

export interface FakeEventBridge {
  /** `http://127.0.0.1:<port>`, for `new EventBridgeClient({ endpoint })`. */
  readonly endpoint: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedEventBridgeRequest[];
  /** Every entry accepted, in the order accepted. */
  readonly accepted: AcceptedBusEntry[];
  failEntries(rule: EntryFailureRule): void;
  failRequests(rule: RequestFailureRule): void;
  /** Rewrites every later successful PutEvents answer (fault injection); `undefined` restores honest answers. */
  tamperResponses(transform: ((response: PutEventsAnswer) => unknown) | undefined): void;
  /** Forgets recorded requests and entries, failure rules and tampering. */
  reset(): void;
  close(): Promise<void>;
}

export interface PutEventsAnswer {
  FailedEntryCount: number;
  Entries: Array<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }>;
}

/** "The total entry size must be less than 256KB" (EventBridge User Guide, "Calculating PutEvents event entry size"). */
const SIZE_LIMIT = 256 * 1024;
const MAX_ENTRIES = 10;
const EVENT_BUS_NAME = /^(?:arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/;
const SIGV4_AUTHORIZATION = sigV4Authorization('events');

/** The members of a request entry with the types the API gives them; which are required is checked per entry. */
const entrySchema = z.object({
  Time: z.number().optional(),
  Source: z.string().optional(),
  Resources: z.array(z.string()).optional(),
  DetailType: z.string().optional(),
  Detail: z.string().optional(),
  EventBusName: z.string().min(1).max(1600).regex(EVENT_BUS_NAME).optional(),
  TraceHeader: z.string().min(1).max(500).optional(),
});
type RequestEntry = z.infer<typeof entrySchema>;
const putEventsSchema = z.object({
  Entries: z.array(entrySchema).min(1).max(MAX_ENTRIES),
  EndpointId: z.string().optional(),
});

/** The size EventBridge counts for an entry: Time 14 bytes, then the UTF-8 bytes of the strings. */
function entrySize(entry: RequestEntry): number {
  const utf8 = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    utf8(entry.Source) +
    utf8(entry.DetailType) +
    utf8(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + utf8(resource), 0)
  );
}

function parseDetail(detail: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(detail);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts an Amazon EventBridge stand-in on 127.0.0.1 speaking the JSON 1.1 protocol the SDK uses (`POST /`,
 * `X-Amz-Target: AWSEvents.<Operation>`, errors as `{"__type", "message"}`, status 400 for client errors and
 * throttling). Implements PutEvents as the service validates it: 1 to 10 entries and a total entry size below 256 KB
 * refuse the whole request (ValidationException); an entry without Source, DetailType or Detail fails alone with
 * `InvalidArgument`, one whose Detail is not a JSON object with `MalformedDetail`. Accepted entries are recorded with
 * their bus and get an EventId. Tests inject entry failures (by `Detail.eventId`) and whole-request errors.
 * The SigV4 `Authorization` header is checked for shape, not for a valid signature.
 */
export async function startFakeEventBridge(): Promise<FakeEventBridge> {
  const requests: RecordedEventBridgeRequest[] = [];
  const accepted: AcceptedBusEntry[] = [];
  const entryRules = new FaultRegistry<EntryFailureRule>();
  const requestRules = new FaultRegistry<RequestFailureRule>();
  let tamper: ((response: PutEventsAnswer) => unknown) | undefined;

  function injectedEntryFailure(detail: Record<string, unknown>): EntryFailureRule | undefined {
    const eventId = detail.eventId;
    return entryRules.take((rule) => typeof eventId === 'string' && rule.eventIds.includes(eventId));
  }

  function putEvents(body: unknown): PutEventsAnswer {
    const parsed = putEventsSchema.safeParse(body);
    if (!parsed.success) {
      throw new JsonProtocolError(
        'ValidationException',
        `${parsed.error.issues.length} validation error(s) detected: ${describeIssues(parsed.error)}`,
      );
    }
    const entries = parsed.data.Entries;
    if (entries.reduce((sum, entry) => sum + entrySize(entry), 0) >= SIZE_LIMIT) {
      throw new JsonProtocolError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const answers = entries.map((entry): PutEventsAnswer['Entries'][number] => {
      for (const name of ['Source', 'DetailType', 'Detail'] as const) {
        if (entry[name] === undefined) {
          return {
            ErrorCode: 'InvalidArgument',
            ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
          };
        }
      }
      const detail = parseDetail(entry.Detail ?? '');
      if (!detail) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      const injected = injectedEntryFailure(detail);
      if (injected) {
        return {
          ErrorCode: injected.errorCode,
          ErrorMessage: injected.errorMessage ?? `Injected ${injected.errorCode}`,
        };
      }
      const eventId = randomUUID();
      accepted.push({
        eventId,
        eventBusName: entry.EventBusName ?? 'default',
        source: entry.Source ?? '',
        detailType: entry.DetailType ?? '',
        detail,
        time: entry.Time === undefined ? undefined : new Date(entry.Time * 1000),
        resources: entry.Resources ?? [],
      });
      return { EventId: eventId };
    });
    return { FailedEntryCount: answers.filter((answer) => 'ErrorCode' in answer).length, Entries: answers };
  }

  const server = await startJsonProtocolServer({
    targetPrefix: 'AWSEvents',
    internalErrorType: 'InternalException',
    record: recordRequestsInto(requests),
    handle: ({ req, operation, targetHeader, body }) => {
      checkJsonProtocolRequest(req, SIGV4_AUTHORIZATION);
      const failure = requestRules.take();
      if (failure) {
        const { errorType, message, status } = failure;
        throw new JsonProtocolError(errorType, message ?? `Injected ${errorType}`, status ?? defaultStatus(errorType));
      }
      if (operation !== 'PutEvents') {
        throw new JsonProtocolError('UnknownOperationException', `This fake does not implement ${targetHeader}.`);
      }
      if (typeof body !== 'object' || body === null) {
        throw new JsonProtocolError('SerializationException', 'Body is not JSON.');
      }
      const answer = putEvents(body);
      return tamper ? tamper(answer) : answer;
    },
  });

  return {
    endpoint: server.endpoint,
    requests,
    accepted,
    failEntries: (rule) => entryRules.add(rule, rule.times ?? Number.POSITIVE_INFINITY),
    failRequests: (rule) => requestRules.add(rule, rule.times ?? 1),
    tamperResponses: (transform) => {
      tamper = transform;
    },
    reset: () => {
      requests.length = 0;
      accepted.length = 0;
      entryRules.clear();
      requestRules.clear();
      tamper = undefined;
    },
    close: server.close,
  };
}

function defaultStatus(errorType: string): number {
  if (errorType.startsWith('Internal')) return 500;
  if (errorType.startsWith('ServiceUnavailable')) return 503;
  return 400;
}

/** Credentials the SDK signs requests to the fake with: any will do, and none is real. */
export const FAKE_EVENTBRIDGE_CREDENTIALS = {
  accessKeyId: 'AKIAFAKEEVENTSTEST00',
  secretAccessKey: 'fake-eventbridge-test-secret',
} as const;

/**
 * The real SDK client aimed at the fake. One attempt by default, so that a failure is asserted on at once, not after
 * the SDK's retries; pass `maxAttempts` to see those.
 */
export function fakeEventBridgeClient(endpoint: string, maxAttempts = 1): EventBridgeClient {
  return new EventBridgeClient({
    endpoint,
    region: 'us-east-1',
    credentials: FAKE_EVENTBRIDGE_CREDENTIALS,
    maxAttempts,
  });
}
