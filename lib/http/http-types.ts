import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/**
 * An API Gateway HTTP API (payload format 2.0) event. With the IAM authorizer, API Gateway adds
 * `requestContext.authorizer.iam`; we read it through a zod schema rather than trusting this type.
 */
export type HttpApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: unknown };
};

export type HttpApiResult = APIGatewayProxyStructuredResultV2;

/** The Lambda signature every API function exports, and the local server calls. */
export type HttpApiHandler = (event: HttpApiEvent, context: Context) => Promise<HttpApiResult>;
