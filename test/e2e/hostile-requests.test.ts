import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import { encode, sequence, tlv } from '#lib/pki/der.ts';
import { encodePem } from '#lib/pki/pem.ts';
import { type ApiResponse, callApi, countIdentities, type RefusedCase, refusedCase } from '../support/api-client.ts';
import { countItems } from '../support/dynamodb.ts';
import { buildCsr, extension, type OpensslKeyType, opensslCsr, run } from '../support/pki-fixtures.ts';
import { localPlaneAccess, type StartedProcess, startLocalPlane } from '../support/processes.ts';

/**
 * A catalogue of hostile or broken requests against `npm start` with a purpose-built configuration
 * (fixtures/hostile.config.json): each is answered with its documented 4xx and error code, the answer leaks no CSR,
 * token or stack frame, the inventory table holds exactly as many items after the request as before, and the server
 * keeps answering. Successful requests the catalogue depends on (spent tokens, idempotency records) are made in
 * beforeAll, outside every case's counting window.
 */

const TABLE = 'mim-inventory';
const PRINCIPALS = ['admin', 'operator', 'auditor', 'payments-api', 'orders-api', 'nobody', 'device-maker'] as const;
type Who = (typeof PRINCIPALS)[number];

let dir: string;
let plane: StartedProcess | undefined;
let base: string;
let dynamo: DynamoDBClient;
const bearer = {} as Record<Who, string>;
/** CSRs by name, all made once in beforeAll. */
const csr: Record<string, string> = {};
/** Enrollment tokens made in beforeAll: spent once, expired, and bound to door-3 (never spent). */
const enrollment = { spent: '', expired: '', bound: '' };
/** The Idempotency-Key payments-api used once (successfully) in beforeAll, with `csr.pay`. */
const USED_IDEMPOTENCY_KEY = `hostile-${randomBytes(8).toString('hex')}`;

interface ApiOptions {
  /** The local principal whose bearer token is sent (default admin); null sends no Authorization header. */
  as?: Who | null;
  /** A raw Authorization header value, instead of `as`. */
  auth?: string;
  body?: unknown;
  raw?: string | Uint8Array;
  /** Default application/json when there is a body; null sends none. */
  contentType?: string | null;
  headers?: Record<string, string>;
}

function api(method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse> {
  const { as, auth, ...call } = options;
  const authorization = auth ?? (as === null ? undefined : `Bearer ${bearer[as ?? 'admin']}`);
  return callApi(base, method, path, { ...call, authorization });
}

const issue = (as: Who, body: unknown, headers?: Record<string, string>) =>
  api('POST', '/v1/certificates', { as, body, ...(headers ? { headers } : {}) });
const enroll = (token: string, body: unknown) => api('POST', '/v1/enroll', { auth: `Bearer ${token}`, body });
const createToken = (body: unknown, as: Who = 'admin') => api('POST', '/v1/enrollment-tokens', { as, body });
const dns = (value: string): SubjectAltName => ({ type: 'dns', value });

function policyDocument(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    principals: ['local:admin'],
    allow: { dnsSuffixes: ['new.example.internal'] },
    ...overrides,
  };
}
const putPolicy = (name: string, document: unknown, headers: Record<string, string>, as: Who = 'admin') =>
  api('PUT', `/v1/policies/${name}`, { as, body: document, headers });

const identityCount = () => countIdentities((path) => api('GET', path));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- CSRs ---------------------------------------------------------------------------------------------------------

const PAY_DNS = 'payments-api.svc.example.internal';
const PAY_SPIFFE = 'spiffe://example.internal/sa/payments-api';
const WILD = 'wild.example.internal';

/** openssl-made CSRs: [name, key type, subject, -addext values]. */
const OPENSSL_CSRS: ReadonlyArray<[string, OpensslKeyType, string, string[]]> = [
  ['pay', 'ec-p256', `/CN=${PAY_DNS}`, [`subjectAltName=DNS:${PAY_DNS},URI:${PAY_SPIFFE}`]],
  ['payPositive', 'ec-p384', `/CN=${PAY_DNS}`, [`subjectAltName=DNS:${PAY_DNS},URI:${PAY_SPIFFE}`]],
  ['payRetry', 'ec-p256', '/', [`subjectAltName=DNS:${PAY_DNS}`]],
  ['payRsa', 'rsa2048', `/CN=${PAY_DNS}`, [`subjectAltName=DNS:${PAY_DNS}`]],
  ['payEd25519', 'ed25519', '/', [`subjectAltName=DNS:${PAY_DNS}`]],
  ['payOutside', 'ec-p256', '/CN=www.example.com', ['subjectAltName=DNS:www.example.com']],
  ['payOrdersSpiffe', 'ec-p256', '/', ['subjectAltName=URI:spiffe://example.internal/sa/orders-api']],
  ['payOrdersDns', 'ec-p256', '/', ['subjectAltName=DNS:orders-api.svc.example.internal']],
  ['payOrdersMixed', 'ec-p256', '/', [`subjectAltName=DNS:${PAY_DNS},DNS:orders-api.svc.example.internal`]],
  ['payIp', 'ec-p256', '/', [`subjectAltName=DNS:${PAY_DNS},IP:10.20.0.5`]],
  ['payWildcard', 'ec-p256', '/', ['subjectAltName=DNS:*.svc.example.internal']],
  ['payCnNotInSan', 'ec-p256', '/CN=other.svc.example.internal', [`subjectAltName=DNS:${PAY_DNS}`]],
  ['payGlobalDeny', 'ec-p256', '/', ['subjectAltName=DNS:payments-api.corp.example.internal']],
  ['rsa1024', 'rsa1024', '/', [`subjectAltName=DNS:host.${WILD}`]],
  ['p192', 'ec-p192', '/', [`subjectAltName=DNS:host.${WILD}`]],
  ['p521', 'ec-p521', '/', [`subjectAltName=DNS:host.${WILD}`]],
  ['ed448', 'ed448', '/', [`subjectAltName=DNS:host.${WILD}`]],
  ['caTrue', 'ec-p256', '/', [`subjectAltName=DNS:host.${WILD}`, 'basicConstraints=critical,CA:TRUE']],
  [
    'keyCertSign',
    'ec-p256',
    '/',
    [`subjectAltName=DNS:host.${WILD}`, 'keyUsage=critical,digitalSignature,keyCertSign'],
  ],
  ['crlSign', 'ec-p256', '/', [`subjectAltName=DNS:host.${WILD}`, 'keyUsage=cRLSign']],
  [
    'ignoredExtensions',
    'ec-p256',
    `/CN=ext.${WILD}/O=Evil Corp`,
    [
      `subjectAltName=DNS:ext.${WILD}`,
      '1.3.6.1.4.1.55555.1=ASN1:UTF8String:hostile-custom-extension',
      `nameConstraints=critical,permitted;DNS:.${WILD}`,
      'extendedKeyUsage=codeSigning,OCSPSigning',
      'basicConstraints=critical,CA:FALSE,pathlen:0',
    ],
  ],
  ['wildHost', 'ec-p256', '/', [`subjectAltName=DNS:host.${WILD}`]],
  ['wildIpOutside', 'ec-p256', '/', [`subjectAltName=DNS:host.${WILD},IP:10.21.0.1`]],
  ['wildIpv6', 'ec-p256', '/', [`subjectAltName=DNS:host.${WILD},IP:::1`]],
  ['wildStar', 'ec-p256', '/', [`subjectAltName=DNS:*.${WILD}`]],
  ['doubleStar', 'ec-p256', '/', [`subjectAltName=DNS:*.*.${WILD}`]],
  ['partialStar', 'ec-p256', '/', [`subjectAltName=DNS:a*.${WILD}`]],
  ['starTld', 'ec-p256', '/', ['subjectAltName=DNS:*.internal']],
  ['trailingDot', 'ec-p256', '/', [`subjectAltName=DNS:host.${WILD}.`]],
  ['emptyLabel', 'ec-p256', '/', [`subjectAltName=DNS:host..${WILD}`]],
  ['label64', 'ec-p256', '/', [`subjectAltName=DNS:${'a'.repeat(64)}.${WILD}`]],
  ['name254', 'ec-p256', '/', [`subjectAltName=DNS:${Array(4).fill('b'.repeat(60)).join('.')}.${WILD}`]],
  ['hyphenEdge', 'ec-p256', '/', [`subjectAltName=DNS:-host.${WILD}`]],
  ['underscore', 'ec-p256', '/', [`subjectAltName=DNS:my_host.${WILD}`]],
  ['mixedScriptALabel', 'ec-p256', '/', [`subjectAltName=DNS:xn--pple-43d.${WILD}`]],
  ['bogusALabel', 'ec-p256', '/', [`subjectAltName=DNS:xn--a.${WILD}`]],
  ['policyDeny', 'ec-p256', '/', ['subjectAltName=DNS:secret.wild.example.internal']],
  ['globalDeny', 'ec-p256', '/', ['subjectAltName=DNS:host.corp.example.internal']],
  ['email', 'ec-p256', '/', ['subjectAltName=email:root@wild.example.internal']],
  ['spiffeDotDot', 'ec-p256', '/', ['subjectAltName=URI:spiffe://example.internal/sa/../orders-api']],
  ['noNames', 'ec-p256', '/O=Nobody', []],
  ['door1', 'ec-p256', '/', ['subjectAltName=DNS:door-1.devices.example.internal']],
  ['door2', 'rsa3072', '/', ['subjectAltName=DNS:door-2.devices.example.internal']],
  ['door3', 'ec-p256', '/', ['subjectAltName=DNS:door-3.devices.example.internal']],
  ['door3Ed25519', 'ed25519', '/', ['subjectAltName=DNS:door-3.devices.example.internal']],
  ['door3Rsa2048', 'rsa2048', '/', ['subjectAltName=DNS:door-3.devices.example.internal']],
  ['door4', 'ec-p256', '/', ['subjectAltName=DNS:door-4.devices.example.internal']],
  [
    'door3And4',
    'ec-p256',
    '/',
    ['subjectAltName=DNS:door-3.devices.example.internal,DNS:door-4.devices.example.internal'],
  ],
  ['door5', 'ec-p256', '/', ['subjectAltName=DNS:door-5.devices.example.internal']],
  ['deviceWildcard', 'ec-p256', '/', ['subjectAltName=DNS:*.devices.example.internal']],
  // For the `wide` policy (see WIDE_POLICY). (A CSR carries an IP as octets: its spelling is ours, not the CSR's.)
  ['wideStar', 'ec-p256', '/', ['subjectAltName=DNS:*.example.internal']],
  ['wideBelowDeniedWildcard', 'ec-p256', '/', ['subjectAltName=DNS:a.blocked.example.internal']],
  ['wideMappedIp', 'ec-p256', '/', ['subjectAltName=IP:::ffff:10.0.0.1']],
  ['wideUriNotSpiffe', 'ec-p256', '/', ['subjectAltName=URI:https://x.example/ns/prod/a%20b']],
  ['wideSpiffeApex', 'ec-p256', '/', ['subjectAltName=URI:spiffe://example.internal/ns/prod']],
];

