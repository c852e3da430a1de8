import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from '#lib/config/env.ts';
import { type Authenticator, iamAuthenticator } from '#lib/http/authenticator.ts';

/**
 * What every Lambda composition root shares: the logger and IAM authentication (the HTTP API's IAM authorizer has
 * verified SigV4 before the function runs). Built once per container, at cold start.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });

export const authenticator: Authenticator = iamAuthenticator;
