import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from '#lib/config/env.ts';
import { AccessControl } from '#lib/domain/access.ts';
import { type MimConfig, parseMimConfig } from '#lib/domain/policy.ts';
import type { ApiHandlerDeps } from '#lib/http/api-handler.ts';
import {
  type Authenticator,
  enrollmentTokenAuthenticator,
  firstOf,
  iamAuthenticator,
} from '#lib/http/authenticator.ts';

/**
 * The validated configuration document (`mim.config.json`), written into every bundle at synth time by the stack's
 * esbuild `define`: the functions run with exactly the document `cdk synth` validated, and it is parsed again here.
 */
declare const __MIM_CONFIG__: string | undefined;

/**
 * What every Lambda composition root shares, built once per container at cold start: the logger, the configuration,
 * authentication (the HTTP API's IAM authorizer has verified SigV4 before the function runs; enrollment tokens are
 * recognized by their prefix) and the role assignments.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });

export const config: MimConfig = parseMimConfig(
  typeof __MIM_CONFIG__ === 'string' ? JSON.parse(__MIM_CONFIG__) : undefined,
  'configuration bundled with this function (rebuild it with cdk synth)',
);

export const authenticator: Authenticator = firstOf(iamAuthenticator, enrollmentTokenAuthenticator);

/** Logger, authenticator and access rules: the part of every handler's deps that is the same in each function. */
export const http: Required<Pick<ApiHandlerDeps, 'logger' | 'authenticator' | 'access'>> = {
  logger,
  authenticator,
  access: new AccessControl(config.roles),
};
