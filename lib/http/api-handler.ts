import type { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { type AccessControl, ROUTE_PERMISSIONS } from '#lib/domain/access.ts';
import {
  AuthenticationError,
  ControlPlaneError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '#lib/domain/errors.ts';
import { type Principal, principalKey } from '#lib/domain/principal.ts';
import type { Authenticator } from './authenticator.ts';
import type { HttpApiEvent, HttpApiHandler, HttpApiResult } from './http-types.ts';
import { type IdempotencyGuard, noIdempotency } from './idempotency.ts';

/** Request bodies above this size are refused with 413 before anything parses them. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What a route declares about its input; each schema is strict, so unknown fields are refused. */
export interface RouteSpec<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
> {
  /** The function's name: used in logs, and to look up the permission the route needs in `ROUTE_PERMISSIONS`. */
  readonly name: string;
  readonly auth: 'required' | 'none';
  /**
   * Honour an `Idempotency-Key` header: a retry with the same key, caller and input gets the stored answer.
   * `sealFields` names top-level body fields that are secrets, stored only encrypted under a key derived from the
   * Idempotency-Key and the server-held sealing secret (see `IdempotencyGuardOptions.sealingSecret`).
   */
  readonly idempotent?: { readonly sealFields?: readonly string[] };
  readonly body?: B;
  /**
   * A body that is not JSON, handed to the route as text (`rawBody`): its media type and size limit. The route parses
   * and validates it itself.
   */
  readonly rawBody?: { readonly contentType: string; readonly maxBytes: number };
  readonly query?: Q;
  readonly params?: P;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ApiRequest<B, Q, P, A> {
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly principal: A;
  readonly requestId: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body as text, for a route that declares `rawBody`. */
  readonly rawBody?: string;
}

/** A route's answer: JSON unless `contentType` says otherwise (then `body` must be a string). */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiHandlerDeps {
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Role assignments; required by every route that needs a permission. */
  readonly access?: AccessControl;
  /** Where idempotent routes keep their answers; without it a key is validated but nothing is remembered. */
  readonly idempotency?: IdempotencyGuard;
}

/** What the middlewares learn about a request, kept beside the event (never on it). */
interface RequestState {
  rawBody?: string;
  principal?: Principal;
  parsedBody?: unknown;
  /** The error code answered, for the access log. */
  errorCode?: string;
  started: number;
}

type Middleware = middy.MiddlewareObj<HttpApiEvent, HttpApiResult, Error, Context>;
type Request = middy.Request<HttpApiEvent, HttpApiResult, Error, Context>;

/** Per-request state, keyed by the event object so nothing is written onto the event itself. */
const states = new WeakMap<HttpApiEvent, RequestState>();

function stateOf(request: Request): RequestState {
  let state = states.get(request.event);
  if (!state) {
    state = { started: Date.now() };
    states.set(request.event, state);
  }
  return state;
}

function requestIdOf(event: HttpApiEvent): string {
  return event.requestContext?.requestId ?? 'unknown';
}

function jsonResult(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): HttpApiResult {
  return {
    statusCode: status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-request-id': requestId,
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

/** The error body every route answers with: `{"error":{"code","message","requestId","details"?}}`. */
export function errorResult(
  error: ControlPlaneError,
  requestId: string,
  headers: Record<string, string> = {},
): HttpApiResult {
  const expose = error.status < 500;
  return jsonResult(
    error.status,
    {
      error: {
        code: expose ? error.code : 'INTERNAL_ERROR',
        message: expose
          ? error.message
          : 'The control plane failed to handle this request. Retry later, quoting the requestId.',
        requestId,
        ...(expose && error.details ? { details: error.details } : {}),
      },
    },
    requestId,
    headers,
  );
}

/** Zod issues without the offending values: a path and a message each. */
function zodDetails(error: z.ZodError): Record<string, unknown> {
  return { issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) };
}

function toControlPlaneError(error: unknown): ControlPlaneError {
  if (error instanceof ControlPlaneError) return error;
  if (error instanceof z.ZodError) {
    return new ValidationError('VALIDATION_FAILED', 'The request does not match the API schema; see details.', {
      details: zodDetails(error),
    });
  }
  return new ControlPlaneError('INTERNAL_ERROR', 500, 'internal error', { cause: error });
}

/** Maps any error to our error body; 5xx are logged by name and code only, never with a stack or request data. */
const errorResponse = (logger: Logger): Middleware => ({
  onError: (request) => {
    const error = toControlPlaneError(request.error);
    const requestId = requestIdOf(request.event);
    if (error.status >= 500) {
      const cause = error.cause ?? error;
      logger.error('request failed', {
        requestId,
        code: error.code,
        errorName: cause instanceof Error ? cause.name : typeof cause,
        errorMessage: cause instanceof Error ? cause.message : undefined,
      });
    }
    stateOf(request).errorCode = error.code;
    const allow = error.details?.allow;
    request.response = errorResult(error, requestId, typeof allow === 'string' ? { allow } : {});
  },
});

/** One access-log line per request: route, status, error code, duration. */
const accessLog = (logger: Logger, route: string): Middleware => {
  const log = (request: Request) => {
    const code = stateOf(request).errorCode;
    logger.info('request', {
      route,
      requestId: requestIdOf(request.event),
      status: request.response?.statusCode,
      ...(code ? { code } : {}),
      principal: stateOf(request).principal?.id,
      durationMs: Date.now() - stateOf(request).started,
    });
  };
  return {
    before: (request) => {
      stateOf(request);
    },
    after: log,
    onError: log,
  };
};

/** Decodes the body and refuses it above the route's limit (413): MAX_BODY_BYTES unless the route says more. */
const bodyLimit = (maxBytes: number = MAX_BODY_BYTES): Middleware => ({
  before: (request) => {
    const { body, isBase64Encoded } = request.event;
    if (body === undefined || body === null) return;
    const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
    if (bytes.length > maxBytes) {
      throw new PayloadTooLargeError(`The request body is ${bytes.length} bytes; the limit is ${maxBytes} bytes.`);
    }
    stateOf(request).rawBody = bytes.toString('utf8');
  },
});

/** Routes with a body accept only their media type, JSON unless they say otherwise (415 otherwise). */
const contentTypeIs = (expected = 'application/json'): Middleware => ({
  before: (request) => {
    const type = request.event.headers?.['content-type'];
    const mediaType = type?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== expected) {
      throw new UnsupportedMediaTypeError(
        `This route accepts "Content-Type: ${expected}"; the request sent ${type ? `"${type.slice(0, 100)}"` : 'none'}.`,
      );
    }
  },
});

/** A text body must be there (400 BODY_REQUIRED). */
const requireRawBody = (): Middleware => ({
  before: (request) => {
    const raw = stateOf(request).rawBody;
    if (raw === undefined || raw.trim() === '') throw new ValidationError('BODY_REQUIRED', 'This route needs a body.');
  },
});

const authenticate = (authenticator: Authenticator, required: boolean): Middleware => ({
  before: (request) => {
    const principal = authenticator(request.event);
    if (principal) {
      stateOf(request).principal = principal;
    } else if (required) {
      throw new AuthenticationError(
        'UNAUTHENTICATED',
        'This route needs credentials: sign the request with SigV4 (IAM) or send "Authorization: Bearer <token>".',
      );
    }
  },
});

/** Authorization, in one place for every route: the permission `ROUTE_PERMISSIONS` names for it (403 otherwise). */
const authorize = (access: AccessControl, permission: NonNullable<(typeof ROUTE_PERMISSIONS)[string]>): Middleware => ({
  before: (request) => {
    const principal = stateOf(request).principal;
    if (principal) access.authorize(principal, permission);
  },
});

/** The permission a route needs; a route missing from the table is a programming error, found at cold start. */
function permissionOf(name: string, deps: ApiHandlerDeps) {
  const permission = ROUTE_PERMISSIONS[name];
  if (permission === undefined) throw new Error(`Route ${name} has no entry in ROUTE_PERMISSIONS.`);
  if (permission !== null && !deps.access) throw new Error(`Route ${name} needs a permission but got no access rules.`);
  return permission;
}

const parseJsonBody = (): Middleware => ({
  before: (request) => {
    const state = stateOf(request);
    if (state.rawBody === undefined || state.rawBody.trim() === '') {
      throw new ValidationError('BODY_REQUIRED', 'This route needs a JSON body.');
    }
    try {
      state.parsedBody = JSON.parse(state.rawBody);
    } catch {
      throw new ValidationError('BODY_NOT_JSON', 'The request body is not valid JSON.');
    }
  },
});

function parseWith<S extends z.ZodType | undefined>(schema: S, value: unknown): Out<S> {
  return (schema ? schema.parse(value) : undefined) as Out<S>;
}

/**
 * Builds the Lambda handler of one HTTP API route: error mapping, access log, body size limit, content type,
 * authentication, authorization, JSON parse, zod validation, the idempotency guard, then `run`. Authentication and
 * authorization come before parsing, so a caller who may not use the route learns nothing about a valid body.
 */
export function makeApiHandler<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  S extends RouteSpec<B, Q, P> = RouteSpec<B, Q, P>,
>(
  spec: S & RouteSpec<B, Q, P>,
  deps: ApiHandlerDeps,
  run: (
    request: ApiRequest<Out<B>, Out<Q>, Out<P>, S['auth'] extends 'required' ? Principal : Principal | undefined>,
  ) => Promise<ApiResponse>,
): HttpApiHandler {
  // The access log is outermost so that its onError runs after errorResponse has set the response it logs.
  const pipeline = middy<HttpApiEvent, HttpApiResult, Error, Context>()
    .use(accessLog(deps.logger, spec.name))
    .use(errorResponse(deps.logger));
  if (spec.body) pipeline.use(bodyLimit()).use(contentTypeIs());
  if (spec.rawBody) pipeline.use(bodyLimit(spec.rawBody.maxBytes)).use(contentTypeIs(spec.rawBody.contentType));
  pipeline.use(authenticate(deps.authenticator, spec.auth === 'required'));
  const permission = permissionOf(spec.name, deps);
  if (permission !== null && deps.access) pipeline.use(authorize(deps.access, permission));
  if (spec.body) pipeline.use(parseJsonBody());
  if (spec.rawBody) pipeline.use(requireRawBody());
  const guard = deps.idempotency ?? noIdempotency;

  const handler = pipeline.handler(async (event) => {
    const state = states.get(event);
    const requestId = requestIdOf(event);
    const input = {
      body: parseWith(spec.body, state?.parsedBody),
      query: parseWith(spec.query, event.queryStringParameters ?? {}),
      params: parseWith(spec.params, event.pathParameters ?? {}),
      principal: state?.principal,
      requestId,
      headers: event.headers ?? {},
      ...(spec.rawBody && state?.rawBody !== undefined ? { rawBody: state.rawBody } : {}),
    };
    const call = () => run(input as Parameters<typeof run>[0]);
    const response =
      spec.idempotent && input.principal
        ? await guard(
            {
              route: spec.name,
              principalId: principalKey(input.principal) ?? input.principal.id,
              key: input.headers['idempotency-key'],
              payload: { body: input.body, params: input.params, query: input.query },
              ...(spec.idempotent.sealFields ? { sealFields: spec.idempotent.sealFields } : {}),
            },
            call,
          )
        : await call();
    if (response.contentType !== undefined && typeof response.body === 'string') {
      return {
        statusCode: response.status,
        headers: { 'content-type': response.contentType, 'x-request-id': requestId, ...response.headers },
        body: response.body,
      };
    }
    return jsonResult(response.status, response.body, requestId, { ...response.headers });
  });
  return handler as unknown as HttpApiHandler;
}
