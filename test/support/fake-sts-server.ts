import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STSClient } from '@aws-sdk/client-sts';

/** Who signs with {@link FAKE_STS_CREDENTIALS}: the control plane's own principal, e.g. its Lambda role's session. */
export interface FakeStsCaller {
  readonly account: string;
  readonly arn: string;
  readonly userId: string;
}

/** A role the fake lets callers assume. */
export interface FakeStsRole {
  readonly arn: string;
  /** The `sts:ExternalId` its trust policy requires; absent: none is required. */
  readonly externalId?: string;
  /** Whether its trust policy names the caller. Default true. */
  readonly trustsCaller?: boolean;
  /** Default 3600, as IAM's. */
  readonly maxSessionDuration?: number;
}

/** A request as the fake received it. */
export interface RecordedStsRequest {
  readonly action: string;
  /** The form parameters but `Action` and `Version`. */
  readonly params: Readonly<Record<string, string>>;
  /** The access key id of the SigV4 `Authorization` header, if any. */
  readonly accessKeyId: string | undefined;
  readonly sessionToken: string | undefined;
  status: number;
}

/** Credentials the fake handed out. */
export interface IssuedStsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly roleArn: string;
  readonly sessionName: string;
}

export interface FakeSts {
  /** `http://127.0.0.1:<port>`, for `new STSClient({ endpoint })`. */
  readonly endpoint: string;
  /** The roles that exist; a test may push, remove or replace entries. */
  readonly roles: FakeStsRole[];
  /** Every request received, oldest first. */
  readonly requests: RecordedStsRequest[];
  /** Every set of credentials AssumeRole handed out, oldest first. */
  readonly issued: IssuedStsCredentials[];
  /** Issue credentials that live `seconds` whatever DurationSeconds asked (to test renewal); `undefined` restores. */
  credentialLifetime(seconds: number | undefined): void;
  /** Fails the next `times` (default: every) requests for `action` with the error `code` and HTTP `status`. */
  fail(action: string, error: { readonly code: string; readonly status: number; readonly times?: number }): void;
  /** Rewrites every later successful answer to `action` (the XML text), to hand the client a broken answer. */
  tamper(action: string, transform: ((xml: string) => string) | undefined): void;
  /** Answers every request `ms` later. */
  delay(ms: number): void;
  /** Forgets requests, issued credentials, faults, tampering, delay and lifetime; keeps the roles. */
  reset(): void;
  close(): Promise<void>;
}

/** Credentials the control plane's own STS client signs with; the fake knows their secret and checks signatures. */
export const FAKE_STS_CREDENTIALS = {
  accessKeyId: 'AKIAFAKESTSTEST00000',
  secretAccessKey: 'fake-sts-test-secret',
} as const;

const NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const API_VERSION = '2011-06-15';
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/(sts)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Elements in order; `undefined` members are left out, as STS leaves out what it has not. */
type XmlValue = string | number | undefined | { readonly [name: string]: XmlValue };

function toXml(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value)
      .map(([child, v]) => toXml(child, v))
      .join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** STS writes timestamps as ISO 8601 in UTC without fractions of a second. */
const stsTime = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/**
 * Recomputes the SigV4 signature of a request with `secret` (the header names listed in SignedHeaders, the body's
 * hash), so that the fake tells credentials whose secret is right from ones that only carry the right key id.
 */
