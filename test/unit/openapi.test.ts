import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ROUTES } from '#functions/routes.ts';
import { issueCertificateBody, routeInputs } from '#lib/http/api-schemas.ts';
import { buildOpenApiDocument } from '#lib/http/openapi.ts';

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument(ROUTES, 'v1') as {
    openapi: string;
    paths: Record<
      string,
      Record<string, { security: unknown[]; parameters: Array<{ name: string; in: string }>; requestBody?: any }>
    >;
  };

  it('is OpenAPI 3.1 and describes every route the router knows, and nothing else', () => {
    expect(document.openapi).toBe('3.1.0');
    const described = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('uses the schemas the handlers validate with', () => {
    const issue = document.paths['/v1/certificates']?.post;
    const { $schema: _ignored, ...expected } = z.toJSONSchema(issueCertificateBody, { io: 'input' });
    expect(issue?.requestBody.content['application/json'].schema).toEqual(expected);
    expect(issue?.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    for (const route of ROUTES) {
      const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(
        operation?.parameters.filter((p) => p.in === 'path').map((p) => p.name),
        route.path,
      ).toEqual(params);
      expect(Boolean(operation?.requestBody), route.path).toBe(Boolean(routeInputs(route.function).body));
    }
  });

  it('marks the IAM routes as authenticated and the public ones as open', () => {
    for (const route of ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation?.security.length === 0, route.path).toBe(route.auth === 'none');
    }
  });
});