/**
 * A policy put through the API in beforeAll, for orders-api only (so that its deny rules touch no other case), whose
 * allow rules reach past its deny rules and the global deny of corp.example.internal in each way a name slipped past
 * a deny rule before issue #8: a wildcard one label above a denied zone, a name one label below a denied wildcard, an
 * IPv4-mapped spelling of a denied IPv4 address under an IPv6 allow range, a non-SPIFFE URI below a denied prefix,
 * and the apex of a denied SPIFFE prefix.
 */
const WIDE_POLICY = {
  name: 'wide',
  principals: ['local:orders-api'],
  allow: {
    dnsSuffixes: ['example.internal'],
    ipRanges: ['::/0'],
    uris: ['spiffe://example.internal/*', 'https://x.example/ns/prod/a%20b'],
  },
  deny: {
    dnsNames: ['*.blocked.example.internal'],
    ipRanges: ['10.0.0.0/8'],
    uris: ['spiffe://example.internal/ns/prod/*', 'https://x.example/ns/prod/*'],
  },
  allowWildcardCertificates: true,
};

async function makeOpensslCsrs(): Promise<void> {
  await Promise.all(
    OPENSSL_CSRS.map(async ([name, key, subject, addext]) => {
      csr[name] = (await opensslCsr(dir, key, { subject, addext })).csrPem;
    }),
  );
  await Promise.all([
    (async () => {
      csr.sha1 = (
        await opensslCsr(dir, 'ec-p256', { addext: [`subjectAltName=DNS:host.${WILD}`], digest: 'sha1' })
      ).csrPem;
    })(),
    (async () => {
      const out = join(dir, 'secp256k1.csr');
      await run('openssl', [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:secp256k1',
        '-nodes',
        '-keyout',
        join(dir, 'secp256k1.key'),
        '-out',
        out,
        '-subj',
        '/',
        '-addext',
        `subjectAltName=DNS:host.${WILD}`,
      ]);
      csr.secp256k1 = await readFile(out, 'utf8');
    })(),
  ]);
}

/** CSRs openssl will not write, built with the project's DER writer and node:crypto. */
function makeHandBuiltCsrs(): void {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const build = (options: Omit<Parameters<typeof buildCsr>[0], 'privateKey' | 'publicKeySpki'>) =>
    buildCsr({ privateKey, publicKeySpki: spki, ...options });
  csr.nul = build({ names: [dns(`host\u0000.${WILD}`)] });
  csr.nulEvil = build({ names: [dns(`${PAY_DNS}\u0000.evil.example.com`)] });
  csr.controlChar = build({ names: [dns(`host\n.${WILD}`)] });
  // Cyrillic "а" (U+0430) in a U-label: as raw UTF-8 bytes in the dNSName (an IA5String), and as a UTF8String CN.
  csr.cyrillicSan = build({
    extensions: [extension('2.5.29.17', encode(sequence(tlv(0x82, Buffer.from(`\u0430pple.${WILD}`, 'utf8')))))],
  });
  csr.cyrillicCn = build({ commonName: `\u0430pple.${WILD}` });
  csr.kelvinCn = build({ commonName: `\u212Aey.${WILD}` });
  csr.thousandNames = build({
    names: Array.from({ length: 1000 }, (_, i) => dns(`h${i}.${WILD}`)),
  });
  csr.ipOnlyUnknownLength = build({
    extensions: [extension('2.5.29.17', encode(sequence(tlv(0x87, Buffer.from([10, 20, 0])))))],
  });
}

