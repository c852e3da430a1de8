import { makeRouteNotFoundHandler } from './handler.ts';

export const handler = makeRouteNotFoundHandler();
