import {
  type EventBridgeClient,
  ListRulesCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CatalogEvent, EVENT_SOURCE } from '#events/catalog.ts';
import {
  createEventBridgePublisher,
  ENTRY_TOO_LARGE,
  EventBridgePublisher,
  type EventBridgePublisherOptions,
  type EventPublishFailure,
  INVALID_RESPONSE,
  PUT_EVENTS_SIZE_LIMIT,
  putEventsEntrySize,
} from '#lib/adapters/eventbridge-publisher.ts';
import {
  FAKE_EVENTBRIDGE_CREDENTIALS,
  type FakeEventBridge,
  fakeEventBridgeClient,
  startFakeEventBridge,
} from '#test/support/fake-eventbridge-server.ts';

const BUS = 'mim-control-plane';
const OCCURRED_AT = '2026-11-20T10:15:30.250Z';

let bus: FakeEventBridge;
let client: EventBridgeClient;

beforeAll(async () => {
  bus = await startFakeEventBridge();
  client = fakeEventBridgeClient(bus.endpoint);
});

afterAll(async () => {
  client.destroy();
  await bus.close();
});

beforeEach(() => bus.reset());

function revoked(eventId: string): CatalogEvent {
  return {
    source: EVENT_SOURCE,
    detailType: 'CertificateRevoked',
    detail: {
      version: 1,
      eventId,
      occurredAt: OCCURRED_AT,
      actor: 'admin:alice',
      serialNumber: '0a1b',
      identityId: 'workload-1',
      reason: 'keyCompromise',
      fingerprintSha256: 'ab'.repeat(32),
    },
  };
}

/** A CertificateIssued event whose one name is `name`: the way to make an event of a chosen size. */
function issued(eventId: string, name: string): CatalogEvent {
  return {
    source: EVENT_SOURCE,
    detailType: 'CertificateIssued',
    detail: {
      version: 1,
      eventId,
      occurredAt: OCCURRED_AT,
      actor: 'workload:svc',
      serialNumber: '0c',
      identityId: 'workload-2',
      policy: 'default',
      fingerprintSha256: 'cd'.repeat(32),
      names: [name],
      notAfter: '2026-12-20T10:15:30.000Z',
    },
  };
}

/** The PutEvents entry size of `issued(eventId, name)`, as EventBridge counts it (plain ASCII names only). */
function issuedSize(eventId: string, name: string): number {
  const event = issued(eventId, name);
  return 14 + event.source.length + event.detailType.length + Buffer.byteLength(JSON.stringify(event.detail));
}

/** An `issued` event whose entry is exactly `size` bytes. */
function issuedOfSize(eventId: string, size: number): CatalogEvent {
  const name = 'a'.repeat(size - issuedSize(eventId, ''));
  expect(issuedSize(eventId, name)).toBe(size);
  return issued(eventId, name);
}

const ids = (count: number, prefix = 'e') => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);

/** A publisher on the fake whose waits are recorded, not waited, with the jitter fixed at one half. */
function publisherFor(options: EventBridgePublisherOptions = {}, eventBusName = BUS) {
  const sleeps: number[] = [];
  const failures: EventPublishFailure[] = [];
  const publisher = new EventBridgePublisher(client, eventBusName, {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onFailure: (failure) => failures.push(failure),
    ...options,
  });
  return { publisher, sleeps, failures };
}

/** The `detail.eventId`s of each PutEvents request the fake received, request by request. */
function requestedEventIds(): string[][] {
  return bus.requests.map((request) => {
    const entries = (request.body as { Entries: Array<{ Detail: string }> }).Entries;
    return entries.map((entry) => (JSON.parse(entry.Detail) as { eventId: string }).eventId);
  });
}

const acceptedEventIds = () => bus.accepted.map((entry) => entry.detail.eventId);

