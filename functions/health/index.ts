import { http } from '../shared/lambda-runtime.ts';
import { makeHealthHandler } from './handler.ts';

export const handler = makeHealthHandler(http);