/** Variants of a good CSR, damaged in transport. */
function makeDamagedCsrs(): void {
  const good = csr.wildHost ?? '';
  const der = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  csr.trailingJunk = `${good.trim()}\nthis is not part of the CSR\n`;
  csr.twoBlocks = `${good.trim()}\n${good.trim()}\n`;
  csr.truncatedDer = encodePem(der.subarray(0, der.length - 24), 'CERTIFICATE REQUEST');
  csr.trailingDer = encodePem(Buffer.concat([der, Buffer.from([0, 0])]), 'CERTIFICATE REQUEST');
  csr.base64Garbage = '-----BEGIN CERTIFICATE REQUEST-----\n!!not*base64$$\n-----END CERTIFICATE REQUEST-----\n';
  csr.wrongLabel = encodePem(der, 'CERTIFICATE');
  const tampered = Buffer.from(der);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x01;
  csr.badSignature = encodePem(tampered, 'CERTIFICATE REQUEST');
  csr.noPemArmour = der.toString('base64');
  csr.derAsText = der.toString('latin1');
}

// ---- lifecycle ----------------------------------------------------------------------------------------------------

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mim-hostile-'));
  const dataDir = join(dir, 'data');
  const [started] = await Promise.all([
    startLocalPlane(dataDir, { env: { MIM_CONFIG: join(import.meta.dirname, 'fixtures', 'hostile.config.json') } }),
    makeOpensslCsrs(),
  ]);
  plane = started.plane;
  base = started.base;
  makeHandBuiltCsrs();
  makeDamagedCsrs();

  const access = await localPlaneAccess(plane, dataDir, PRINCIPALS);
  dynamo = access.dynamo;
  Object.assign(bearer, access.bearer);

  // Setup (successful requests, outside every case's counting window).
  const expired = await createToken({ policy: 'devices', names: [dns('door-5.devices.example.internal')], ttl: '1s' });
  expect(expired.status, expired.text).toBe(201);
  const expiredAt = Date.parse(expired.json.expiresAt);
  enrollment.expired = expired.json.token;

  const spent = await createToken({ policy: 'devices', names: [dns('door-2.devices.example.internal')] });
  expect(spent.status, spent.text).toBe(201);
  enrollment.spent = spent.json.token;
  const spentOnce = await enroll(enrollment.spent, { csr: csr.door2 });
  expect(spentOnce.status, spentOnce.text).toBe(201);

  const bound = await createToken({ policy: 'devices', names: [dns('door-3.devices.example.internal')] });
  expect(bound.status, bound.text).toBe(201);
  enrollment.bound = bound.json.token;

  const first = await issue('payments-api', { csr: csr.pay }, { 'idempotency-key': USED_IDEMPOTENCY_KEY });
  expect(first.status, first.text).toBe(201);

  const wide = await putPolicy('wide', WIDE_POLICY, { 'if-none-match': '*' });
  expect(wide.status, wide.text).toBe(201);

  // The expired token must be past its expiry (bounded: at most ~1.5 s from its creation).
  await sleep(Math.max(0, Math.min(1_500, expiredAt + 500 - Date.now())));
}, 120_000);

