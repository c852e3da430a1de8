import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

/**
 * Loopback endpoints for TLS scanner tests, with certificates made by the real `openssl` CLI. Every server listens
 * on a loopback address only (127.0.0.1; `guarded` on 127.0.0.2, `ipv6` on ::1) at a free port; stop them in afterAll.
 */

const execFileAsync = promisify(execFile);

async function openssl(cwd: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', [...args], { cwd });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** Sections for `-extensions`: CA certificates and the SANs of each leaf. */
const EXTENSIONS = `
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf_good]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:good.test,DNS:*.wild.test,IP:127.0.0.1,IP:::1,URI:spiffe://scan.test/good
[leaf_expired]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:expired.test,IP:127.0.0.1
[leaf_weak]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:weak.test,IP:127.0.0.1
[leaf_sha1]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:sha1.test,IP:127.0.0.1
[leaf_self]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:self.test
[leaf_wrong]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:other.test
[ca_expired]
database = db/index.txt
new_certs_dir = db
serial = db/serial
default_md = sha256
policy = any_name
unique_subject = no
[any_name]
commonName = supplied
`;

/** One certificate the servers use: its PEM, its key, and the file `openssl` can read it from. */
export interface TestCertificate {
  readonly file: string;
  readonly pem: string;
  readonly keyPem: string;
}

export interface TestCertificates {
  readonly dir: string;
  /** RSA-2048 root: what a scan is told is "our CA". */
  readonly root: TestCertificate;
  /** EC P-256 issuing CA under the root; the good and wrong-name leaves come from it. */
  readonly intermediate: TestCertificate;
  /** EC P-256, SANs good.test, *.wild.test, 127.0.0.1, ::1, spiffe://scan.test/good; serial 0x8a…(DER 00 8a…). */
  readonly good: TestCertificate;
  /** EC P-256 from the root, valid January 2025 only. */
  readonly expired: TestCertificate;
  /** RSA-1024 from the root, sha256WithRSAEncryption. */
  readonly weak: TestCertificate;
  /** RSA-2048 from the root, sha1WithRSAEncryption. */
  readonly sha1: TestCertificate;
  /** Ed25519, self-signed, self.test. */
  readonly selfSigned: TestCertificate;
  /** EC P-256 from the intermediate for other.test only (no IP SAN). */
  readonly wrongName: TestCertificate;
  /** A second, unrelated root (used where a test needs "some other trust store"). */
  readonly otherRoot: TestCertificate;
}

/** Serial of the good leaf: high bit set, so its DER INTEGER has a leading zero octet the scanner must drop. */
export const GOOD_SERIAL = '8a0b0c0d0e0f10111213';

async function certificate(dir: string, name: string): Promise<TestCertificate> {
  const file = join(dir, `${name}.pem`);
  return { file, pem: await readFile(file, 'utf8'), keyPem: await readFile(join(dir, `${name}.key`), 'utf8') };
}

const EC_P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

/** Makes the test CA, its intermediate and every leaf with `openssl` in a fresh temporary directory. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'mim-tls-'));
  await writeFile(join(dir, 'ext.cnf'), EXTENSIONS);
  const run = (args: readonly string[]) => openssl(dir, args);
  // Arguments without spaces are written as one line and split; subjects (which have spaces) are passed apart.
  const words = (text: string) => text.split(' ');
  const selfSigned = (name: string, newkey: readonly string[], subject: string, extensions: string) =>
    run([
      ...words(
        `req -x509 -config ext.cnf -extensions ${extensions} -days 30 -nodes -keyout ${name}.key -out ${name}.pem`,
      ),
      ...newkey,
      ...['-subj', subject],
    ]);
  const request = (name: string, newkey: readonly string[], subject: string) =>
    run([
      ...words(`req -new -config ext.cnf -nodes -keyout ${name}.key -out ${name}.csr`),
      ...newkey,
      '-subj',
      subject,
    ]);
  const issue = (name: string, ca: string, extensions: string, serial: string, digest = 'sha256') =>
    run(
      words(
        `x509 -req -in ${name}.csr -CA ${ca}.pem -CAkey ${ca}.key -set_serial ${serial} -days 30 -${digest} ` +
          `-extfile ext.cnf -extensions ${extensions} -out ${name}.pem`,
      ),
    );

  await selfSigned('root', ['-newkey', 'rsa:2048'], '/O=Scan Test/CN=Scan Test Root CA', 'ca');
  await selfSigned('other-root', EC_P256, '/CN=Some Other Root', 'ca');
  await request('intermediate', EC_P256, '/O=Scan Test/CN=Scan Test Issuing CA');
  await issue('intermediate', 'root', 'ca', '0x1001');
  await request('good', EC_P256, '/O=Scan Test\\, Inc/CN=good.test');
  await issue('good', 'intermediate', 'leaf_good', `0x${GOOD_SERIAL}`);
  await request('wrong', EC_P256, '/CN=other.test');
  await issue('wrong', 'intermediate', 'leaf_wrong', '0x2002');
  await request('weak', ['-newkey', 'rsa:1024'], '/CN=weak.test');
  await issue('weak', 'root', 'leaf_weak', '0x3003');
  await request('sha1', ['-newkey', 'rsa:2048'], '/CN=sha1.test');
  await issue('sha1', 'root', 'leaf_sha1', '0x4004', 'sha1');
  await selfSigned('self', ['-newkey', 'ed25519'], '/CN=self.test', 'leaf_self');
  // `openssl x509 -req` of OpenSSL 3.0 cannot set dates in the past; `openssl ca` can.
  await request('expired', EC_P256, '/CN=expired.test');
  await mkdir(join(dir, 'db'));
  await writeFile(join(dir, 'db', 'index.txt'), '');
  await writeFile(join(dir, 'db', 'serial'), '5005\n');
  await run(
    words(
      'ca -config ext.cnf -name ca_expired -batch -notext -cert root.pem -keyfile root.key -in expired.csr ' +
        '-out expired.pem -extfile ext.cnf -extensions leaf_expired -startdate 20250101000000Z -enddate 20250201000000Z',
    ),
  );

  return {
    dir,
    root: await certificate(dir, 'root'),
    intermediate: await certificate(dir, 'intermediate'),
    good: await certificate(dir, 'good'),
    expired: await certificate(dir, 'expired'),
    weak: await certificate(dir, 'weak'),
    sha1: await certificate(dir, 'sha1'),
    selfSigned: await certificate(dir, 'self'),
    wrongName: await certificate(dir, 'wrong'),
    otherRoot: await certificate(dir, 'other-root'),
  };
}

/** A listening endpoint, with what it saw. */
export interface TestEndpoint {
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly accepted: () => number;
  /** The SNI of each ClientHello that carried one (a TLS server's; always empty for plain TCP servers). */
  readonly servernames: readonly string[];
}

export interface TlsTestServers {
  readonly certificates: TestCertificates;
  /** Presents the good leaf and the intermediate. */
  readonly good: TestEndpoint;
  readonly expired: TestEndpoint;
  /** RSA-1024 leaf; needs security level 0 on the server. */
  readonly weak: TestEndpoint;
  /** SHA-1 signed leaf; needs security level 0 on the server. */
  readonly sha1: TestEndpoint;
  readonly selfSigned: TestEndpoint;
  readonly wrongName: TestEndpoint;
  /** Only TLS 1.0, with the RSA-1024 leaf. */
  readonly tls10: TestEndpoint;
  /** Plain TCP answering an HTTP error to whatever it receives. */
  readonly garbage: TestEndpoint;
  /** Accepts and never answers. */
  readonly hang: TestEndpoint;
  /** A port nothing listens on (closed right after it was bound). */
  readonly closed: { readonly host: string; readonly port: number };
  /** The good server again, on 127.0.0.2: what a guard test must never reach. */
  readonly guarded: TestEndpoint;
  /** The good server again, on ::1. */
  readonly ipv6: TestEndpoint;
  stop(): Promise<void>;
}

interface Running extends TestEndpoint {
  readonly server: Server;
  readonly sockets: Set<Socket>;
}

function listen(server: Server, host: string, servernames: readonly string[] = []): Promise<Running> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: TLSSocket) => socket.on('error', () => {}));
  server.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ host, port, accepted: () => accepted, servernames, server, sockets });
    });
  });
}

