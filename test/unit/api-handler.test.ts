import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeRouteNotFoundHandler } from '#functions/route-not-found/handler.ts';
import { AccessControl } from '#lib/domain/access.ts';
import { ConflictError } from '#lib/domain/errors.ts';
import { makeApiHandler } from '#lib/http/api-handler.ts';
import { bearerTokenAuthenticator, firstOf, iamAuthenticator } from '#lib/http/authenticator.ts';
import { httpEvent, lambdaContext } from '../support/http-events.ts';

const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
const authenticator = firstOf(
  iamAuthenticator,
  bearerTokenAuthenticator([{ token: 'secret-token-123', name: 'admin' }]),
);
const json = { 'content-type': 'application/json', authorization: 'Bearer secret-token-123' };
const access = new AccessControl({
  admin: ['local:admin'],
  operator: [],
  auditor: ['local:auditor'],
  workload: ['arn:aws:iam::123456789012:role/*'],
});

// The pipeline looks routes up by name in ROUTE_PERMISSIONS: these test routes borrow real routes' names.
const echo = makeApiHandler(
  { name: 'issue-certificate', auth: 'required', body: z.strictObject({ name: z.string() }) },
  { logger, authenticator, access },
  async ({ body, principal }) => ({ status: 201, body: { hello: body.name, principal: principal.id } }),
);

function parse(result: { body?: string | undefined }) {
  return JSON.parse(result.body ?? '');
}

