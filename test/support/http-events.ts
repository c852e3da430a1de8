import type { Context } from 'aws-lambda';
import type { HttpApiEvent } from '#lib/http/http-types.ts';

let counter = 0;

/** A payload 2.0 event as API Gateway builds it, for handler tests. */
export function httpEvent(options: {
  method?: string;
  path?: string;
  routeKey?: string;
  headers?: Record<string, string>;
  body?: string;
  query?: Record<string, string>;
  params?: Record<string, string>;
  iam?: { accountId: string; userArn: string; userId: string };
}): HttpApiEvent {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/';
  counter += 1;
  const event: HttpApiEvent = {
    version: '2.0',
    routeKey: options.routeKey ?? `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: options.headers ?? {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'example.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'example',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: `req-${counter}`,
      routeKey: options.routeKey ?? `${method} ${path}`,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(options.iam
        ? {
            authorizer: {
              iam: { ...options.iam, accessKey: 'AKIA', callerId: 'x', cognitoIdentity: null, principalOrgId: '' },
            },
          }
        : {}),
    },
    isBase64Encoded: false,
  };
  if (options.body !== undefined) event.body = options.body;
  if (options.query) event.queryStringParameters = options.query;
  if (options.params) event.pathParameters = options.params;
  return event;
}

export const lambdaContext = {
  functionName: 'test',
  awsRequestId: 'aws-req',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;