afterAll(async () => {
  dynamo?.destroy();
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

// ---- the catalogue -----------------------------------------------------------------------------------------------

const c = refusedCase;

const asAdminWild =
  (csrName: string, extra: Record<string, unknown> = {}) =>
  () =>
    issue('admin', { csr: csr[csrName], policy: 'wild', ...extra });
const asPayments =
  (csrName: string, extra: Record<string, unknown> = {}) =>
  () =>
    issue('payments-api', { csr: csr[csrName], ...extra });
const asOrders = (csrName: string) => () => issue('orders-api', { csr: csr[csrName], policy: 'wide' });

const CSR_CASES: RefusedCase[] = [
  c('non-PEM garbage', 400, 'CSR_MALFORMED', () => issue('admin', { csr: 'hello, I am a certificate request' })),
  c('PEM with trailing junk after END', 400, 'CSR_MALFORMED', asAdminWild('trailingJunk')),
  c('two PEM blocks', 400, 'CSR_MALFORMED', asAdminWild('twoBlocks')),
  c('truncated DER', 400, 'CSR_MALFORMED', asAdminWild('truncatedDer')),
  c('DER with trailing bytes', 400, 'CSR_MALFORMED', asAdminWild('trailingDer')),
  c('base64 garbage inside PEM armour', 400, 'CSR_MALFORMED', asAdminWild('base64Garbage')),
  c('PEM labelled CERTIFICATE', 400, 'CSR_MALFORMED', asAdminWild('wrongLabel')),
  c('base64 without PEM armour', 400, 'CSR_MALFORMED', asAdminWild('noPemArmour')),
  c('raw DER bytes as text', 400, 'CSR_MALFORMED', asAdminWild('derAsText')),
  c('signature that does not verify', 400, 'CSR_SIGNATURE_INVALID', asAdminWild('badSignature')),
  c('ecdsa-with-SHA1 signature', 400, 'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED', asAdminWild('sha1')),
  c('RSA 1024 key', 400, 'KEY_TOO_WEAK', asAdminWild('rsa1024')),
  c('EC P-192 key', 400, 'KEY_UNSUPPORTED', asAdminWild('p192')),
  c('EC secp256k1 key', 400, 'KEY_UNSUPPORTED', asAdminWild('secp256k1')),
  c('EC P-521 key', 400, 'KEY_UNSUPPORTED', asAdminWild('p521')),
  c('Ed448 key', 400, 'KEY_UNSUPPORTED', asAdminWild('ed448')),
  c('basicConstraints CA:TRUE', 400, 'CSR_REQUESTS_CA', asAdminWild('caTrue')),
  c('keyUsage keyCertSign', 400, 'CSR_REQUESTS_CA', asAdminWild('keyCertSign')),
  c('keyUsage cRLSign', 400, 'CSR_REQUESTS_CA', asAdminWild('crlSign')),
  c('email subjectAltName', 400, 'NAME_INVALID', asAdminWild('email')),
  c('IP subjectAltName of 3 octets', 400, 'CSR_MALFORMED', asAdminWild('ipOnlyUnknownLength')),
  c('no names at all', 400, 'CSR_NO_NAMES', asAdminWild('noNames')),
  c('1000 subjectAltNames', 400, 'TOO_MANY_NAMES', asAdminWild('thousandNames')),
  c('CN that is not among the SANs', 400, 'CSR_CN_NOT_IN_SAN', asPayments('payCnNotInSan')),
];

const NAME_CASES: RefusedCase[] = [
  c('payments-api asks for a name outside its policy', 403, 'NAME_NOT_ALLOWED', asPayments('payOutside')),
  c("payments-api asks for orders-api's SPIFFE ID", 403, 'NAME_NOT_ALLOWED', asPayments('payOrdersSpiffe')),
  c("payments-api asks for orders-api's DNS name", 403, 'NAME_NOT_ALLOWED', asPayments('payOrdersDns')),
  c("payments-api asks for its own and orders-api's names", 403, 'NAME_NOT_ALLOWED', asPayments('payOrdersMixed')),
  c('SPIFFE ID with a .. segment', 400, 'NAME_INVALID', asPayments('spiffeDotDot')),
  c('IP SAN on a policy without ipRanges', 403, 'NAME_NOT_ALLOWED', asPayments('payIp')),
  c('IP SAN outside the allowed CIDR', 403, 'NAME_NOT_ALLOWED', asAdminWild('wildIpOutside')),
  c('IPv6 SAN outside the allowed CIDR', 403, 'NAME_NOT_ALLOWED', asAdminWild('wildIpv6')),
  c('wildcard on a policy without wildcards (services)', 403, 'WILDCARD_NOT_ALLOWED', asPayments('payWildcard')),
  c('wildcard on a policy without wildcards (devices)', 403, 'WILDCARD_NOT_ALLOWED', () =>
    issue('admin', { csr: csr.deviceWildcard, policy: 'devices' }),
  ),
  c('wildcard covering a denied name', 403, 'NAME_DENIED', asAdminWild('wildStar')),
  c('*.*.wild.example.internal', 400, 'NAME_INVALID', asAdminWild('doubleStar')),
  c('a*.wild.example.internal', 400, 'NAME_INVALID', asAdminWild('partialStar')),
  c('wildcard under a single label (*.internal)', 400, 'NAME_INVALID', asAdminWild('starTld')),
  c('name denied by the global deny', 403, 'NAME_DENIED', asAdminWild('globalDeny')),
  c('workload name under the globally denied zone', 403, 'NAME_DENIED', asPayments('payGlobalDeny')),
  c("name denied by the policy's own deny", 403, 'NAME_DENIED', asAdminWild('policyDeny')),
  c('wildcard one label above the globally denied zone (*.example.internal)', 403, 'NAME_DENIED', asOrders('wideStar')),
  c('name one label below a denied wildcard', 403, 'NAME_DENIED', asOrders('wideBelowDeniedWildcard')),
  c('IPv4-mapped IPv6 spelling of a denied IPv4 address', 403, 'NAME_DENIED', asOrders('wideMappedIp')),
  c('non-SPIFFE URI below a denied prefix', 403, 'NAME_DENIED', asOrders('wideUriNotSpiffe')),
  c('the apex of a denied SPIFFE prefix', 403, 'NAME_DENIED', asOrders('wideSpiffeApex')),
  c('name with NUL', 400, 'NAME_INVALID', asAdminWild('nul')),
  c('allowed name, NUL, then another zone', 400, 'NAME_INVALID', asPayments('nulEvil')),
  c('name with a newline', 400, 'NAME_INVALID', asAdminWild('controlChar')),
  c('trailing-dot name', 400, 'NAME_INVALID', asAdminWild('trailingDot')),
  c('empty label', 400, 'NAME_INVALID', asAdminWild('emptyLabel')),
  c('64-character label', 400, 'NAME_INVALID', asAdminWild('label64')),
  c('name longer than 253 characters', 400, 'NAME_INVALID', asAdminWild('name254')),
  c('label starting with a hyphen', 400, 'NAME_INVALID', asAdminWild('hyphenEdge')),
  c('label with an underscore', 400, 'NAME_INVALID', asAdminWild('underscore')),
  c('Cyrillic look-alike U-label in the SAN (UTF-8 bytes)', 400, 'CSR_MALFORMED', asAdminWild('cyrillicSan')),
  c('Cyrillic look-alike U-label as the only CN', 400, 'NAME_INVALID', asAdminWild('cyrillicCn')),
  c('Kelvin sign look-alike as the only CN', 400, 'NAME_INVALID', asAdminWild('kelvinCn')),
  c('xn-- A-label mixing Cyrillic and Latin', 400, 'NAME_INVALID', asAdminWild('mixedScriptALabel')),
  c('xn-- label that is not valid punycode', 400, 'NAME_INVALID', asAdminWild('bogusALabel')),
];

const BODY_CASES: RefusedCase[] = [
  c('validity longer than the policy max (8d > 7d)', 403, 'VALIDITY_TOO_LONG', asPayments('pay', { validity: '8d' })),
  c('validity of 12 digits of days', 403, 'VALIDITY_TOO_LONG', asPayments('pay', { validity: '999999999999d' })),
  c('negative validity', 400, 'VALIDITY_INVALID', asPayments('pay', { validity: '-1h' })),
  c('zero validity', 400, 'VALIDITY_INVALID', asPayments('pay', { validity: '0h' })),
  c("validity '24' without unit", 400, 'VALIDITY_INVALID', asPayments('pay', { validity: '24' })),
  c("validity '1y'", 400, 'VALIDITY_INVALID', asPayments('pay', { validity: '1y' })),
  c("validity '1.5h'", 400, 'VALIDITY_INVALID', asPayments('pay', { validity: '1.5h' })),
  c("validity ''", 400, 'VALIDITY_INVALID', asPayments('pay', { validity: '' })),
  c('validity of 13 digits', 400, 'VALIDITY_INVALID', asPayments('pay', { validity: '9999999999999d' })),
  c('validity longer than 16 characters', 400, 'VALIDATION_FAILED', asPayments('pay', { validity: '1'.repeat(17) })),
  c('validity of the wrong JSON type', 400, 'VALIDATION_FAILED', asPayments('pay', { validity: 24 })),
  c(
    'extendedKeyUsage the policy does not grant',
    403,
    'EKU_NOT_ALLOWED',
    asAdminWild('wildHost', {
      extendedKeyUsages: ['clientAuth'],
    }),
  ),
  c(
    'extendedKeyUsage that does not exist',
    400,
    'VALIDATION_FAILED',
    asPayments('pay', {
      extendedKeyUsages: ['codeSigning'],
    }),
  ),
  c('empty extendedKeyUsages', 400, 'VALIDATION_FAILED', asPayments('pay', { extendedKeyUsages: [] })),
  c('RSA key on the EC-only policy', 403, 'KEY_NOT_ALLOWED', asPayments('payRsa')),
  c('Ed25519 key on the EC-only policy', 403, 'KEY_NOT_ALLOWED', asPayments('payEd25519')),
  c('RSA 2048 on a policy needing 3072', 403, 'KEY_NOT_ALLOWED', () =>
    issue('admin', { csr: csr.door3Rsa2048, policy: 'devices' }),
  ),
  c('unknown JSON field', 400, 'VALIDATION_FAILED', asPayments('pay', { isCa: true })),
  c('__proto__ field', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/certificates', {
      as: 'payments-api',
      raw: `{"csr":${JSON.stringify(csr.pay)},"__proto__":{"policy":"wild"}}`,
    }),
  ),
  c('wrong content type (text/plain)', 415, 'UNSUPPORTED_MEDIA_TYPE', () =>
    api('POST', '/v1/certificates', { raw: JSON.stringify({ csr: csr.wildHost }), contentType: 'text/plain' }),
  ),
  c('wrong content type (application/pkcs10)', 415, 'UNSUPPORTED_MEDIA_TYPE', () =>
    api('POST', '/v1/certificates', { raw: csr.wildHost ?? '', contentType: 'application/pkcs10' }),
  ),
  c('content type application/json-seq', 415, 'UNSUPPORTED_MEDIA_TYPE', () =>
    api('POST', '/v1/certificates', { raw: JSON.stringify({ csr: csr.wildHost }), contentType: 'application/jsonx' }),
  ),
  c('missing content type', 415, 'UNSUPPORTED_MEDIA_TYPE', () =>
    api('POST', '/v1/certificates', { raw: Buffer.from(JSON.stringify({ csr: csr.wildHost })), contentType: null }),
  ),
  c('1 MiB body', 413, 'PAYLOAD_TOO_LARGE', () =>
    api('POST', '/v1/certificates', { body: { csr: 'A'.repeat(1024 * 1024) } }),
  ),
  c('csr longer than 60000 characters', 400, 'VALIDATION_FAILED', () => issue('admin', { csr: 'A'.repeat(60_001) })),
  c('JSON nested 10000 levels deep', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/certificates', { raw: `${'{"a":'.repeat(10_000)}"x"${'}'.repeat(10_000)}` }),
  ),
  c('csr of arrays nested 10000 levels deep', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/certificates', { raw: `{"csr":${'['.repeat(10_000)}${']'.repeat(10_000)}}` }),
  ),
  c('JSON nested 40000 levels deep (over 64 KiB)', 413, 'PAYLOAD_TOO_LARGE', () =>
    api('POST', '/v1/certificates', { raw: `${'['.repeat(40_000)}${']'.repeat(40_000)}` }),
  ),
  c('JSON array instead of an object', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/certificates', { raw: JSON.stringify([{ csr: csr.wildHost }]) }),
  ),
  c('JSON null', 400, 'VALIDATION_FAILED', () => api('POST', '/v1/certificates', { raw: 'null' })),
  c('empty body', 400, 'BODY_REQUIRED', () => api('POST', '/v1/certificates', { raw: '' })),
  c('whitespace body', 400, 'BODY_REQUIRED', () => api('POST', '/v1/certificates', { raw: ' \n\t ' })),
  c('truncated JSON', 400, 'BODY_NOT_JSON', () => api('POST', '/v1/certificates', { raw: '{"csr":' })),
  c('csr of the wrong JSON type (number)', 400, 'VALIDATION_FAILED', () => issue('admin', { csr: 42 })),
  c('csr of the wrong JSON type (object)', 400, 'VALIDATION_FAILED', () => issue('admin', { csr: { pem: 'x' } })),
  c('empty csr', 400, 'VALIDATION_FAILED', () => issue('admin', { csr: '' })),
  c('missing csr', 400, 'VALIDATION_FAILED', () => issue('admin', { validity: '1h' })),
  // An unknown policy is answered as one the caller may not use: a workload cannot probe which policies exist.
  c('unknown policy name', 403, 'POLICY_NOT_PERMITTED', asPayments('pay', { policy: 'nope' })),
  c('malformed policy name', 400, 'VALIDATION_FAILED', asPayments('pay', { policy: '../wild' })),
  c('a policy the principal may not use', 403, 'POLICY_NOT_PERMITTED', asPayments('pay', { policy: 'wild' })),
  c('a policy created through the API that the principal may not use', 403, 'POLICY_NOT_PERMITTED', () =>
    issue('payments-api', { csr: csr.pay, policy: 'wide' }),
  ),
];