describe('EventBridgePublisher batching', () => {
  it('puts 23 events in 3 requests of 10, 10 and 3 entries, in order, on the named bus', async () => {
    const { publisher, failures } = publisherFor();
    const events = ids(23).map(revoked);
    expect(await publisher.publish(events)).toEqual({ failedEventIds: [] });

    expect(bus.requests.map((request) => request.target)).toEqual(['PutEvents', 'PutEvents', 'PutEvents']);
    expect(requestedEventIds()).toEqual([ids(23).slice(0, 10), ids(23).slice(10, 20), ids(23).slice(20)]);
    expect(acceptedEventIds()).toEqual(ids(23));
    expect(failures).toEqual([]);

    const first = events[0] as CatalogEvent;
    // The wire form: Time as epoch seconds (JSON 1.1), Detail as a JSON string, every entry naming the bus.
    expect((bus.requests[0]?.body as { Entries?: unknown[] } | undefined)?.Entries?.[0]).toEqual({
      Source: 'mim.control-plane',
      DetailType: 'CertificateRevoked',
      Detail: JSON.stringify(first.detail),
      Time: Date.parse(OCCURRED_AT) / 1000,
      EventBusName: BUS,
      Resources: [],
    });
    expect(bus.accepted[0]).toMatchObject({
      eventBusName: BUS,
      source: 'mim.control-plane',
      detailType: 'CertificateRevoked',
      detail: first.detail,
      time: new Date(OCCURRED_AT),
      resources: [],
    });
  });

  it('sends nothing for no events', async () => {
    const { publisher } = publisherFor();
    expect(await publisher.publish([])).toEqual({ failedEventIds: [] });
    expect(bus.requests).toEqual([]);
  });

  it('keeps each request below 256 KB: events of about 100 KB go 2 to a request', async () => {
    const { publisher } = publisherFor();
    const events = ids(5).map((id) => issued(id, 'a'.repeat(100_000)));
    expect(await publisher.publish(events)).toEqual({ failedEventIds: [] });
    expect(requestedEventIds()).toEqual([['e1', 'e2'], ['e3', 'e4'], ['e5']]);
    expect(acceptedEventIds()).toEqual(ids(5));
  });

  it('fills a request up to one byte below the limit, and starts a new one at the limit', async () => {
    const { publisher } = publisherFor();
    const half = PUT_EVENTS_SIZE_LIMIT / 2;
    // 2 entries summing to limit − 1 share a request; 2 summing to exactly the limit cannot.
    await publisher.publish([issuedOfSize('a1', half), issuedOfSize('a2', half - 1)]);
    await publisher.publish([issuedOfSize('b1', half), issuedOfSize('b2', half)]);
    expect(requestedEventIds()).toEqual([['a1', 'a2'], ['b1'], ['b2']]);
  });

  it('reports an event of 256 KB or more failed at once, without a request, and puts the others in order', async () => {
    const { publisher, failures, sleeps } = publisherFor();
    const tooLarge = issuedOfSize('big', PUT_EVENTS_SIZE_LIMIT);
    const largestPossible = issuedOfSize('largest', PUT_EVENTS_SIZE_LIMIT - 1);
    const result = await publisher.publish([revoked('e1'), tooLarge, revoked('e2'), largestPossible]);

    expect(result).toEqual({ failedEventIds: ['big'] });
    expect(requestedEventIds()).toEqual([['e1', 'e2'], ['largest']]);
    expect(acceptedEventIds()).toEqual(['e1', 'e2', 'largest']);
    expect(sleeps).toEqual([]);
    expect(failures).toEqual([
      {
        eventId: 'big',
        detailType: 'CertificateIssued',
        code: ENTRY_TOO_LARGE,
        reason: expect.stringContaining(`${PUT_EVENTS_SIZE_LIMIT} bytes`),
        attempts: 0,
      },
    ]);
    expect(JSON.stringify(failures)).not.toContain('aaaa');

    // The fake applies the same rule: the over-size entry alone is refused as a whole request.
    const entry: PutEventsRequestEntry = {
      Source: tooLarge.source,
      DetailType: tooLarge.detailType,
      Detail: JSON.stringify(tooLarge.detail),
      Time: new Date(OCCURRED_AT),
      EventBusName: BUS,
    };
    expect(putEventsEntrySize(entry)).toBe(PUT_EVENTS_SIZE_LIMIT);
    await expect(client.send(new PutEventsCommand({ Entries: [entry] }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('counts entry sizes in UTF-8 bytes, 14 for Time, Resources included and EventBusName not', () => {
    const entry = { Source: 'é', DetailType: '€', Detail: '{"k":"😀"}', Resources: ['arn:x', 'ü'] };
    expect(putEventsEntrySize(entry)).toBe(2 + 3 + 12 + 5 + 2);
    expect(putEventsEntrySize({ ...entry, Time: new Date(), EventBusName: 'x'.repeat(100) })).toBe(24 + 14);
  });
});

describe('EventBridgePublisher partial failures', () => {
  it('sends again only the failed entries of a request, in their order, which then succeed', async () => {
    const { publisher, failures, sleeps } = publisherFor();
    bus.failEntries({ eventIds: ['e3', 'e7'], errorCode: 'ThrottlingException', times: 2 });
    bus.failEntries({ eventIds: ['e5'], errorCode: 'InternalFailure', times: 1 });
    expect(await publisher.publish(ids(10).map(revoked))).toEqual({ failedEventIds: [] });

    expect(requestedEventIds()).toEqual([ids(10), ['e3', 'e5', 'e7']]);
    expect(acceptedEventIds()).toEqual(['e1', 'e2', 'e4', 'e6', 'e8', 'e9', 'e10', 'e3', 'e5', 'e7']);
    expect(sleeps).toEqual([50]);
    expect(failures).toEqual([]);
  });

  it('retries the requests after a partially failed one as usual, and keeps the order of requests', async () => {
    const { publisher } = publisherFor();
    bus.failEntries({ eventIds: ['e2'], errorCode: 'ThrottlingException', times: 1 });
    expect(await publisher.publish(ids(12).map(revoked))).toEqual({ failedEventIds: [] });
    expect(requestedEventIds()).toEqual([ids(10), ['e2'], ['e11', 'e12']]);
  });

  it('gives up on an entry failing every attempt after maxAttempts, with growing backoff, and puts the others', async () => {
    const { publisher, failures, sleeps } = publisherFor();
    bus.failEntries({ eventIds: ['e2'], errorCode: 'InternalFailure', errorMessage: 'try later' });
    expect(await publisher.publish(ids(3).map(revoked))).toEqual({ failedEventIds: ['e2'] });

    expect(requestedEventIds()).toEqual([['e1', 'e2', 'e3'], ['e2'], ['e2'], ['e2']]);
    expect(acceptedEventIds()).toEqual(['e1', 'e3']);
    // Full jitter at one half of 100, 200, 400 ms.
    expect(sleeps).toEqual([50, 100, 200]);
    expect(failures).toEqual([
      {
        eventId: 'e2',
        detailType: 'CertificateRevoked',
        code: 'InternalFailure',
        serviceMessage: 'try later',
        reason: expect.stringContaining('after 4 attempts'),
        attempts: 4,
      },
    ]);
  });

  it('honours maxAttempts and caps the backoff at maxDelayMs', async () => {
    const { publisher, sleeps } = publisherFor({ maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 3_000 });
    bus.failEntries({ eventIds: ['e1'], errorCode: 'ThrottlingException' });
    expect(await publisher.publish([revoked('e1')])).toEqual({ failedEventIds: ['e1'] });
    expect(bus.requests).toHaveLength(6);
    expect(sleeps).toEqual([500, 1_000, 1_500, 1_500, 1_500]);
  });

  it.each([
    'AccessDeniedException',
    'NotAuthorizedForSourceException',
    'MalformedDetail',
    'ValidationException',
    'SomethingNew',
  ])('reports an entry refused with %s failed at once, without retrying it', async (errorCode) => {
    const { publisher, failures, sleeps } = publisherFor();
    bus.failEntries({ eventIds: ['e2'], errorCode });
    expect(await publisher.publish(ids(3).map(revoked))).toEqual({ failedEventIds: ['e2'] });
    expect(bus.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(failures).toMatchObject([{ eventId: 'e2', code: errorCode, attempts: 1 }]);
  });

  it('reports all entries of a request failed, unretried, when the response does not account for each', async () => {
    const { publisher, failures } = publisherFor();
    bus.tamperResponses((answer) => ({ ...answer, Entries: answer.Entries.slice(1) }));
    expect(await publisher.publish(ids(2).map(revoked))).toEqual({ failedEventIds: ['e1', 'e2'] });
    bus.tamperResponses((answer) => ({ ...answer, FailedEntryCount: 1 }));
    expect(await publisher.publish([revoked('e3')])).toEqual({ failedEventIds: ['e3'] });
    bus.tamperResponses((answer) => ({ ...answer, Entries: [{ EventId: 'x', ErrorCode: 'InternalFailure' }] }));
    expect(await publisher.publish([revoked('e4')])).toEqual({ failedEventIds: ['e4'] });
    expect(bus.requests).toHaveLength(3);
    expect(new Set(failures.map((failure) => failure.code))).toEqual(new Set([INVALID_RESPONSE]));
  });
});

describe('EventBridgePublisher whole-request errors', () => {
  it('throws EVENT_BUS_UNAVAILABLE when the SDK client still fails after its retries', async () => {
    const retrying = fakeEventBridgeClient(bus.endpoint, 3);
    try {
      const publisher = new EventBridgePublisher(retrying, BUS);
      bus.failRequests({ errorType: 'InternalException', times: 3 });
      const error = await publisher.publish(ids(12).map(revoked)).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'EVENT_BUS_UNAVAILABLE',
        status: 500,
        cause: { name: 'InternalException', $metadata: { attempts: 3 } },
      });
      expect(bus.requests.map((request) => request.status)).toEqual([500, 500, 500]);
      expect(bus.accepted).toEqual([]);
    } finally {
      retrying.destroy();
    }
  });

  it('lets the SDK retry a throttled request, which then succeeds', async () => {
    const retrying = fakeEventBridgeClient(bus.endpoint, 2);
    try {
      bus.failRequests({ errorType: 'ThrottlingException', message: 'Rate exceeded' });
      const publisher = new EventBridgePublisher(retrying, BUS);
      expect(await publisher.publish([revoked('e1')])).toEqual({ failedEventIds: [] });
      expect(bus.requests.map((request) => request.status)).toEqual([400, 200]);
      expect(acceptedEventIds()).toEqual(['e1']);
    } finally {
      retrying.destroy();
    }
  });

  it('throws at once on an error the SDK does not retry (a missing permission)', async () => {
    const retrying = fakeEventBridgeClient(bus.endpoint, 3);
    try {
      bus.failRequests({ errorType: 'AccessDeniedException' });
      const error = await new EventBridgePublisher(retrying, BUS).publish([revoked('e1')]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'EVENT_BUS_UNAVAILABLE', cause: { name: 'AccessDeniedException' } });
      expect(bus.requests).toHaveLength(1);
    } finally {
      retrying.destroy();
    }
  });

  it('throws when the bus cannot be reached at all', async () => {
    const gone = await startFakeEventBridge();
    const goneClient = fakeEventBridgeClient(gone.endpoint);
    await gone.close();
    await expect(new EventBridgePublisher(goneClient, BUS).publish([revoked('e1')])).rejects.toMatchObject({
      code: 'EVENT_BUS_UNAVAILABLE',
    });
    goneClient.destroy();
  });
});

describe('EventBridgePublisher configuration', () => {
  it('puts on a bus named by ARN, and refuses what is neither a bus name nor an ARN', async () => {
    const arn = `arn:aws:events:eu-west-1:111122223333:event-bus/${BUS}`;
    const { publisher } = publisherFor({}, arn);
    await publisher.publish([revoked('e1')]);
    expect(bus.accepted[0]?.eventBusName).toBe(arn);
    for (const name of ['', 'bus name', 'arn:aws:sqs:eu-west-1:111122223333:queue/x']) {
      expect(() => new EventBridgePublisher(client, name)).toThrow(RangeError);
    }
    expect(() => new EventBridgePublisher(client, BUS, { maxAttempts: 0 })).toThrow(RangeError);
  });

  it('through createEventBridgePublisher uses the default client: AWS_ENDPOINT_URL_EVENTBRIDGE, 4 SDK attempts', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: FAKE_EVENTBRIDGE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_EVENTBRIDGE_CREDENTIALS.secretAccessKey,
    });
    try {
      const failures: EventPublishFailure[] = [];
      const publisher = createEventBridgePublisher({ busName: BUS, onFailure: (f) => failures.push(f) });
      expect(await publisher.publish([revoked('e1')])).toEqual({ failedEventIds: [] });
      // Server errors are retried by the SDK (transient); the factory's client makes 4 attempts, not the default 3.
      bus.failRequests({ errorType: 'InternalException', times: 3 });
      expect(await publisher.publish([revoked('e2')])).toEqual({ failedEventIds: [] });
      expect(bus.requests.map((request) => request.status)).toEqual([200, 500, 500, 500, 200]);
      expect(acceptedEventIds()).toEqual(['e1', 'e2']);
      expect(failures).toEqual([]);
    } finally {
      process.env = saved;
    }
  });

  it('through createEventBridgePublisher uses the client it is given', async () => {
    await createEventBridgePublisher({ busName: BUS, client }).publish([revoked('e1')]);
    expect(acceptedEventIds()).toEqual(['e1']);
  });
});