function close(running: Running): Promise<void> {
  for (const socket of running.sockets) socket.destroy();
  return new Promise((resolve) => running.server.close(() => resolve()));
}

/** Starts every endpoint; `stop()` closes them and removes the certificates. */
export async function startTlsTestServers(): Promise<TlsTestServers> {
  const certificates = await makeTestCertificates();
  const running: Running[] = [];
  const start = async (
    [server, servernames]: readonly [Server, readonly string[]] | readonly [Server],
    host = '127.0.0.1',
  ): Promise<Running> => {
    const r = await listen(server, host, servernames);
    running.push(r);
    return r;
  };
  const weakLevel = { ciphers: 'DEFAULT:@SECLEVEL=0' };
  const tls = (leaf: TestCertificate, extra: Record<string, unknown> = {}, chain = ''): [Server, string[]] => {
    const servernames: string[] = [];
    // SNICallback runs only for a ClientHello with SNI: what it records is exactly the SNI clients sent.
    const SNICallback = (servername: string, done: (error: Error | null) => void) => {
      servernames.push(servername);
      done(null);
    };
    const options = { cert: leaf.pem + chain, key: leaf.keyPem, SNICallback, ...extra };
    return [createTlsServer(options, (socket) => socket.end('hello\n')), servernames];
  };
  const good = () => tls(certificates.good, {}, certificates.intermediate.pem);
  try {
    const closedServer = await listen(createTcpServer(), '127.0.0.1');
    await close(closedServer);
    const servers: Omit<TlsTestServers, 'stop' | 'certificates'> = {
      good: await start(good()),
      expired: await start(tls(certificates.expired)),
      weak: await start(tls(certificates.weak, weakLevel)),
      sha1: await start(tls(certificates.sha1, weakLevel)),
      selfSigned: await start(tls(certificates.selfSigned)),
      wrongName: await start(tls(certificates.wrongName, {}, certificates.intermediate.pem)),
      tls10: await start(tls(certificates.weak, { ...weakLevel, minVersion: 'TLSv1', maxVersion: 'TLSv1' })),
      garbage: await start([
        createTcpServer((socket) => {
          socket.on('error', () => {});
          socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
        }),
      ]),
      // Reads and discards (so it sees the client leave) but never answers.
      hang: await start([createTcpServer((socket) => socket.resume())]),
      closed: { host: '127.0.0.1', port: closedServer.port },
      guarded: await start(good(), '127.0.0.2'),
      ipv6: await start(good(), '::1'),
    };
    return {
      certificates,
      ...servers,
      stop: async () => {
        await Promise.all(running.map(close));
        await rm(certificates.dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(running.map(close));
    await rm(certificates.dir, { recursive: true, force: true });
    throw error;
  }
}