const ROLE_CASES: RefusedCase[] = [
  c('nobody (no role) asks for a certificate', 403, 'FORBIDDEN', () => issue('nobody', { csr: csr.pay })),
  c('nobody lists identities', 403, 'FORBIDDEN', () => api('GET', '/v1/identities', { as: 'nobody' })),
  c('workload whose name matches no policy', 403, 'NO_MATCHING_POLICY', () =>
    issue('device-maker', { csr: csr.door1 }),
  ),
  c('auditor issues', 403, 'FORBIDDEN', () => issue('auditor', { csr: csr.wildHost })),
  c('auditor revokes', 403, 'FORBIDDEN', () =>
    api('POST', '/v1/certificates/0a/revoke', { as: 'auditor', body: { reason: 'superseded' } }),
  ),
  c('auditor replaces a policy', 403, 'FORBIDDEN', () =>
    putPolicy('services', policyDocument('services'), { 'if-match': '"1"' }, 'auditor'),
  ),
  c('auditor creates an enrollment token', 403, 'FORBIDDEN', () =>
    createToken({ policy: 'devices', names: [dns('door-9.devices.example.internal')] }, 'auditor'),
  ),
  c('operator issues', 403, 'FORBIDDEN', () => issue('operator', { csr: csr.wildHost })),
  c('operator creates a policy', 403, 'FORBIDDEN', () =>
    putPolicy('operator-made', policyDocument('operator-made'), { 'if-none-match': '*' }, 'operator'),
  ),
  c('operator deletes a policy', 403, 'FORBIDDEN', () =>
    api('DELETE', '/v1/policies/services', { as: 'operator', headers: { 'if-match': '"1"' } }),
  ),
  c('operator creates an enrollment token', 403, 'FORBIDDEN', () =>
    createToken({ policy: 'devices', names: [dns('door-9.devices.example.internal')] }, 'operator'),
  ),
  c('workload lists identities', 403, 'FORBIDDEN', () => api('GET', '/v1/identities', { as: 'payments-api' })),
  c('workload lists policies', 403, 'FORBIDDEN', () => api('GET', '/v1/policies', { as: 'payments-api' })),
  c('workload reads a certificate', 403, 'FORBIDDEN', () => api('GET', '/v1/certificates/0a', { as: 'orders-api' })),
  c('workload revokes', 403, 'FORBIDDEN', () =>
    api('POST', '/v1/certificates/0a/revoke', { as: 'payments-api', body: { reason: 'keyCompromise' } }),
  ),
  c('workload creates an enrollment token', 403, 'FORBIDDEN', () =>
    createToken({ policy: 'devices', names: [dns('door-9.devices.example.internal')] }, 'payments-api'),
  ),
  c('workload writes a policy', 403, 'FORBIDDEN', () =>
    putPolicy(
      'services',
      policyDocument('services', { principals: ['local:*'] }),
      { 'if-match': '"1"' },
      'payments-api',
    ),
  ),
  c('enrollment token lists identities', 403, 'FORBIDDEN', () =>
    api('GET', '/v1/identities', { auth: `Bearer ${enrollment.bound}` }),
  ),
  c('enrollment token creates an enrollment token', 403, 'FORBIDDEN', () =>
    api('POST', '/v1/enrollment-tokens', {
      auth: `Bearer ${enrollment.bound}`,
      body: { policy: 'devices', names: [dns('door-9.devices.example.internal')] },
    }),
  ),
  c('enrollment token writes a policy', 403, 'FORBIDDEN', () =>
    api('PUT', '/v1/policies/services', {
      auth: `Bearer ${enrollment.bound}`,
      body: policyDocument('services'),
      headers: { 'if-match': '"1"' },
    }),
  ),
];

const AUTH_CASES: RefusedCase[] = [
  c('no Authorization (issue)', 401, 'UNAUTHENTICATED', () =>
    api('POST', '/v1/certificates', { as: null, body: { csr: csr.wildHost } }),
  ),
  c('no Authorization (enroll)', 401, 'UNAUTHENTICATED', () =>
    api('POST', '/v1/enroll', { as: null, body: { csr: csr.door3 } }),
  ),
  c('no Authorization (list identities)', 401, 'UNAUTHENTICATED', () => api('GET', '/v1/identities', { as: null })),
  c('Basic authorization', 401, 'INVALID_AUTHORIZATION_HEADER', () =>
    api('POST', '/v1/certificates', { auth: 'Basic YWRtaW46YWRtaW4=', body: { csr: csr.wildHost } }),
  ),
  c("'Bearer' without a token", 401, 'INVALID_AUTHORIZATION_HEADER', () =>
    api('POST', '/v1/certificates', { auth: 'Bearer', body: { csr: csr.wildHost } }),
  ),
  c('bearer token with a space in it', 401, 'INVALID_AUTHORIZATION_HEADER', () =>
    api('POST', '/v1/certificates', { auth: 'Bearer abc def', body: { csr: csr.wildHost } }),
  ),
  c('unknown bearer token', 401, 'INVALID_TOKEN', () =>
    api('POST', '/v1/certificates', {
      auth: `Bearer ${randomBytes(32).toString('base64url')}`,
      body: { csr: csr.wildHost },
    }),
  ),
  c('admin token with a suffix', 401, 'INVALID_TOKEN', () =>
    api('GET', '/v1/identities', { auth: `Bearer ${bearer.admin}x` }),
  ),
  c('malformed mimet_ token', 401, 'INVALID_TOKEN', () => enroll('mimet_short', { csr: csr.door3 })),
  c('well-formed but unknown mimet_ token', 401, 'INVALID_TOKEN', () =>
    enroll(`mimet_${randomBytes(32).toString('base64url')}`, { csr: csr.door3 }),
  ),
  c('reused enrollment token', 401, 'TOKEN_SPENT', () => enroll(enrollment.spent, { csr: csr.door2 })),
  c('expired enrollment token', 401, 'TOKEN_EXPIRED', () => enroll(enrollment.expired, { csr: csr.door5 })),
  c('enrollment token for a name it was not created for', 403, 'NAME_NOT_ALLOWED', () =>
    enroll(enrollment.bound, { csr: csr.door4 }),
  ),
  c('enrollment token for its name plus another', 403, 'NAME_NOT_ALLOWED', () =>
    enroll(enrollment.bound, { csr: csr.door3And4 }),
  ),
  c('enrollment token with another policy', 403, 'POLICY_NOT_PERMITTED', () =>
    enroll(enrollment.bound, { csr: csr.door3, policy: 'wild' }),
  ),
  c('enrollment token with a key its policy refuses', 403, 'KEY_NOT_ALLOWED', () =>
    enroll(enrollment.bound, { csr: csr.door3Ed25519 }),
  ),
  c("enrollment token with validity above its policy's max", 403, 'VALIDITY_TOO_LONG', () =>
    enroll(enrollment.bound, { csr: csr.door3, validity: '91d' }),
  ),
  c('enrollment token with an EKU its policy does not grant', 403, 'EKU_NOT_ALLOWED', () =>
    enroll(enrollment.bound, { csr: csr.door3, extendedKeyUsages: ['serverAuth'] }),
  ),
];

