import { execFile } from 'node:child_process';
import { type KeyObject, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SoftwareSigner } from '#lib/adapters/software-signer.ts';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import { parseIpAddress } from '#lib/domain/ip-address.ts';
import { policyDocumentSchema } from '#lib/domain/policy.ts';
import { PolicySet } from '#lib/domain/policy-engine.ts';
import type { Principal } from '#lib/domain/principal.ts';
import { createIntermediateCaCertificate, createRootCaCertificate } from '#lib/pki/ca-certificates.ts';
import {
  bitString,
  contextTag,
  type Der,
  encode,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  tlv,
  utf8String,
} from '#lib/pki/der.ts';
import type { IssuanceContext } from '#lib/pki/issuance-core.ts';
import { type IssuerContext, loadIssuerContext } from '#lib/pki/issuer.ts';
import { encodePem } from '#lib/pki/pem.ts';
import type { SigningKeyAlgorithm } from '#lib/ports/signer.ts';

const execFileAsync = promisify(execFile);

/** Runs a command; rejects with its stderr when it exits non-zero. */
export async function run(command: string, args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, [...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** A temporary directory with helpers to write files into it; remove it in afterAll. */
export async function tempDir(): Promise<{
  path: string;
  write: (name: string, text: string) => Promise<string>;
  remove: () => Promise<void>;
}> {
  const path = await mkdtemp(join(tmpdir(), 'mim-pki-'));
  return {
    path,
    write: async (name, text) => {
      const file = join(path, name);
      await writeFile(file, text);
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

/** Key types `openssl req -newkey` can make for tests. */
export type OpensslKeyType =
  | 'ec-p256'
  | 'ec-p384'
  | 'ec-p192'
  | 'ec-p521'
  | 'rsa1024'
  | 'rsa2048'
  | 'rsa3072'
  | 'ed25519'
  | 'ed448';

const NEWKEY: Record<OpensslKeyType, string[]> = {
  'ec-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  'ec-p192': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-192'],
  'ec-p521': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  rsa1024: ['-newkey', 'rsa:1024'],
  rsa2048: ['-newkey', 'rsa:2048'],
  rsa3072: ['-newkey', 'rsa:3072'],
  ed25519: ['-newkey', 'ed25519'],
  ed448: ['-newkey', 'ed448'],
};

/**
 * A CSR made by `openssl req` with a fresh key.
 * @param options.subject e.g. `/CN=api.local.test` (default: empty subject)
 * @param options.addext `-addext` values, e.g. `subjectAltName=DNS:a.local.test`
 * @param options.digest e.g. `sha1` or `sha384` (default: OpenSSL's)
 */
export async function opensslCsr(
  dir: string,
  key: OpensslKeyType,
  options: { subject?: string; addext?: readonly string[]; digest?: string } = {},
): Promise<{ csrPem: string; keyPem: string }> {
  const id = Math.random().toString(36).slice(2);
  const keyFile = join(dir, `${id}.key`);
  const csrFile = join(dir, `${id}.csr`);
  await run('openssl', [
    'req',
    '-new',
    ...NEWKEY[key],
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csrFile,
    '-subj',
    options.subject ?? '/',
    ...(options.digest ? [`-${options.digest}`] : []),
    ...(options.addext ?? []).flatMap((e) => ['-addext', e]),
  ]);
  return { csrPem: await readFile(csrFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
}

const OIDS = {
  commonName: oid('2.5.4.3'),
  extensionRequest: oid('1.2.840.113549.1.9.14'),
  subjectAltName: oid('2.5.29.17'),
  ecdsaWithSha256: sequence(oid('1.2.840.10045.4.3.2')),
  ecdsaWithSha384: sequence(oid('1.2.840.10045.4.3.3')),
  sha256WithRsa: sequence(oid('1.2.840.113549.1.1.11'), Buffer.from([5, 0])),
  ed25519: sequence(oid('1.3.101.112')),
};

/** A DER Extension, for CSRs made by {@link buildCsr}. */
export function extension(id: string, value: Der, critical = false): Buffer {
  return encode(
    critical ? sequence(oid(id), Buffer.from([1, 1, 0xff]), octetString(value)) : sequence(oid(id), octetString(value)),
  );
}

/** A DER subjectAltName extension value. */
export function subjectAltNameValue(names: readonly SubjectAltName[]): Buffer {
  return encode(
    sequence(
      ...names.map((n) => {
        if (n.type === 'dns') return tlv(0x82, Buffer.from(n.value, 'latin1'));
        if (n.type === 'uri') return tlv(0x86, Buffer.from(n.value, 'latin1'));
        return tlv(0x87, parseIpAddress(n.value) ?? Buffer.alloc(0));
      }),
    ),
  );
}

/**
 * A PEM CSR built with node:crypto and the project's DER writer: fast (for benchmarks) and shapeable (for tests that
 * need what openssl will not write). The signature is made with `privateKey` over the encoded info.
 */
export function buildCsr(options: {
  privateKey: KeyObject;
  publicKeySpki: Uint8Array;
  commonName?: string;
  /** A DER Name used as it is, instead of one made from `commonName`. */
  subject?: Uint8Array;
  names?: readonly SubjectAltName[];
  extensions?: readonly Buffer[];
}): string {
  const subject = options.subject
    ? Buffer.from(options.subject)
    : options.commonName === undefined
      ? sequence()
      : sequence(set(sequence(OIDS.commonName, utf8String(options.commonName))));
  const extensions = [
    ...(options.names?.length ? [extension('2.5.29.17', subjectAltNameValue(options.names))] : []),
    ...(options.extensions ?? []),
  ];
  const attributes =
    extensions.length === 0
      ? tlv(contextTag(0, true))
      : tlv(contextTag(0, true), sequence(OIDS.extensionRequest, set(sequence(...extensions))));
  const info = encode(sequence(smallInteger(0), subject, Buffer.from(options.publicKeySpki), attributes));
  const type = options.privateKey.asymmetricKeyType;
  const curve = options.privateKey.asymmetricKeyDetails?.namedCurve;
  const [hash, algorithm] =
    type === 'ed25519'
      ? [null, OIDS.ed25519]
      : type === 'rsa'
        ? ['sha256', OIDS.sha256WithRsa]
        : curve === 'secp384r1'
          ? ['sha384', OIDS.ecdsaWithSha384]
          : ['sha256', OIDS.ecdsaWithSha256];
  const signature = sign(hash, info, options.privateKey);
  return encodePem(encode(sequence(info, algorithm, bitString(signature))), 'CERTIFICATE REQUEST');
}

/** A root → issuing CA chain made with {@link SoftwareSigner} keys, and the issuer context of its issuing CA. */
export interface TestCa {
  readonly root: SoftwareSigner;
  readonly issuing: SoftwareSigner;
  readonly rootPem: string;
  readonly intermediatePem: string;
  readonly issuer: IssuerContext;
}

export async function createTestCa(
  algorithm: SigningKeyAlgorithm,
  options: { now?: Date; rootAlgorithm?: SigningKeyAlgorithm; issuingDays?: number } = {},
): Promise<TestCa> {
  const now = options.now ?? new Date();
  const root = SoftwareSigner.generate(options.rootAlgorithm ?? algorithm);
  const issuing = SoftwareSigner.generate(algorithm);
  const notBefore = new Date(now.getTime() - 3_600_000);
  const rootPem = await createRootCaCertificate({
    signer: root,
    commonName: 'Test Root CA',
    notBefore,
    notAfter: new Date(notBefore.getTime() + 3650 * 86_400_000),
  });
  const intermediatePem = await createIntermediateCaCertificate({
    rootSigner: root,
    rootCertificatePem: rootPem,
    issuingPublicKey: await issuing.getPublicKey(),
    commonName: 'Test Issuing CA',
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.issuingDays ?? 365) * 86_400_000),
  });
  const issuer = await loadIssuerContext(issuing, [intermediatePem, rootPem]);
  return { root, issuing, rootPem, intermediatePem, issuer };
}

/** The requester the unit tests issue as. */
export const TEST_PRINCIPAL: Principal = { kind: 'local-token', id: 'local:tester' };

const localNames = { dnsNames: ['localhost'], dnsSuffixes: ['local.test'], uris: ['spiffe://local.test/*'] };

/**
 * Two policies for `local:*` over `localhost`, `*.local.test` and `spiffe://local.test/…`: `server` (serverAuth, the
 * first, hence the default) and `client` (clientAuth); 24 h by default, 90 days at most.
 */
export const TEST_POLICIES = new PolicySet(
  [
    { name: 'server', principals: ['local:*'], allow: localNames, validity: { default: '24h', max: '90d' } },
    {
      name: 'client',
      principals: ['local:*'],
      allow: localNames,
      validity: { default: '24h', max: '90d' },
      extendedKeyUsages: ['clientAuth'],
    },
  ].map((p) => policyDocumentSchema.parse(p)),
);

/** The issuance context of {@link TEST_POLICIES}, deciding for {@link TEST_PRINCIPAL}. */
export function defaultContext(issuer: IssuerContext, now = new Date()): IssuanceContext {
  return { issuer, decide: (ask) => TEST_POLICIES.decide(TEST_PRINCIPAL, ask), now };
}

/** `certtool` (gnutls-bin) when installed; tests that need it fail loudly rather than skip. */
export async function hasCerttool(): Promise<boolean> {
  try {
    await run('certtool', ['--version']);
    return true;
  } catch {
    return false;
  }
}
