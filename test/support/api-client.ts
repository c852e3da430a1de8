/** A JSON API call to the local server, as the e2e suites make them, and what came back. */
export interface ApiCall {
  /** The Authorization header value; none when undefined. */
  readonly authorization?: string | undefined;
  readonly body?: unknown;
  readonly raw?: string | Uint8Array;
  /** Default application/json when there is a body; null sends none. */
  readonly contentType?: string | null;
  readonly headers?: Record<string, string>;
}

export interface ApiResponse {
  readonly status: number;
  readonly json: any;
  readonly text: string;
  readonly headers: Headers;
}

/** Sends one request (bounded by a 20 s timeout) and reads the answer as text and, when it parses, JSON. */
export async function callApi(base: string, method: string, path: string, call: ApiCall = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...call.headers };
  if (call.authorization !== undefined) headers.authorization = call.authorization;
  let body: string | Uint8Array | undefined;
  if (call.body !== undefined || call.raw !== undefined) {
    if (call.contentType !== null) headers['content-type'] = call.contentType ?? 'application/json';
    body = call.raw ?? JSON.stringify(call.body);
  }
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

/** The number of identities, counted page by page through `GET /v1/identities` (at most 100 pages). */
export async function countIdentities(get: (path: string) => Promise<ApiResponse>): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await get(`/v1/identities?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (res.status !== 200) throw new Error(`GET /v1/identities answered ${res.status}: ${res.text}`);
    count += res.json.items.length;
    cursor = res.json.nextCursor;
    if (!cursor) break;
  }
  return count;
}

/** A request that must be refused: its name, the status and stable code expected, and how to send it. */
export interface RefusedCase {
  readonly name: string;
  readonly status: number;
  readonly code: string;
  readonly send: () => Promise<ApiResponse>;
}

export const refusedCase = (
  name: string,
  status: number,
  code: string,
  send: () => Promise<ApiResponse>,
): RefusedCase => ({ name, status, code, send });