const TOKEN_CREATION_CASES: RefusedCase[] = [
  c('token for names the policy does not allow', 403, 'NAME_NOT_ALLOWED', () =>
    createToken({ policy: 'devices', names: [dns('www.example.com')] }),
  ),
  c('token for a templated name (no requester to render it)', 403, 'NAME_NOT_ALLOWED', () =>
    createToken({ policy: 'services', names: [dns(PAY_DNS)] }),
  ),
  c('token for a wildcard on a policy without wildcards', 403, 'WILDCARD_NOT_ALLOWED', () =>
    createToken({ policy: 'devices', names: [dns('*.devices.example.internal')] }),
  ),
  c('token for a globally denied name', 403, 'NAME_DENIED', () =>
    createToken({ policy: 'wild', names: [dns('x.corp.example.internal')] }),
  ),
  c('token for a wildcard covering the globally denied zone (*.example.internal)', 403, 'NAME_DENIED', () =>
    createToken({ policy: 'wide', names: [dns('*.example.internal')] }),
  ),
  c('token for a name one label below a denied wildcard', 403, 'NAME_DENIED', () =>
    createToken({ policy: 'wide', names: [dns('a.blocked.example.internal')] }),
  ),
  c('token for an IPv4-mapped spelling of a denied IPv4 address', 403, 'NAME_DENIED', () =>
    createToken({ policy: 'wide', names: [{ type: 'ip', value: '::ffff:a00:1' }] }),
  ),
  c('token for an IPv4-mapped address written in full, upper case', 403, 'NAME_DENIED', () =>
    createToken({ policy: 'wide', names: [{ type: 'ip', value: '0000:0000:0000:0000:0000:FFFF:0A00:0001' }] }),
  ),
  c('token for a non-SPIFFE URI below a denied prefix', 403, 'NAME_DENIED', () =>
    createToken({ policy: 'wide', names: [{ type: 'uri', value: 'https://x.example/ns/prod/a%20b' }] }),
  ),
  c('token with ttl above the max', 400, 'TTL_TOO_LONG', () =>
    createToken({ policy: 'devices', names: [dns('door-9.devices.example.internal')], ttl: '25h' }),
  ),
  c('token with a malformed ttl', 400, 'VALIDITY_INVALID', () =>
    createToken({ policy: 'devices', names: [dns('door-9.devices.example.internal')], ttl: '1.5h' }),
  ),
  c('token for an unknown policy', 400, 'POLICY_UNKNOWN', () =>
    createToken({ policy: 'nope', names: [dns('door-9.devices.example.internal')] }),
  ),
  c('token for no names', 400, 'VALIDATION_FAILED', () => createToken({ policy: 'devices', names: [] })),
  c('token for a name of an unknown type', 400, 'VALIDATION_FAILED', () =>
    createToken({ policy: 'devices', names: [{ type: 'email', value: 'a@devices.example.internal' }] }),
  ),
  c('token for an invalid DNS name', 400, 'NAME_INVALID', () =>
    createToken({ policy: 'devices', names: [dns('door..devices.example.internal')] }),
  ),
];

const POLICY_CASES: RefusedCase[] = [
  c('policy with a bad principal pattern', 400, 'VALIDATION_FAILED', () =>
    putPolicy('newpol', policyDocument('newpol', { principals: ['root'] }), { 'if-none-match': '*' }),
  ),
  c('policy with an unknown template variable', 400, 'VALIDATION_FAILED', () =>
    putPolicy('newpol', policyDocument('newpol', { allow: { dnsNames: ['{tenant}.svc.example.internal'] } }), {
      'if-none-match': '*',
    }),
  ),
  c('policy with an upper-case DNS name', 400, 'VALIDATION_FAILED', () =>
    putPolicy('newpol', policyDocument('newpol', { allow: { dnsNames: ['API.example.internal'] } }), {
      'if-none-match': '*',
    }),
  ),
  c('policy with a CIDR with host bits', 400, 'VALIDATION_FAILED', () =>
    putPolicy('newpol', policyDocument('newpol', { allow: { ipRanges: ['10.0.0.1/8'] } }), { 'if-none-match': '*' }),
  ),
  c('policy with a CIDR that is not an address', 400, 'VALIDATION_FAILED', () =>
    putPolicy('newpol', policyDocument('newpol', { allow: { ipRanges: ['300.1.0.0/16'] } }), { 'if-none-match': '*' }),
  ),
  c('policy with max validity above 398d', 400, 'VALIDATION_FAILED', () =>
    putPolicy('newpol', policyDocument('newpol', { validity: { default: '1d', max: '400d' } }), {
      'if-none-match': '*',
    }),
  ),
  c('policy with an unknown field', 400, 'VALIDATION_FAILED', () =>
    putPolicy('newpol', policyDocument('newpol', { allowEverything: true }), { 'if-none-match': '*' }),
  ),
  c('policy whose body names another policy than the path', 400, 'POLICY_NAME_MISMATCH', () =>
    putPolicy('newpol', policyDocument('otherpol'), { 'if-none-match': '*' }),
  ),
  c('policy name in the path that is not a policy name', 400, 'VALIDATION_FAILED', () =>
    putPolicy('New_Pol', policyDocument('New_Pol'), { 'if-none-match': '*' }),
  ),
  c('policy PUT without If-Match or If-None-Match', 428, 'PRECONDITION_REQUIRED', () =>
    putPolicy('newpol', policyDocument('newpol'), {}),
  ),
  c('policy PUT with a stale If-Match', 409, 'POLICY_VERSION_MISMATCH', () =>
    putPolicy('services', policyDocument('services'), { 'if-match': '"99"' }),
  ),
  c('policy PUT with If-None-Match on an existing policy', 409, 'POLICY_VERSION_MISMATCH', () =>
    putPolicy('services', policyDocument('services'), { 'if-none-match': '*' }),
  ),
  c('policy PUT with If-Match on a policy that does not exist', 409, 'POLICY_VERSION_MISMATCH', () =>
    putPolicy('newpol', policyDocument('newpol'), { 'if-match': '"1"' }),
  ),
  c('policy PUT with a malformed If-Match', 400, 'VALIDATION_FAILED', () =>
    putPolicy('services', policyDocument('services'), { 'if-match': 'latest' }),
  ),
  c('policy PUT with both If-Match and If-None-Match', 400, 'PRECONDITION_CONFLICT', () =>
    putPolicy('services', policyDocument('services'), { 'if-match': '"1"', 'if-none-match': '*' }),
  ),
  c('policy DELETE of an unknown policy', 404, 'POLICY_NOT_FOUND', () =>
    api('DELETE', '/v1/policies/no-such-policy', { headers: { 'if-match': '"1"' } }),
  ),
  c('policy DELETE without If-Match', 428, 'PRECONDITION_REQUIRED', () => api('DELETE', '/v1/policies/services')),
  c('policy DELETE with a stale If-Match', 409, 'POLICY_VERSION_MISMATCH', () =>
    api('DELETE', '/v1/policies/services', { headers: { 'if-match': '"99"' } }),
  ),
  c('policy GET of an unknown policy', 404, 'POLICY_NOT_FOUND', () => api('GET', '/v1/policies/no-such-policy')),
  c('policy GET with a traversal in the name', 400, 'VALIDATION_FAILED', () =>
    api('GET', '/v1/policies/..%2F..%2Fetc%2Fpasswd'),
  ),
];

