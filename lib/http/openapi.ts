import { z } from 'zod';
import { routeInputs } from './api-schemas.ts';
import { inventorySummaryResponse } from './inventory-summary-schema.ts';

/** A route as the route table describes it. */
export interface RouteDescription {
  readonly method: string;
  readonly path: string;
  readonly function: string;
  readonly auth: 'none' | 'iam' | 'enrollment-token';
}

const SUMMARIES: Readonly<Record<string, string>> = {
  health: 'Liveness',
  'get-ca-chain': 'The CA chain as PEM, issuing CA first',
  'get-openapi': 'This API description',
  'issue-certificate': 'Issue a certificate from a PKCS#10 CSR',
  'get-certificate': 'A certificate record and its PEM',
  'revoke-certificate': 'Revoke a certificate (idempotent)',
  'list-identities': 'List identities, filtered and paginated',
  'get-identity':
    'One identity, with its facts, when it was last seen and linked certificates; its version is the ETag',
  'import-identities':
    'Import identities kept elsewhere: application/x-ndjson, one {"type","pem"|"name",…} a line, up to 10,000 lines',
  'get-consolidation': 'Candidates to merge or retire, grouped, each with why and what to do',
  'get-inventory-summary':
    'Counts by type, source, status, risk level and account, the 20 largest owners, and certificate expiry buckets',
  'update-identity': "Set an identity's owner, purpose and tags (If-Match on its version)",
  'list-policies': 'List the issuance policies',
  'get-policy': 'One issuance policy; its version is the ETag',
  'put-policy': 'Create (If-None-Match: *) or replace (If-Match: "<version>") an issuance policy',
  'delete-policy': 'Delete an issuance policy (If-Match: "<version>")',
  'create-enrollment-token': 'Create a one-time enrollment token for a machine outside AWS (shown once)',
  'list-audit-events': "One UTC day's audit entries, oldest first, paginated",
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  // Inputs are described as callers send them (before transforms and defaults are applied).
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

/** The success answers described by a schema, by the function serving the route (the others say "Success"). */
const RESPONSES: Readonly<Record<string, z.ZodType>> = {
  'get-inventory-summary': inventorySummaryResponse,
};

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query' | 'header'): unknown[] {
  if (!schema) return [];
  const described = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(described.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (described.required ?? []).includes(name),
    schema: property,
  }));
}

const errorResponse = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table and the very zod schemas the handlers
 * validate with, so the description cannot drift from what the API accepts.
 */
export function buildOpenApiDocument(routes: readonly RouteDescription[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const inputs = routeInputs(route.function);
    const operation: Record<string, unknown> = {
      operationId: `${route.function.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())}${route.auth === 'enrollment-token' ? 'WithEnrollmentToken' : ''}`,
      summary:
        route.auth === 'enrollment-token'
          ? 'Issue a certificate paid with a one-time enrollment token (Authorization: Bearer <token>)'
          : (SUMMARIES[route.function] ?? route.function),
      security: route.auth === 'iam' ? [{ sigv4: [] }, { bearer: [] }] : route.auth === 'none' ? [] : [{ bearer: [] }],
      parameters: [
        ...parameters(inputs.params, 'path'),
        ...parameters(inputs.query, 'query'),
        ...parameters(inputs.headers, 'header'),
      ],
      responses: { '2XX': { description: 'Success' }, '4XX': errorResponse, '5XX': errorResponse },
    };
    const answer = RESPONSES[route.function];
    if (answer) {
      operation.responses = {
        '200': { description: 'Success', content: { 'application/json': { schema: jsonSchema(answer, 'output') } } },
        '4XX': errorResponse,
        '5XX': errorResponse,
      };
    }
    if (inputs.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(inputs.body) } } };
    }
    paths[route.path] ??= {};
    const item = paths[route.path] ?? {};
    item[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Machine identity control plane', version },
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS SigV4 (service execute-api), checked by the HTTP API IAM authorizer',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An enrollment token (POST /v1/enroll), or locally a token printed by `npm start`',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'requestId'],
              properties: {
                code: { type: 'string', description: 'Stable, machine-readable' },
                message: { type: 'string', description: 'What went wrong and what to do' },
                requestId: { type: 'string' },
                details: { type: 'object' },
              },
            },
          },
        },
      },
    },
  };
}
