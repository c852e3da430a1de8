import { http } from '../shared/lambda-runtime.ts';
import { makeGetOpenApiHandler } from './handler.ts';

export const handler = makeGetOpenApiHandler(http);
