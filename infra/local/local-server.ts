import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import type { ApiFunctionName } from '#functions/routes.ts';
import { matchPath, ROUTES } from '#functions/routes.ts';
import { PayloadTooLargeError } from '#lib/domain/errors.ts';
import { errorResult } from '#lib/http/api-handler.ts';
import type { HttpApiEvent, HttpApiHandler, HttpApiResult } from '#lib/http/http-types.ts';

/** API Gateway HTTP APIs refuse payloads over 10 MB before any Lambda runs; the local server does the same. */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** The functions' timeout in the stack; middy uses it to stop a request cleanly before Lambda would. */
const FUNCTION_TIMEOUT_MS = 29_000;

export type LocalHandlers = Readonly<Record<ApiFunctionName, HttpApiHandler>>;

export interface LocalRequestLog {
  method: string;
  path: string;
  status: number;
  durationMs: number;
}

function isTextual(contentType: string | undefined): boolean {
  if (!contentType) return true;
  return /^(text\/|application\/(json|[\w.+-]*\+json|x-www-form-urlencoded|xml|pem-certificate-chain))/i.test(
    contentType,
  );
}

/** Turns a Node request into the payload 2.0 event API Gateway would hand the function. */
export function toHttpApiEvent(
  req: IncomingMessage,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string> | undefined,
): HttpApiEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const textual = isTextual(headers['content-type']);
  const method = (req.method ?? 'GET').toUpperCase();
  const event: HttpApiEvent = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: body.length > 0 && !textual,
  };
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (pathParameters && Object.keys(pathParameters).length > 0) event.pathParameters = pathParameters;
  if (body.length > 0) event.body = textual ? body.toString('utf8') : body.toString('base64');
  return event;
}

function lambdaContext(functionName: string, requestId: string): Context {
  const deadline = Date.now() + FUNCTION_TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function resolveRoute(
  method: string,
  path: string,
): { fn: ApiFunctionName; routeKey: string; params?: Record<string, string> } {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const params = matchPath(route.path, path);
    if (params) return { fn: route.function, routeKey: `${route.method} ${route.path}`, params };
  }
  return { fn: 'route-not-found', routeKey: '$default' };
}

function send(res: ServerResponse, result: HttpApiResult): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  const body =
    result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(body);
}

/** Reads the body up to the gateway's limit; beyond it, answers undefined (the caller sends 413). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > GATEWAY_MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The local stand-in for API Gateway: every request becomes a payload 2.0 event and goes to the very handler Lambda
 * runs, picked with the same route table the CDK stack uses.
 */
export function createLocalServer(handlers: LocalHandlers, onRequest?: (log: LocalRequestLog) => void): Server {
  return createServer(async (req, res) => {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let result: HttpApiResult;
    try {
      const body = await readBody(req);
      if (body === undefined) {
        result = errorResult(
          new PayloadTooLargeError('The request body exceeds the API limit of 10 MB.'),
          randomUUID(),
        );
      } else {
        const route = resolveRoute(method, path);
        const event = toHttpApiEvent(req, body, route.routeKey, route.params);
        result = await handlers[route.fn](event, lambdaContext(route.fn, event.requestContext.requestId));
      }
    } catch {
      result = {
        statusCode: 502,
        headers: { 'content-type': 'application/json' },
        body: '{"message":"Internal Server Error"}',
      };
    }
    send(res, result);
    onRequest?.({ method, path, status: result.statusCode ?? 200, durationMs: Date.now() - started });
  });
}