const MISC_CASES: RefusedCase[] = [
  c('Idempotency-Key reused with a different body', 409, 'IDEMPOTENCY_KEY_REUSED', () =>
    issue('payments-api', { csr: csr.pay, validity: '1h' }, { 'idempotency-key': USED_IDEMPOTENCY_KEY }),
  ),
  c('Idempotency-Key with a space', 400, 'IDEMPOTENCY_KEY_INVALID', () =>
    issue('payments-api', { csr: csr.pay }, { 'idempotency-key': 'not a key' }),
  ),
  c('Idempotency-Key of 256 characters', 400, 'IDEMPOTENCY_KEY_INVALID', () =>
    issue('payments-api', { csr: csr.pay }, { 'idempotency-key': 'k'.repeat(256) }),
  ),
  c('fresh Idempotency-Key on a refused request', 400, 'CSR_MALFORMED', () =>
    issue('payments-api', { csr: 'garbage' }, { 'idempotency-key': `fresh-${randomBytes(8).toString('hex')}` }),
  ),
  c('discovery of an unknown source', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['aws-s3'] } }),
  ),
  c('discovery of a source listed twice', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['aws-iam', 'aws-iam'] } }),
  ),
  c('discovery of a malformed account', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/discovery/runs', { body: { accounts: ['12345'] } }),
  ),
  c('discovery with an unknown field', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/discovery/runs', { body: { regions: ['eu-west-1'] } }),
  ),
  // TLS targets: the hostile configuration lets the scanner reach 127.0.0.0/30 only, so loopback addresses outside
  // it stand for every address it must not reach (no test names any other).
  c('a TLS target outside the allowed ranges', 400, 'TARGET_NOT_ALLOWED', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['tls'], tls: { targets: ['127.0.0.9:443'] } } }),
  ),
  c('a TLS range reaching past the allowed ranges', 400, 'TARGET_NOT_ALLOWED', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['tls'], tls: { targets: ['127.0.0.0/29:443'] } } }),
  ),
  c('a TLS target without a port', 400, 'TARGET_INVALID', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['tls'], tls: { targets: ['127.0.0.1'] } } }),
  ),
  c('a TLS range with host bits set', 400, 'TARGET_INVALID', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['tls'], tls: { targets: ['127.0.0.1/30:443'] } } }),
  ),
  c('TLS targets over 4,096 addresses', 400, 'TARGETS_TOO_MANY', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['tls'], tls: { targets: ['127.0.0.0/19:443'] } } }),
  ),
  c('a TLS scan with nothing to scan', 400, 'TARGETS_REQUIRED', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['tls'] } }),
  ),
  c('TLS targets without the tls source', 400, 'TLS_NOT_REQUESTED', () =>
    api('POST', '/v1/discovery/runs', { body: { sources: ['aws-kms'], tls: { targets: ['127.0.0.1:443'] } } }),
  ),
  c('discovery run started by a workload', 403, 'FORBIDDEN', () =>
    api('POST', '/v1/discovery/runs', { body: {}, as: 'payments-api' }),
  ),
  c('unknown discovery run', 404, 'RUN_NOT_FOUND', () => api('GET', '/v1/discovery/runs/20260101T000000Z-none')),
  c('unknown route', 404, 'ROUTE_NOT_FOUND', () => api('GET', '/v1/nothing-here')),
  c('unknown route outside /v1', 404, 'ROUTE_NOT_FOUND', () => api('GET', '/../../etc/passwd')),
  c('path with broken percent-encoding', 404, 'ROUTE_NOT_FOUND', () => api('GET', '/v1/certificates/%ZZ')),
  c('wrong method on /v1/certificates', 405, 'METHOD_NOT_ALLOWED', () => api('DELETE', '/v1/certificates')),
  c('wrong method on /v1/enroll', 405, 'METHOD_NOT_ALLOWED', () => api('GET', '/v1/enroll')),
  c('wrong method on a policy', 405, 'METHOD_NOT_ALLOWED', () =>
    api('PATCH', '/v1/policies/services', { body: { description: 'x' } }),
  ),
  c('bad serial', 400, 'VALIDATION_FAILED', () => api('GET', '/v1/certificates/not-hex')),
  c('serial longer than 20 octets', 400, 'VALIDATION_FAILED', () => api('GET', `/v1/certificates/${'f'.repeat(41)}`)),
  c('unknown serial', 404, 'CERTIFICATE_NOT_FOUND', () => api('GET', '/v1/certificates/0badc0de')),
  c('bad revocation reason', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/certificates/0a/revoke', { body: { reason: 'bored' } }),
  ),
  c('revocation reason certificateHold', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/certificates/0a/revoke', { body: { reason: 'certificateHold' } }),
  ),
  c('revoke with a bad serial', 400, 'VALIDATION_FAILED', () =>
    api('POST', '/v1/certificates/xyz/revoke', { body: { reason: 'superseded' } }),
  ),
  c('revoke an unknown serial', 404, 'CERTIFICATE_NOT_FOUND', () =>
    api('POST', '/v1/certificates/0badc0de/revoke', { body: { reason: 'superseded' } }),
  ),
  c('identity id that is not a UUID', 400, 'VALIDATION_FAILED', () => api('GET', '/v1/identities/not-a-uuid')),
  c('unknown identity', 404, 'IDENTITY_NOT_FOUND', () =>
    api('GET', '/v1/identities/00000000-0000-4000-8000-000000000000'),
  ),
  c('identities page limit above 100', 400, 'VALIDATION_FAILED', () => api('GET', '/v1/identities?limit=1000')),
  c('identities with an unknown query parameter', 400, 'VALIDATION_FAILED', () =>
    api('GET', '/v1/identities?isAdmin=true'),
  ),
  c('identities with a forged cursor', 400, 'INVALID_CURSOR', () =>
    api('GET', `/v1/identities?cursor=${Buffer.from('{"pk":"CA#default","sk":"CHAIN"}').toString('base64url')}`),
  ),
];

const CASES: RefusedCase[] = [
  ...CSR_CASES,
  ...NAME_CASES,
  ...BODY_CASES,
  ...ROLE_CASES,
  ...AUTH_CASES,
  ...TOKEN_CREATION_CASES,
  ...POLICY_CASES,
  ...MISC_CASES,
];