describe('the fake EventBridge behaves like EventBridge where the publisher relies on it', () => {
  const entry = (detail: string | undefined): PutEventsRequestEntry => ({
    Source: EVENT_SOURCE,
    DetailType: 'CertificateRevoked',
    ...(detail === undefined ? {} : { Detail: detail }),
  });

  it('refuses requests of 0 or more than 10 entries as a whole', async () => {
    for (const count of [0, 11]) {
      const entries = Array.from({ length: count }, () => entry('{}'));
      await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
    }
    expect(bus.accepted).toEqual([]);
  });

  it('fails an entry without Detail or with a Detail that is not a JSON object alone, and puts the others', async () => {
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry(undefined), entry('{"eventId":"ok"}'), entry('[1]'), entry('{')] }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries?.map((result) => result.ErrorCode ?? 'ok')).toEqual([
      'InvalidArgument',
      'ok',
      'MalformedDetail',
      'MalformedDetail',
    ]);
    expect(out.Entries?.[1]?.EventId).toBe(bus.accepted[0]?.eventId);
    expect(bus.accepted.map((accepted) => accepted.eventBusName)).toEqual(['default']);
  });

  it('refuses a request that is not SigV4-signed, and operations it does not implement', async () => {
    const response = await fetch(bus.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
      body: JSON.stringify({ Entries: [entry('{}')] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
    await expect(client.send(new ListRulesCommand({}))).rejects.toMatchObject({ name: 'UnknownOperationException' });
  });
});