describe('makeApiHandler', () => {
  it('runs the route with a validated body and the principal', async () => {
    const res = await echo(httpEvent({ method: 'POST', headers: json, body: '{"name":"x"}' }), lambdaContext);
    expect(res.statusCode).toBe(201);
    expect(parse(res)).toEqual({ hello: 'x', principal: 'local:admin' });
  });

  it('turns the IAM authorizer context into the principal', async () => {
    const res = await echo(
      httpEvent({
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"x"}',
        iam: { accountId: '123456789012', userArn: 'arn:aws:iam::123456789012:role/app', userId: 'AROA1' },
      }),
      lambdaContext,
    );
    expect(parse(res).principal).toBe('arn:aws:iam::123456789012:role/app');
  });

  it.each([
    ['no credentials', { 'content-type': 'application/json' }, '{"name":"x"}', 401, 'UNAUTHENTICATED'],
    [
      'a wrong token',
      { 'content-type': 'application/json', authorization: 'Bearer wrong' },
      '{"name":"x"}',
      401,
      'INVALID_TOKEN',
    ],
    [
      'a malformed header',
      { 'content-type': 'application/json', authorization: 'Basic abc' },
      '{"name":"x"}',
      401,
      'INVALID_AUTHORIZATION_HEADER',
    ],
    ['text/plain', { ...json, 'content-type': 'text/plain' }, '{"name":"x"}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['no body', json, '', 400, 'BODY_REQUIRED'],
    ['broken JSON', json, '{"name":', 400, 'BODY_NOT_JSON'],
    ['an unknown field', json, '{"name":"x","admin":true}', 400, 'VALIDATION_FAILED'],
    ['a wrong type', json, '{"name":1}', 400, 'VALIDATION_FAILED'],
    ['65 KiB', json, JSON.stringify({ name: 'x'.repeat(65 * 1024) }), 413, 'PAYLOAD_TOO_LARGE'],
  ])('refuses %s', async (_name, headers, body, status, code) => {
    const event = httpEvent({ method: 'POST', headers, body });
    const res = await echo(event, lambdaContext);
    expect(res.statusCode).toBe(status);
    expect(parse(res).error).toMatchObject({ code, requestId: event.requestContext.requestId });
  });

  it('answers 401 before looking at the body', async () => {
    const res = await echo(
      httpEvent({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
      lambdaContext,
    );
    expect(res.statusCode).toBe(401);
  });

  it('keeps validation details free of the submitted values', async () => {
    const res = await echo(
      httpEvent({ method: 'POST', headers: json, body: '{"name":["s3cr3t-value"]}' }),
      lambdaContext,
    );
    expect(res.body).not.toContain('s3cr3t-value');
    expect(parse(res).error.details.issues[0].path).toBe('name');
  });

  it('maps domain errors to their status and 5xx to a generic message', async () => {
    const conflict = makeApiHandler({ name: 'health', auth: 'none' }, { logger, authenticator }, async () => {
      throw new ConflictError('SOMETHING_TAKEN', 'That is taken.');
    });
    const crash = makeApiHandler({ name: 'health', auth: 'none' }, { logger, authenticator }, async () => {
      throw new Error('database password is hunter2');
    });
    const c = await conflict(httpEvent({}), lambdaContext);
    expect(c.statusCode).toBe(409);
    expect(parse(c).error).toMatchObject({ code: 'SOMETHING_TAKEN', message: 'That is taken.' });
    const x = await crash(httpEvent({}), lambdaContext);
    expect(x.statusCode).toBe(500);
    expect(parse(x).error.code).toBe('INTERNAL_ERROR');
    expect(x.body).not.toContain('hunter2');
  });
});

describe('route-not-found', () => {
  const handler = makeRouteNotFoundHandler();
  it('answers 404 for unknown paths and 405 with Allow for known ones', async () => {
    const missing = await handler(httpEvent({ method: 'GET', path: '/v2/x', routeKey: '$default' }), lambdaContext);
    expect(missing.statusCode).toBe(404);
    expect(parse(missing).error.code).toBe('ROUTE_NOT_FOUND');
    const wrong = await handler(
      httpEvent({ method: 'PUT', path: '/v1/certificates/ab', routeKey: '$default' }),
      lambdaContext,
    );
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers?.allow).toBe('GET');
    const badEscape = await handler(
      httpEvent({ method: 'GET', path: '/v1/identities/%E0%A4%A', routeKey: '$default' }),
      lambdaContext,
    );
    expect(badEscape.statusCode).toBe(404);
  });
});

describe('logging', () => {
  function recordingLogger() {
    const lines: Array<{ level: string; message: string; data: Record<string, unknown> }> = [];
    const record = (level: string) => (message: string, data: Record<string, unknown>) =>
      lines.push({ level, message, data });
    return { lines, logger: { info: record('info'), error: record('error') } as unknown as Logger };
  }

  it('writes one access line per request with status and error code, and no request content', async () => {
    const { lines, logger: recording } = recordingLogger();
    const handler = makeApiHandler(
      { name: 'issue-certificate', auth: 'required', body: z.strictObject({ name: z.string() }) },
      { logger: recording, authenticator, access },
      async () => ({ status: 200, body: {} }),
    );
    await handler(
      httpEvent({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"secret-csr"}' }),
      lambdaContext,
    );
    await handler(httpEvent({ method: 'POST', headers: json, body: '{"name":"secret-csr"}' }), lambdaContext);
    expect(lines.map((l) => [l.level, l.data.status, l.data.code])).toEqual([
      ['info', 401, 'UNAUTHENTICATED'],
      ['info', 200, undefined],
    ]);
    expect(lines[1]?.data.principal).toBe('local:admin');
    expect(JSON.stringify(lines)).not.toContain('secret-csr');
  });

  it('logs a 5xx by error name and code, without a stack', async () => {
    const { lines, logger: recording } = recordingLogger();
    const crash = makeApiHandler({ name: 'health', auth: 'none' }, { logger: recording, authenticator }, async () => {
      throw new TypeError('boom');
    });
    await crash(httpEvent({}), lambdaContext);
    const error = lines.find((l) => l.level === 'error');
    expect(error?.data).toMatchObject({ code: 'INTERNAL_ERROR', errorName: 'TypeError' });
    expect(JSON.stringify(lines)).not.toMatch(/\bat .+:\d+:\d+/);
    expect(lines.find((l) => l.level === 'info')?.data.status).toBe(500);
  });
});

describe('authorization in the pipeline', () => {
  const handler = makeApiHandler(
    { name: 'issue-certificate', auth: 'required', body: z.strictObject({ name: z.string() }) },
    { logger, authenticator: bearerTokenAuthenticator([{ token: 'auditor-token-1234', name: 'auditor' }]), access },
    async () => ({ status: 201, body: {} }),
  );

  it('refuses a role without the permission with 403 before reading the body', async () => {
    const res = await handler(
      httpEvent({
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer auditor-token-1234' },
        body: '{not json',
      }),
      lambdaContext,
    );
    expect(res.statusCode).toBe(403);
    expect(parse(res).error.code).toBe('FORBIDDEN');
    expect(parse(res).error.message).toContain('needs the role admin or workload');
  });

  it('fails at construction for a route missing from ROUTE_PERMISSIONS', () => {
    expect(() =>
      makeApiHandler({ name: 'no-such-route', auth: 'none' }, { logger, authenticator }, async () => ({
        status: 200,
        body: {},
      })),
    ).toThrow(/ROUTE_PERMISSIONS/);
  });
});
