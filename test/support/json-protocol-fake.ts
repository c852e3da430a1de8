import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * The plumbing the loopback fakes of AWS services speaking the JSON 1.1 protocol share (`POST /`,
 * `X-Amz-Target: <Prefix>.<Operation>`, JSON bodies, errors as `{"__type", "message"}`): reading and parsing the
 * request, answering errors, listening on 127.0.0.1 on a free port, closing, and injecting failures.
 */

/** An error the fake answers as the service would: `__type`, a message and the HTTP status (400 unless given). */
export class JsonProtocolError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    /** Members the error body carries after `__type` and the message (e.g. Organizations' `Reason`). */
    readonly members: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** A request as the shared server read it, before any check. */
export interface JsonProtocolRequest {
  readonly req: IncomingMessage;
  /** The `X-Amz-Target` header as received (`undefined` spelled out when absent). */
  readonly targetHeader: string;
  /** The operation after the target prefix; `undefined` when the header is not `<targetPrefix>.<Operation>`. */
  readonly operation: string | undefined;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
}

export interface JsonProtocolServerOptions {
  /** The part of `X-Amz-Target` before the dot, e.g. `CertificateManager`. */
  readonly targetPrefix: string;
  /** The `__type` of an answer to an unexpected error (status 500). */
  readonly internalErrorType: string;
  /** The error body's message member: `message` for most services, `Message` for some (Organizations). */
  readonly messageMember?: 'message' | 'Message';
  /** Whether answers carry an `x-amzn-requestid` header (default true). */
  readonly requestIds?: boolean;
  /**
   * Called for every request before any check, to record it; the returned object, if any, gets the status answered.
   */
  readonly record?: (request: JsonProtocolRequest) => { status: number } | undefined;
  /** Answers the request (the checks included): the JSON body of a 200, or throws a JsonProtocolError. */
  readonly handle: (request: JsonProtocolRequest) => unknown;
}

