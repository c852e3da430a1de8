import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IAMClient, type IAMClientConfig } from '@aws-sdk/client-iam';

/** A policy document as a test writes it; the fake URL-encodes its JSON as IAM does. */
export type FakePolicyDocument = Record<string, unknown>;

export interface FakeInlinePolicy {
  readonly name: string;
  readonly document: FakePolicyDocument;
}

export interface FakeAccessKey {
  readonly id: string;
  readonly status: 'Active' | 'Inactive';
  readonly createDate: Date;
  /** Absent: never used (GetAccessKeyLastUsed then says `N/A` for service and region). */
  readonly lastUsed?: { readonly date: Date; readonly serviceName: string; readonly region: string };
}

export interface FakeIamUser {
  readonly name: string;
  /** Default `/`. */
  readonly path?: string;
  readonly createDate: Date;
  readonly passwordLastUsed?: Date;
  readonly groups?: readonly string[];
  readonly inlinePolicies?: readonly FakeInlinePolicy[];
  /** Managed policy ARNs. */
  readonly attachedPolicies?: readonly string[];
  readonly permissionsBoundary?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly accessKeys?: readonly FakeAccessKey[];
  /** MFA device serial numbers. */
  readonly mfaDevices?: readonly string[];
  /** Its console password (login profile); absent: none, and GetLoginProfile answers NoSuchEntity. */
  readonly loginProfile?: { readonly createDate: Date; readonly passwordResetRequired?: boolean };
}

export interface FakeIamRole {
  readonly name: string;
  readonly path?: string;
  readonly createDate: Date;
  /** The trust policy. */
  readonly trust: FakePolicyDocument;
  /** Default 3600, as IAM's. */
  readonly maxSessionDuration?: number;
  readonly lastUsed?: { readonly date: Date; readonly region: string };
  readonly inlinePolicies?: readonly FakeInlinePolicy[];
  readonly attachedPolicies?: readonly string[];
  readonly permissionsBoundary?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Instance profile names. */
  readonly instanceProfiles?: readonly string[];
}

export interface FakeIamGroup {
  readonly name: string;
  readonly path?: string;
  readonly inlinePolicies?: readonly FakeInlinePolicy[];
  readonly attachedPolicies?: readonly string[];
}

export interface FakeManagedPolicy {
  readonly name: string;
  readonly path?: string;
  /** AWS managed (`arn:aws:iam::aws:policy/…`, filter `AWSManagedPolicy`) rather than the account's own. */
  readonly awsManaged?: boolean;
  /** Every version, as IAM keeps up to five; exactly one should be the default. */
  readonly versions: readonly {
    readonly id: string;
    readonly document: FakePolicyDocument;
    readonly isDefault?: boolean;
  }[];
}

/** What the fake account holds. Tests may change the lists between calls (the fake reads them on every request). */
export interface FakeIamEstate {
  readonly account: string;
  users: FakeIamUser[];
  roles: FakeIamRole[];
  groups: FakeIamGroup[];
  policies: FakeManagedPolicy[];
  /** Access keys of the root user (0 to 2; default 0): GetAccountSummary's `AccountAccessKeysPresent` is 1 if any. */
  rootAccessKeys?: number;
}

/** A request as the fake received it: the `Action` and the other form parameters, and the status answered. */
export interface RecordedIamRequest {
  readonly action: string;
  readonly params: Readonly<Record<string, string>>;
  status: number;
}

export interface FakeIam {
  /** `http://127.0.0.1:<port>`, for `new IAMClient({ endpoint })`. */
  readonly endpoint: string;
  readonly estate: FakeIamEstate;
  /** Every request received, oldest first. */
  readonly requests: RecordedIamRequest[];
  /**
   * The sizes of the next GetAccountAuthorizationDetails pages, in order, whatever MaxItems asks (0 gives an empty
   * page, still truncated while items remain); once used up, pages are MaxItems long again.
   */
  scriptAuthorizationDetailsPages(sizes: readonly number[]): void;
  /** Empty, truncated GetAccountAuthorizationDetails pages served after the last item, before the final page. */
  trailingEmptyPages(count: number): void;
  /** Page size of the other listings (ListRoles, ListUsers, ListAccessKeys, ListMFADevices) whatever MaxItems asks. */
  listPageSize(action: string, size: number | undefined): void;
  /** Answers the next `times` calls of `action` with `Throttling` (status 400, as IAM does). */
  throttle(action: string, times: number): void;
  /** Answers every later call of `action` with `AccessDenied` (status 403), until {@link reset}. */
  deny(action: string): void;
  /** Answers the next `times` calls of `action` (default: all) with the error `code` and `status`. */
  fail(action: string, error: { readonly code: string; readonly status: number; readonly times?: number }): void;
  /** Holds every answer this long (to let concurrent calls overlap); 0 by default. */
  delay(ms: number): void;
  /** The most requests that were being answered at once. */
  readonly maxInFlight: number;
  /** Forgets recorded requests, scripts, injected faults, delay and the in-flight gauge (not the estate). */
  reset(): void;
  close(): Promise<void>;
}

const NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';
const API_VERSION = '2010-05-08';
const ENTITY_FILTERS = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'] as const;
const SIGV4_AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/iam\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/;

class IamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * What the fake serializes: objects become elements, lists become `<member>` elements, maps become `<entry>` elements
 * of a `<key>` and a `<value>`, as in IAM's query XML.
 */
type XmlValue =
  | string
  | number
  | boolean
  | Date
  | undefined
  | readonly XmlValue[]
  | ReadonlyMap<string, XmlValue>
  | { readonly [name: string]: XmlValue };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function toXml(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `<${name}>${value.map((item) => toXml('member', item)).join('')}</${name}>`;
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (value instanceof Map) {
    const entries = [...(value as ReadonlyMap<string, XmlValue>)]
      .map(([key, v]) => `<entry>${toXml('key', key)}${toXml('value', v)}</entry>`)
      .join('');
    return `<${name}>${entries}</${name}>`;
  }
  if (typeof value === 'object') {
    const children = Object.entries(value as Record<string, XmlValue>)
      .map(([child, v]) => toXml(child, v))
      .join('');
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/**
 * A policy document as IAM returns it: JSON, URL-encoded per RFC 3986 (which also encodes `!'()*`, unlike
 * `encodeURIComponent`), here with the indentation a console user's document keeps.
 */
export function iamEncodePolicy(document: FakePolicyDocument): string {
  return encodeURIComponent(JSON.stringify(document, null, 4)).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** IAM's unique ids: a prefix naming the kind, then 17 characters (stable per name here). */
function uniqueId(prefix: string, name: string): string {
  return prefix + createHash('sha256').update(name).digest('hex').slice(0, 17).toUpperCase();
}

/**
 * Starts an AWS IAM stand-in on 127.0.0.1 speaking the query protocol the SDK uses: `POST /` with a form-urlencoded
 * body (`Action=…&Version=2010-05-08&…`, lists as `Name.member.N`), answers `<ActionResponse>` with `<ActionResult>`
 * and `<ResponseMetadata><RequestId>` in IAM's namespace, lists as `<member>` elements, errors as `<ErrorResponse>`.
 * Operations over the test's {@link FakeIamEstate}: GetAccountAuthorizationDetails (Filter, MaxItems, Marker; managed
 * policies with every version; documents URL-encoded), ListRoles, ListUsers, ListAccessKeys, GetAccessKeyLastUsed,
 * ListMFADevices, GetLoginProfile (NoSuchEntity, 404, for a user without a console password) and GetAccountSummary
 * (its `SummaryMap` counted from the estate, with IAM's default quotas). Pages can be scripted short or empty while
 * truncated; throttling and access denial can be injected per action. The SigV4 `Authorization` header is checked
 * for shape, not for a valid signature.
 */
export async function startFakeIam(estate: FakeIamEstate): Promise<FakeIam> {
  const requests: RecordedIamRequest[] = [];
  let pageScript: number[] = [];
  let trailing = 0;
  let listSizes = new Map<string, number>();
  let faults: Array<{ action: string; code: string; status: number; remaining: number }> = [];
  let delayMs = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  const account = () => estate.account;
  const userArn = (user: FakeIamUser) => `arn:aws:iam::${account()}:user${user.path ?? '/'}${user.name}`;
  const roleArn = (role: FakeIamRole) => `arn:aws:iam::${account()}:role${role.path ?? '/'}${role.name}`;
  const policyArn = (policy: FakeManagedPolicy) =>
    policy.awsManaged
      ? `arn:aws:iam::aws:policy${policy.path ?? '/'}${policy.name}`
      : `arn:aws:iam::${account()}:policy${policy.path ?? '/'}${policy.name}`;

  const inlineXml = (policies: readonly FakeInlinePolicy[] | undefined): XmlValue =>
    (policies ?? []).map((policy) => ({ PolicyName: policy.name, PolicyDocument: iamEncodePolicy(policy.document) }));
  const attachedXml = (arns: readonly string[] | undefined): XmlValue =>
    (arns ?? []).map((arn) => ({ PolicyName: arn.slice(arn.lastIndexOf('/') + 1), PolicyArn: arn }));
  const boundaryXml = (arn: string | undefined): XmlValue =>
    arn === undefined
      ? undefined
      : { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: arn };
  const tagsXml = (tags: Readonly<Record<string, string>> | undefined): XmlValue =>
    tags === undefined ? undefined : Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

  function roleXml(role: FakeIamRole): { [name: string]: XmlValue } {
    return {
      Path: role.path ?? '/',
      RoleName: role.name,
      RoleId: uniqueId('AROA', role.name),
      Arn: roleArn(role),
      CreateDate: role.createDate,
      AssumeRolePolicyDocument: iamEncodePolicy(role.trust),
    };
  }

  function roleDetailXml(role: FakeIamRole): XmlValue {
    return {
      ...roleXml(role),
      InstanceProfileList: (role.instanceProfiles ?? []).map((name) => ({
        Path: '/',
        InstanceProfileName: name,
        InstanceProfileId: uniqueId('AIPA', name),
        Arn: `arn:aws:iam::${account()}:instance-profile/${name}`,
        CreateDate: role.createDate,
        Roles: [roleXml(role)],
      })),
      RolePolicyList: inlineXml(role.inlinePolicies),
      AttachedManagedPolicies: attachedXml(role.attachedPolicies),
      PermissionsBoundary: boundaryXml(role.permissionsBoundary),
      Tags: tagsXml(role.tags),
      // IAM sends the element even for a role never used, empty.
      RoleLastUsed:
        role.lastUsed === undefined ? {} : { LastUsedDate: role.lastUsed.date, Region: role.lastUsed.region },
    };
  }

  function userXml(user: FakeIamUser): { [name: string]: XmlValue } {
    return {
      Path: user.path ?? '/',
      UserName: user.name,
      UserId: uniqueId('AIDA', user.name),
      Arn: userArn(user),
      CreateDate: user.createDate,
    };
  }

  function policyDetailXml(policy: FakeManagedPolicy): XmlValue {
    const arn = policyArn(policy);
    const attached = (list: readonly { attachedPolicies?: readonly string[] }[]) =>
      list.filter((entity) => entity.attachedPolicies?.includes(arn)).length;
    const created = new Date('2024-01-01T00:00:00Z');
    return {
      PolicyName: policy.name,
      PolicyId: uniqueId('ANPA', arn),
      Arn: arn,
      Path: policy.path ?? '/',
      DefaultVersionId: policy.versions.find((version) => version.isDefault)?.id,
      AttachmentCount: attached(estate.users) + attached(estate.roles) + attached(estate.groups),
      PermissionsBoundaryUsageCount: 0,
      IsAttachable: true,
      CreateDate: created,
      UpdateDate: created,
      PolicyVersionList: policy.versions.map((version) => ({
        Document: iamEncodePolicy(version.document),
        VersionId: version.id,
        IsDefaultVersion: version.isDefault === true,
        CreateDate: created,
      })),
    };
  }

  function findUser(name: string | undefined): FakeIamUser {
    const user = estate.users.find((u) => u.name === name);
    if (!user) throw new IamError('NoSuchEntity', `The user with name ${name} cannot be found.`, 404);
    return user;
  }

  function maxItems(params: URLSearchParams): number {
    const text = params.get('MaxItems');
    if (text === null) return 100;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > 1000) {
      throw new IamError('ValidationError', `1 validation error detected: Value '${text}' at 'maxItems' failed.`);
    }
    return value;
  }

  /** Markers are opaque to clients; here the base64url of the next offset and of the trailing empty pages served. */
  function readMarker(params: URLSearchParams): { offset: number; trailing: number } {
    const marker = params.get('Marker');
    if (marker === null) return { offset: 0, trailing: 0 };
    const match = /^(\d+):(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
    if (!match) throw new IamError('InvalidInput', 'Invalid Marker.');
    return { offset: Number(match[1]), trailing: Number(match[2]) };
  }
  const marker = (offset: number, served: number) => Buffer.from(`${offset}:${served}`).toString('base64url');

  function page<T>(
    action: string,
    params: URLSearchParams,
    items: readonly T[],
  ): { items: T[]; paging: { IsTruncated: boolean; Marker?: string } } {
    const { offset } = readMarker(params);
    const size = listSizes.get(action) ?? maxItems(params);
    const slice = items.slice(offset, offset + size);
    const next = offset + slice.length;
    return next < items.length
      ? { items: slice, paging: { IsTruncated: true, Marker: marker(next, 0) } }
      : { items: slice, paging: { IsTruncated: false } };
  }

  function authorizationDetails(params: URLSearchParams): { [name: string]: XmlValue } {
    const filters = [...params.entries()]
      .filter(([name]) => /^Filter\.member\.\d+$/.test(name))
      .map(([, value]) => value);
    for (const filter of filters) {
      if (!(ENTITY_FILTERS as readonly string[]).includes(filter)) {
        throw new IamError('ValidationError', `Value '${filter}' at 'filter' failed to satisfy the enum constraint.`);
      }
    }
    const wanted = (filter: string) => filters.length === 0 || filters.includes(filter);
    type Item = { list: 'UserDetailList' | 'GroupDetailList' | 'RoleDetailList' | 'Policies'; xml: XmlValue };
    // Users first, then groups, roles and policies: a user's group and a role's managed policy arrive on later pages.
    const items: Item[] = [
      ...(wanted('User') ? estate.users : []).map(
        (user): Item => ({
          list: 'UserDetailList',
          xml: {
            ...userXml(user),
            UserPolicyList: inlineXml(user.inlinePolicies),
            GroupList: [...(user.groups ?? [])],
            AttachedManagedPolicies: attachedXml(user.attachedPolicies),
            PermissionsBoundary: boundaryXml(user.permissionsBoundary),
            Tags: tagsXml(user.tags),
          },
        }),
      ),
      ...(wanted('Group') ? estate.groups : []).map(
        (group): Item => ({
          list: 'GroupDetailList',
          xml: {
            Path: group.path ?? '/',
            GroupName: group.name,
            GroupId: uniqueId('AGPA', group.name),
            Arn: `arn:aws:iam::${account()}:group${group.path ?? '/'}${group.name}`,
            CreateDate: new Date('2024-01-01T00:00:00Z'),
            GroupPolicyList: inlineXml(group.inlinePolicies),
            AttachedManagedPolicies: attachedXml(group.attachedPolicies),
          },
        }),
      ),
      ...(wanted('Role') ? estate.roles : []).map(
        (role): Item => ({ list: 'RoleDetailList', xml: roleDetailXml(role) }),
      ),
      ...estate.policies
        .filter((policy) => wanted(policy.awsManaged ? 'AWSManagedPolicy' : 'LocalManagedPolicy'))
        .map((policy): Item => ({ list: 'Policies', xml: policyDetailXml(policy) })),
    ];
    const position = readMarker(params);
    const size = pageScript.shift() ?? maxItems(params);
    const slice = items.slice(position.offset, position.offset + size);
    const next = position.offset + slice.length;
    const lists = { UserDetailList: [], GroupDetailList: [], RoleDetailList: [], Policies: [] } as Record<
      Item['list'],
      XmlValue[]
    >;
    for (const item of slice) lists[item.list].push(item.xml);
    let paging: { IsTruncated: boolean; Marker?: string } = { IsTruncated: false };
    if (next < items.length) paging = { IsTruncated: true, Marker: marker(next, 0) };
    else if (position.trailing < trailing) paging = { IsTruncated: true, Marker: marker(next, position.trailing + 1) };
    return { ...lists, ...paging };
  }

  /** GetAccountSummary's map: the estate's counts, and IAM's default quotas. */
  function accountSummary(): Map<string, number> {
    const mfaDevices = estate.users.reduce((sum, user) => sum + (user.mfaDevices?.length ?? 0), 0);
    const local = estate.policies.filter((policy) => !policy.awsManaged);
    return new Map([
      ['GroupPolicySizeQuota', 5120],
      ['InstanceProfilesQuota', 1000],
      ['Policies', local.length],
      ['GroupsPerUserQuota', 10],
      ['InstanceProfiles', new Set(estate.roles.flatMap((role) => role.instanceProfiles ?? [])).size],
      ['AttachedPoliciesPerUserQuota', 10],
      ['Users', estate.users.length],
      ['PoliciesQuota', 1500],
      ['Providers', 0],
      ['AccountMFAEnabled', 0],
      ['AccessKeysPerUserQuota', 2],
      ['AssumeRolePolicySizeQuota', 2048],
      ['PolicyVersionsInUseQuota', 10000],
      ['GlobalEndpointTokenVersion', 1],
      ['VersionsPerPolicyQuota', 5],
      ['AttachedPoliciesPerGroupQuota', 10],
      ['PolicySizeQuota', 6144],
      ['Groups', estate.groups.length],
      ['AccountSigningCertificatesPresent', 0],
      ['UsersQuota', 5000],
      ['ServerCertificatesQuota', 20],
      ['MFADevices', mfaDevices],
      ['UserPolicySizeQuota', 2048],
      ['PolicyVersionsInUse', local.reduce((sum, policy) => sum + policy.versions.length, 0)],
      ['ServerCertificates', 0],
      ['Roles', estate.roles.length],
      ['RolesQuota', 1000],
      ['SigningCertificatesPerUserQuota', 2],
      ['MFADevicesInUse', mfaDevices],
      ['RolePolicySizeQuota', 10240],
      ['AttachedPoliciesPerRoleQuota', 10],
      ['AccountAccessKeysPresent', (estate.rootAccessKeys ?? 0) > 0 ? 1 : 0],
      ['GroupsQuota', 300],
    ]);
  }

  function handle(action: string, params: URLSearchParams): { [name: string]: XmlValue } {
    switch (action) {
      case 'GetAccountAuthorizationDetails':
        return authorizationDetails(params);
      case 'ListRoles': {
        const { items, paging } = page(action, params, estate.roles);
        return {
          Roles: items.map((role) => ({ ...roleXml(role), MaxSessionDuration: role.maxSessionDuration ?? 3600 })),
          ...paging,
        };
      }
      case 'ListUsers': {
        const { items, paging } = page(action, params, estate.users);
        return {
          Users: items.map((user) => ({ ...userXml(user), PasswordLastUsed: user.passwordLastUsed })),
          ...paging,
        };
      }
      case 'ListAccessKeys': {
        const user = findUser(params.get('UserName') ?? undefined);
        const { items, paging } = page(action, params, user.accessKeys ?? []);
        return {
          AccessKeyMetadata: items.map((key) => ({
            UserName: user.name,
            AccessKeyId: key.id,
            Status: key.status,
            CreateDate: key.createDate,
          })),
          ...paging,
        };
      }
      case 'GetAccessKeyLastUsed': {
        const id = params.get('AccessKeyId');
        const user = estate.users.find((u) => u.accessKeys?.some((key) => key.id === id));
        const key = user?.accessKeys?.find((k) => k.id === id);
        if (!user || !key) throw new IamError('NoSuchEntity', `The Access Key with id ${id} cannot be found.`, 404);
        return {
          UserName: user.name,
          AccessKeyLastUsed:
            key.lastUsed === undefined
              ? { ServiceName: 'N/A', Region: 'N/A' }
              : { LastUsedDate: key.lastUsed.date, ServiceName: key.lastUsed.serviceName, Region: key.lastUsed.region },
        };
      }
      case 'ListMFADevices': {
        const user = findUser(params.get('UserName') ?? undefined);
        const { items, paging } = page(action, params, user.mfaDevices ?? []);
        return {
          MFADevices: items.map((serial) => ({
            UserName: user.name,
            SerialNumber: serial,
            EnableDate: new Date('2024-01-01T00:00:00Z'),
          })),
          ...paging,
        };
      }
      case 'GetLoginProfile': {
        const user = findUser(params.get('UserName') ?? undefined);
        if (user.loginProfile === undefined) {
          throw new IamError('NoSuchEntity', `Login Profile for User ${user.name} cannot be found.`, 404);
        }
        return {
          LoginProfile: {
            UserName: user.name,
            CreateDate: user.loginProfile.createDate,
            PasswordResetRequired: user.loginProfile.passwordResetRequired ?? false,
          },
        };
      }
      case 'GetAccountSummary':
        return { SummaryMap: accountSummary() };
      default:
        throw new IamError('InvalidAction', `Could not find operation ${action} for version ${API_VERSION}.`);
    }
  }

  async function respond(req: IncomingMessage): Promise<{ status: number; body: string }> {
    const params = new URLSearchParams(await readBody(req));
    const action = params.get('Action') ?? '';
    const record: RecordedIamRequest = {
      action,
      params: Object.fromEntries([...params.entries()].filter(([name]) => name !== 'Action' && name !== 'Version')),
      status: 200,
    };
    requests.push(record);
    try {
      if (req.method !== 'POST' || req.url !== '/') throw new IamError('InvalidAction', 'POST / only.');
      const authorization = req.headers.authorization;
      if (authorization === undefined) throw new IamError('MissingAuthenticationToken', 'Missing Authentication Token');
      if (!SIGV4_AUTHORIZATION.test(authorization) || req.headers['x-amz-date'] === undefined) {
        throw new IamError('IncompleteSignature', 'The request is not signed with AWS Signature Version 4.');
      }
      if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        throw new IamError('InvalidAction', 'Content-Type must be application/x-www-form-urlencoded.');
      }
      if (params.get('Version') !== API_VERSION) throw new IamError('InvalidAction', 'Version must be 2010-05-08.');
      const fault = faults.find((f) => f.action === action && f.remaining > 0);
      if (fault) {
        fault.remaining--;
        throw new IamError(fault.code, faultMessage(fault.code, action), fault.status);
      }
      const result = handle(action, params);
      const body =
        `<${action}Response xmlns="${NAMESPACE}">${toXml(`${action}Result`, result)}` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
      return { status: 200, body };
    } catch (error) {
      const known = error instanceof IamError;
      record.status = known ? error.status : 500;
      const body =
        `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${known && error.status < 500 ? 'Sender' : 'Receiver'}</Type>` +
        `<Code>${known ? error.code : 'ServiceFailure'}</Code>` +
        `<Message>${escapeXml(known ? error.message : String(error))}</Message></Error>` +
        `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
      return { status: record.status, body };
    }
  }

  function faultMessage(code: string, action: string): string {
    if (code === 'AccessDenied') {
      return `User: arn:aws:sts::${account()}:assumed-role/discovery/run is not authorized to perform: iam:${action} on resource: *`;
    }
    if (code === 'Throttling') return 'Rate exceeded';
    return `Injected ${code}`;
  }

  async function answer(req: IncomingMessage): Promise<{ status: number; body: string }> {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const response = await respond(req);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return response;
    } finally {
      inFlight--;
    }
  }

  const server = createServer((req, res) => {
    answer(req).then(
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
    estate,
    requests,
    scriptAuthorizationDetailsPages: (sizes) => {
      pageScript = [...sizes];
    },
    trailingEmptyPages: (count) => {
      trailing = count;
    },
    listPageSize: (action, size) => {
      if (size === undefined) listSizes.delete(action);
      else listSizes.set(action, size);
    },
    throttle: (action, times) => {
      faults.push({ action, code: 'Throttling', status: 400, remaining: times });
    },
    deny: (action) => {
      faults.push({ action, code: 'AccessDenied', status: 403, remaining: Number.POSITIVE_INFINITY });
    },
    fail: (action, error) => {
      faults.push({
        action,
        code: error.code,
        status: error.status,
        remaining: error.times ?? Number.POSITIVE_INFINITY,
      });
    },
    delay: (ms) => {
      delayMs = ms;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    reset: () => {
      requests.length = 0;
      pageScript = [];
      trailing = 0;
      listSizes = new Map();
      faults = [];
      delayMs = 0;
      maxInFlight = 0;
    },
    close: async () => {
      // The SDK keeps connections alive; close() alone would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Credentials the SDK signs requests to the fake with: any will do, and none is real. */
export const FAKE_IAM_CREDENTIALS = {
  accessKeyId: 'AKIAFAKEIAMTEST00000',
  secretAccessKey: 'fake-iam-test-secret',
} as const;

/**
 * The real SDK client aimed at the fake. One attempt by default, so that a failure is asserted on at once, not after
 * the SDK's retries; pass a `retryStrategy` (or `maxAttempts`) to see those.
 */
export function fakeIamClient(
  endpoint: string,
  retry: Pick<IAMClientConfig, 'retryStrategy' | 'maxAttempts' | 'retryMode'> = {},
): IAMClient {
  return new IAMClient({
    endpoint,
    region: 'us-east-1',
    credentials: FAKE_IAM_CREDENTIALS,
    ...(Object.keys(retry).length === 0 ? { maxAttempts: 1 } : retry),
  });
}