describe('hostile requests: a clear 4xx, nothing written, still serving', () => {
  it('has a catalogue of at least 70 distinct cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(70);
    expect(new Set(CASES.map((x) => x.name)).size).toBe(CASES.length);
  });

  it.each(CASES)('$name → $status $code', async ({ name, status, code, send }) => {
    const before = await countItems(dynamo, TABLE, { requestsOnly: true });
    // The setup wrote the CA, policies, tokens and certificates: a count of 0 would mean we read the wrong database.
    expect(before).toBeGreaterThan(0);
    const res = await send();
    expect(res.status, `${name}: ${res.text.slice(0, 500)}`).toBe(status);
    expect(res.json?.error?.code, res.text.slice(0, 500)).toBe(code);
    expect(typeof res.json.error.message).toBe('string');
    expect(res.json.error.message.length).toBeGreaterThan(0);
    expect(res.json.error.requestId).toMatch(/\S/);
    expect(res.headers.get('x-request-id')).toBe(res.json.error.requestId);
    expect(res.text).not.toContain('BEGIN CERTIFICATE REQUEST');
    expect(res.text).not.toContain('mimet_');
    expect(res.text).not.toMatch(/\bat .+\.ts:\d+/);
    for (const token of Object.values(bearer)) expect(res.text).not.toContain(token);
    expect(await countItems(dynamo, TABLE, { requestsOnly: true }), `${name} wrote to ${TABLE}`).toBe(before);
    expect((await api('GET', '/v1/health', { as: null })).status, `alive after ${name}`).toBe(200);
  });

  it('answers an unknown policy and one the caller may not use alike, but for the name', async () => {
    const unknown = await issue('payments-api', { csr: csr.pay, policy: 'nope' });
    const existing = await issue('payments-api', { csr: csr.pay, policy: 'wild' });
    for (const [res, policy] of [
      [unknown, 'nope'],
      [existing, 'wild'],
    ] as const) {
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('POLICY_NOT_PERMITTED');
      expect(res.json.error.details).toEqual({ policy });
    }
    expect(unknown.json.error.message.replace('"nope"', '"?"')).toBe(
      existing.json.error.message.replace('"wild"', '"?"'),
    );
    // Admins, who may list the policies, still hear that a policy does not exist when they create a token for it.
    expect(
      (await createToken({ policy: 'nope', names: [dns('door-9.devices.example.internal')] })).json.error.code,
    ).toBe('POLICY_UNKNOWN');
  });

  it('answers 405 with an Allow header', async () => {
    const res = await api('DELETE', '/v1/certificates');
    expect(res.headers.get('allow')).toBe('POST');
  });
});

// ---- what the policies do allow -----------------------------------------------------------------------------------

async function caFiles(prefix: string): Promise<{ root: string; intermediate: string }> {
  const res = await api('GET', '/v1/ca', { as: null });
  expect(res.status).toBe(200);
  const blocks = res.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  expect(blocks).toHaveLength(2);
  const intermediate = join(dir, `${prefix}-issuing.pem`);
  const root = join(dir, `${prefix}-root.pem`);
  await writeFile(intermediate, `${blocks[0]}\n`);
  await writeFile(root, `${blocks[1]}\n`);
  return { root, intermediate };
}

async function verifyAndRead(prefix: string, certificate: string): Promise<string> {
  const { root, intermediate } = await caFiles(prefix);
  const leaf = join(dir, `${prefix}-leaf.pem`);
  await writeFile(leaf, certificate);
  const verified = await run('openssl', ['verify', '-CAfile', root, '-untrusted', intermediate, leaf]);
  expect(verified).toContain(': OK');
  return run('openssl', ['x509', '-in', leaf, '-noout', '-text']);
}

describe('what the hostile configuration does allow', () => {
  it('gives payments-api its own service name and SPIFFE ID, verified by openssl against GET /v1/ca', async () => {
    const res = await issue('payments-api', { csr: csr.payPositive, validity: '7d' });
    expect(res.status, res.text).toBe(201);
    expect(res.json.policy).toBe('services');
    expect(res.json.subjectAltNames).toEqual([
      { type: 'dns', value: PAY_DNS },
      { type: 'uri', value: PAY_SPIFFE },
    ]);
    const text = await verifyAndRead('payments', res.json.certificate);
    expect(text).toContain(`DNS:${PAY_DNS}`);
    expect(text).toContain(`URI:${PAY_SPIFFE}`);
    expect(text).toMatch(/Subject: OU ?= ?payments-api, CN ?= ?payments-api\.svc\.example\.internal/);
    expect(text).toMatch(/CA:FALSE/);
  });

  it('spends an enrollment token on POST /v1/enroll with no other credentials', async () => {
    const created = await createToken({
      policy: 'devices',
      names: [dns('door-1.devices.example.internal')],
      ttl: '15m',
      owner: 'door-controllers',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.token).toMatch(/^mimet_[A-Za-z0-9_-]{43}$/);
    const res = await enroll(created.json.token, { csr: csr.door1 });
    expect(res.status, res.text).toBe(201);
    expect(res.json.policy).toBe('devices');
    expect(res.json.subjectAltNames).toEqual([{ type: 'dns', value: 'door-1.devices.example.internal' }]);
    const text = await verifyAndRead('door1', res.json.certificate);
    expect(text).toContain('TLS Web Client Authentication');
    expect(text).not.toContain('TLS Web Server Authentication');
    const identity = await api('GET', `/v1/identities/${res.json.identityId}`);
    expect(identity.json.owner).toBe('door-controllers');
    const again = await enroll(created.json.token, { csr: csr.door1 });
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe('TOKEN_SPENT');
  });

  it('answers a retried issuance with the same Idempotency-Key and body with the same certificate, once', async () => {
    const key = `retry-${randomBytes(8).toString('hex')}`;
    const before = await identityCount();
    const body = { csr: csr.payRetry, validity: '1h' };
    const itemsBefore = await countItems(dynamo, TABLE, { requestsOnly: true });
    const first = await issue('payments-api', body, { 'idempotency-key': key });
    expect(first.status, first.text).toBe(201);
    // The item count the catalogue relies on does see an issuance.
    const itemsAfterFirst = await countItems(dynamo, TABLE, { requestsOnly: true });
    expect(itemsAfterFirst).toBeGreaterThan(itemsBefore);
    const second = await issue('payments-api', body, { 'idempotency-key': key });
    expect(second.status, second.text).toBe(201);
    expect(await countItems(dynamo, TABLE, { requestsOnly: true })).toBe(itemsAfterFirst);
    expect(second.json.serialNumber).toBe(first.json.serialNumber);
    expect(second.json.certificate).toBe(first.json.certificate);
    expect(await identityCount()).toBe(before + 1);
  });

  it('ignores CSR extensions the profile does not grant: custom OID, nameConstraints, EKU, basicConstraints', async () => {
    const res = await issue('admin', { csr: csr.ignoredExtensions, policy: 'wild' });
    expect(res.status, res.text).toBe(201);
    const text = await verifyAndRead('ignored', res.json.certificate);
    expect(text).toContain(`DNS:ext.${WILD}`);
    expect(text).not.toContain('1.3.6.1.4.1.55555.1');
    expect(text).not.toContain('hostile-custom-extension');
    expect(text).not.toContain('Name Constraints');
    expect(text).not.toContain('Code Signing');
    expect(text).not.toContain('OCSP Signing');
    expect(text).not.toContain('pathlen');
    expect(text).not.toContain('Evil Corp');
    expect(text).toContain('TLS Web Server Authentication');
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
  });
});