function signatureOf(
  req: IncomingMessage,
  body: Buffer,
  auth: { date: string; region: string; service: string; signedHeaders: string },
  secret: string,
): string {
  const headerValue = (name: string) => {
    const value = req.headers[name];
    return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ');
  };
  const names = auth.signedHeaders.split(';');
  const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
  const canonicalQuery = query
    .split('&')
    .filter((pair) => pair !== '')
    .sort()
    .join('&');
  const canonicalRequest = [
    req.method,
    path,
    canonicalQuery,
    ...names.map((name) => `${name}:${headerValue(name)}`),
    '',
    auth.signedHeaders,
    headerValue('x-amz-content-sha256') || sha256(body),
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', headerValue('x-amz-date'), scope, sha256(canonicalRequest)].join('\n');
  const key = [auth.date, auth.region, auth.service, 'aws4_request'].reduce<Buffer>(
    (k, part) => hmac(k, part),
    Buffer.from(`AWS4${secret}`),
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

/**
 * Starts an AWS STS stand-in on 127.0.0.1 speaking the query protocol the SDK uses: `POST /` with a form-urlencoded
 * body (`Action=…&Version=2011-06-15&…`), answers `<ActionResponse><ActionResult>` in STS's namespace, errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 *
 * Requests must be signed with {@link FAKE_STS_CREDENTIALS} (the `caller`) or with credentials the fake issued (with
 * their session token, before they expire); the signature is verified. GetCallerIdentity answers who signed.
 * AssumeRole checks its parameters as STS does (DurationSeconds 900 to the role's maximum, and to one hour when the
 * caller is itself a role session: role chaining), refuses with AccessDenied a role that does not exist, does not
 * trust the caller, or requires another external id (STS does not say which), and issues fresh credentials.
 * `now` is the fake's clock for expirations.
 */
export async function startFakeSts(options: {
  readonly caller: FakeStsCaller;
  readonly roles?: readonly FakeStsRole[];
  readonly now?: () => Date;
}): Promise<FakeSts> {
  const now = options.now ?? (() => new Date());
  const roles: FakeStsRole[] = [...(options.roles ?? [])];
  const requests: RecordedStsRequest[] = [];
  const issued: IssuedStsCredentials[] = [];
  let lifetime: number | undefined;
  let faults: Array<{ action: string; code: string; status: number; remaining: number }> = [];
  let tampering = new Map<string, (xml: string) => string>();
  let delayMs = 0;

  type Principal = { account: string; arn: string; userId: string; session: boolean };

  /** Checks the signature and session token and says who signed, or throws as STS would. */
  function authenticate(req: IncomingMessage, body: Buffer): Principal {
    const header = req.headers.authorization;
    if (header === undefined)
      throw new StsError('MissingAuthenticationToken', 'Request is missing Authentication Token');
    const match = AUTHORIZATION.exec(header);
    const amzDate = req.headers['x-amz-date'];
    if (!match || typeof amzDate !== 'string' || !amzDate.startsWith(match[2] ?? '')) {
      throw new StsError('IncompleteSignature', 'The request is not signed with AWS Signature Version 4.');
    }
    const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = match;
    const token = req.headers['x-amz-security-token'];
    let secret: string;
    let principal: Principal;
    if (accessKeyId === FAKE_STS_CREDENTIALS.accessKeyId) {
      secret = FAKE_STS_CREDENTIALS.secretAccessKey;
      principal = { ...options.caller, session: options.caller.arn.includes(':assumed-role/') };
    } else {
      const session = issued.find((c) => c.accessKeyId === accessKeyId);
      if (!session || token !== session.sessionToken) {
        throw new StsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
      }
      if (now().getTime() >= session.expiration.getTime()) {
        throw new StsError('ExpiredToken', 'The security token included in the request is expired');
      }
      secret = session.secretAccessKey;
      const [, account = '', roleName = ''] = ROLE_ARN.exec(session.roleArn) ?? [];
      principal = {
        account,
        arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${session.sessionName}`,
        userId: `${roleId(session.roleArn)}:${session.sessionName}`,
        session: true,
      };
    }
    if (
      !signedHeaders.split(';').includes('host') ||
      (token !== undefined && !signedHeaders.includes('x-amz-security-token'))
    ) {
      throw new StsError('SignatureDoesNotMatch', 'Host and X-Amz-Security-Token must be signed.', 403);
    }
    // STS also refuses a request signed more than 5 minutes off its clock; the SDK signs with the machine's time while
    // tests move the fake's clock, so that check is left out.
    const expected = signatureOf(req, body, { date, region, service, signedHeaders }, secret);
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      throw new StsError(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
        403,
      );
    }
    return principal;
  }

  function roleId(arn: string): string {
    return `AROA${sha256(arn).slice(0, 17).toUpperCase()}`;
  }

  function validation(field: string, value: string, constraint: string): StsError {
    return new StsError(
      'ValidationError',
      `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`,
    );
  }

  function assumeRole(caller: Principal, params: URLSearchParams): { [name: string]: XmlValue } {
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const duration = Number(params.get('DurationSeconds') ?? '3600');
    const externalId = params.get('ExternalId') ?? undefined;
    if (!ROLE_ARN.test(roleArn)) throw validation('roleArn', roleArn, 'Member must be a role ARN');
    if (!SESSION_NAME.test(sessionName)) {
      throw validation('roleSessionName', sessionName, 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
    }
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw validation('durationSeconds', String(duration), 'Member must have value between 900 and 43200');
    }
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) {
      throw validation('externalId', externalId, 'Member must satisfy regular expression pattern: [\\w+=,.@:/-]*');
    }
    const role = roles.find((r) => r.arn === roleArn);
    // One answer for every refusal: STS does not tell a caller whether the role exists or what its trust requires.
    if (!role || role.trustsCaller === false || (role.externalId !== undefined && role.externalId !== externalId)) {
      throw new StsError(
        'AccessDenied',
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    }
    if (caller.session && duration > 3600) {
      throw new StsError(
        'ValidationError',
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      );
    }
    if (duration > (role.maxSessionDuration ?? 3600)) {
      throw new StsError(
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    }
    const credentials: IssuedStsCredentials = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      // STS's expirations are whole seconds.
      expiration: new Date(Math.floor(now().getTime() / 1000) * 1000 + (lifetime ?? duration) * 1000),
      roleArn,
      sessionName,
    };
    issued.push(credentials);
    const [, account = '', roleName = ''] = ROLE_ARN.exec(roleArn) ?? [];
    return {
      Credentials: {
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        SessionToken: credentials.sessionToken,
        Expiration: stsTime(credentials.expiration),
      },
      AssumedRoleUser: {
        AssumedRoleId: `${roleId(roleArn)}:${sessionName}`,
        Arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      },
    };
  }

  function handle(action: string, caller: Principal, params: URLSearchParams): { [name: string]: XmlValue } {
    switch (action) {
      case 'GetCallerIdentity':
        return { UserId: caller.userId, Account: caller.account, Arn: caller.arn };
      case 'AssumeRole':
        return assumeRole(caller, params);
      default:
        throw new StsError('InvalidAction', `Could not find operation ${action} for version ${API_VERSION}`);
    }
  }

  async function respond(req: IncomingMessage): Promise<{ status: number; body: string }> {
    const raw = await readBody(req);
    const params = new URLSearchParams(raw.toString('utf8'));
    const action = params.get('Action') ?? '';
    const token = req.headers['x-amz-security-token'];
    const record: RecordedStsRequest = {
      action,
      params: Object.fromEntries([...params.entries()].filter(([name]) => name !== 'Action' && name !== 'Version')),
      accessKeyId: /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1],
      sessionToken: typeof token === 'string' ? token : undefined,
      status: 200,
    };
    requests.push(record);
    try {
      if (req.method !== 'POST' || req.url !== '/') throw new StsError('InvalidAction', 'POST / only.');
      if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        throw new StsError('InvalidAction', 'Content-Type must be application/x-www-form-urlencoded.');
      }
      const caller = authenticate(req, raw);
      if (params.get('Version') !== API_VERSION) throw new StsError('InvalidAction', `Version must be ${API_VERSION}.`);
      const fault = faults.find((f) => f.action === action && f.remaining > 0);
      if (fault) {
        fault.remaining--;
        throw new StsError(fault.code, `Injected ${fault.code}`, fault.status);
      }
      const result = handle(action, caller, params);
      const body =
        `<${action}Response xmlns="${NAMESPACE}">${toXml(`${action}Result`, result)}` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
      return { status: 200, body: tampering.get(action)?.(body) ?? body };
    } catch (error) {
      const known = error instanceof StsError;
      record.status = known ? error.status : 500;
      const body =
        `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${record.status < 500 ? 'Sender' : 'Receiver'}</Type>` +
        `<Code>${known ? error.code : 'InternalFailure'}</Code>` +
        `<Message>${escapeXml(known ? error.message : String(error))}</Message></Error>` +
        `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
      return { status: record.status, body };
    }
  }

  const server = createServer((req, res) => {
    respond(req)
      .then(async (answer) => {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        return answer;
      })
      .then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() }).end(body);
        },
        // Only reading the body can fail here (the client went away); there is nobody left to answer.
        () => res.destroy(),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    roles,
    requests,
    issued,
    credentialLifetime: (seconds) => {
      lifetime = seconds;
    },
    fail: (action, error) => {
      faults.push({
        action,
        code: error.code,
        status: error.status,
        remaining: error.times ?? Number.POSITIVE_INFINITY,
      });
    },
    tamper: (action, transform) => {
      if (transform === undefined) tampering.delete(action);
      else tampering.set(action, transform);
    },
    delay: (ms) => {
      delayMs = ms;
    },
    reset: () => {
      requests.length = 0;
      issued.length = 0;
      lifetime = undefined;
      faults = [];
      tampering = new Map();
      delayMs = 0;
    },
    close: async () => {
      // The SDK keeps connections alive; close() alone would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The real SDK client aimed at the fake, signing with {@link FAKE_STS_CREDENTIALS} unless given other credentials
 * (e.g. a provider of assumed credentials). One attempt, so that a failure is asserted on at once.
 */
export function fakeStsClient(
  endpoint: string,
  credentials: NonNullable<ConstructorParameters<typeof STSClient>[0]>['credentials'] = FAKE_STS_CREDENTIALS,
): STSClient {
  return new STSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
}