export interface JsonProtocolServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts a JSON 1.1 protocol server on 127.0.0.1 on a free port. */
export async function startJsonProtocolServer(options: JsonProtocolServerOptions): Promise<JsonProtocolServer> {
  const targetPattern = new RegExp(`^${options.targetPrefix.replaceAll('.', '\\.')}\\.(\\w+)$`);
  const messageMember = options.messageMember ?? 'message';

  async function respond(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const text = await readBody(req);
    const targetHeader = String(req.headers['x-amz-target']);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const request: JsonProtocolRequest = { req, targetHeader, operation: targetPattern.exec(targetHeader)?.[1], body };
    const record = options.record?.(request);
    let answer: { status: number; body: unknown };
    try {
      answer = { status: 200, body: await options.handle(request) };
    } catch (error) {
      const known = error instanceof JsonProtocolError;
      answer = {
        status: known ? error.status : 500,
        body: {
          __type: known ? error.type : options.internalErrorType,
          [messageMember]: known ? error.message : String(error),
          ...(known ? error.members : {}),
        },
      };
    }
    if (record) record.status = answer.status;
    return answer;
  }

  const server = createServer((req, res) => {
    respond(req).then(
      ({ status, body }) => {
        res
          .writeHead(status, {
            'content-type': 'application/x-amz-json-1.1',
            ...(options.requestIds === false ? {} : { 'x-amzn-requestid': randomUUID() }),
          })
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
    close: async () => {
      // The SDK keeps connections alive; close() alone would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The shape of a SigV4 `Authorization` header for the service `signingName` (the signature itself is not checked). */
export function sigV4Authorization(signingName: string): RegExp {
  return new RegExp(
    `^AWS4-HMAC-SHA256 Credential=[^/]+\\/\\d{8}\\/[a-z0-9-]+\\/${signingName}\\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
  );
}

/**
 * Refuses, as the service would, a request that is not `POST /`, is unsigned, is not signed with SigV4 (shape only,
 * with an `X-Amz-Date`) or is not `application/x-amz-json-1.1`.
 */
export function checkJsonProtocolRequest(req: IncomingMessage, authorizationShape: RegExp): void {
  if (req.method !== 'POST' || req.url !== '/')
    throw new JsonProtocolError('UnknownOperationException', 'POST / only.');
  const authorization = req.headers.authorization;
  if (authorization === undefined) {
    throw new JsonProtocolError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (!authorizationShape.test(authorization) || req.headers['x-amz-date'] === undefined) {
    throw new JsonProtocolError(
      'IncompleteSignatureException',
      'The request is not signed with AWS Signature Version 4.',
    );
  }
  checkJsonContentType(req);
}

export function checkJsonContentType(req: IncomingMessage): void {
  if (req.headers['content-type'] !== 'application/x-amz-json-1.1') {
    throw new JsonProtocolError('SerializationException', 'Content-Type must be application/x-amz-json-1.1.');
  }
}

/** Failure rules, each failing up to `remaining` calls; the first matching rule with calls left applies. */
export class FaultRegistry<Rule> {
  private rules: Array<{ rule: Rule; remaining: number }> = [];

  add(rule: Rule, times: number): void {
    this.rules.push({ rule, remaining: times });
  }

  /** The first rule that matches and still has calls to fail, counting this call against it. */
  take(matches: (rule: Rule) => boolean = () => true): Rule | undefined {
    const match = this.rules.find(({ rule, remaining }) => remaining > 0 && matches(rule));
    if (!match) return undefined;
    match.remaining--;
    return match.rule;
  }

  clear(): void {
    this.rules = [];
  }
}

/** Fails requests to one operation (or any) with an error, `times` times (default once; `Infinity` for always). */
export interface OperationFailureRule {
  readonly target?: string;
  readonly errorType: string;
  readonly message?: string;
  readonly times?: number;
}

/** Failure injection per operation, as ACM, Secrets Manager and KMS fakes offer it. */
export class OperationFaults {
  private readonly registry = new FaultRegistry<OperationFailureRule>();

  /** @param defaultMessage the message of an injected error whose rule gives none. */
  constructor(private readonly defaultMessage: (errorType: string, target: string) => string) {}

  readonly failRequests = (rule: OperationFailureRule): void => {
    this.registry.add(rule, rule.times ?? 1);
  };

  /** Answers the next `times` calls of `target` with ThrottlingException, as the service does past its rate limit. */
  readonly throttle = (target: string, times = 1): void =>
    this.failRequests({ target, errorType: 'ThrottlingException', times });

  /** Answers every later call of `target` with AccessDeniedException, as for a role whose policy lacks the action. */
  readonly deny = (target: string): void =>
    this.failRequests({ target, errorType: 'AccessDeniedException', times: Number.POSITIVE_INFINITY });

  /** Throws the injected error for this call of `target`, if a rule applies. */
  throwIfInjected(target: string): void {
    const failure = this.registry.take((rule) => rule.target === undefined || rule.target === target);
    if (failure) {
      throw new JsonProtocolError(failure.errorType, failure.message ?? this.defaultMessage(failure.errorType, target));
    }
  }

  clear(): void {
    this.registry.clear();
  }
}

export interface OperationServerOptions extends Omit<JsonProtocolServerOptions, 'handle'> {
  /** The service name SigV4 credential scopes carry, e.g. `acm`. */
  readonly signingName: string;
  readonly faults: OperationFaults;
  /** Answers a checked request for `operation` whose body is a JSON object. */
  readonly handle: (operation: string, body: object) => unknown;
}

/**
 * A JSON 1.1 server as the ACM, Secrets Manager and KMS fakes run it: `checkJsonProtocolRequest`, then a known target,
 * then any injected failure, then a JSON object body, then the operation.
 */
export function startOperationServer(options: OperationServerOptions): Promise<JsonProtocolServer> {
  const { signingName, faults, handle, ...serverOptions } = options;
  const authorizationShape = sigV4Authorization(signingName);
  return startJsonProtocolServer({
    ...serverOptions,
    handle: ({ req, operation, body }) => {
      checkJsonProtocolRequest(req, authorizationShape);
      if (operation === undefined) {
        throw new JsonProtocolError('UnknownOperationException', 'Missing or unknown X-Amz-Target.');
      }
      faults.throwIfInjected(operation);
      if (typeof body !== 'object' || body === null) {
        throw new JsonProtocolError('SerializationException', 'Body is not JSON.');
      }
      return handle(operation, body);
    },
  });
}

/**
 * The `record` option that appends each request to `requests` as `{ target, body, status }`: the operation (the whole
 * header when it names none), the parsed body and the status answered.
 */
export function recordRequestsInto(requests: {
  push(record: { target: string; body: unknown; status: number }): unknown;
}): NonNullable<JsonProtocolServerOptions['record']> {
  return ({ operation, targetHeader, body }) => {
    const record = { target: operation ?? targetHeader, body, status: 200 };
    requests.push(record);
    return record;
  };
}

/**
 * The message of an injected error: for AccessDeniedException, AWS's wording for the discovery role in `account`
 * lacking `action` (on `resource` when the service names one); for ThrottlingException, the services' own.
 */
export function injectedErrorMessage(errorType: string, account: string, action: string, resource?: string): string {
  if (errorType === 'AccessDeniedException') {
    const on = resource === undefined ? '' : ` on resource: ${resource}`;
    return `User: arn:aws:sts::${account}:assumed-role/discovery/test is not authorized to perform: ${action}${on} because no identity-based policy allows the ${action} action`;
  }
  if (errorType === 'ThrottlingException') return 'Rate exceeded';
  return `Injected ${errorType}`;
}

/** A validation failure's issues, as `path: message` joined by `; `. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

/** A paging token opaque to the client: here, the offset of the next page. */
export function encodeOffsetToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

/** The offset a token from `encodeOffsetToken` names; `undefined` when it is not one. */
export function decodeOffsetToken(token: string): number | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = z.object({ offset: z.number().int().nonnegative() }).safeParse(value);
  return parsed.success ? parsed.data.offset : undefined;
}

/** The given dates as JSON 1.1 timestamps (epoch seconds, fractional when the date has milliseconds); absent ones left out. */
export function epochSecondsOf(fields: Record<string, Date | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, date] of Object.entries(fields)) if (date !== undefined) out[name] = date.getTime() / 1000;
  return out;
}
