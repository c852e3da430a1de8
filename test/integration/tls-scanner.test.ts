import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PresentedCertificate,
  scanEndpoints,
  type TlsHandshakeResult,
  type TlsScanFailure,
  type TlsScanOptions,
  type TlsScanResult,
} from '#lib/adapters/tls/tls-scanner.ts';
import type { TlsEndpoint } from '#lib/domain/tls-targets.ts';
import { run } from '#test/support/pki-fixtures.ts';
import {
  GOOD_SERIAL,
  startTlsTestServers,
  type TestCertificate,
  type TlsTestServers,
} from '#test/support/tls-servers.ts';

// Every endpoint here is a loopback server of test/support/tls-servers.ts; no test names any other address, not even
// one that must be refused. Timeouts are small (connect 500 ms, handshake 800 ms) and every wait is bounded.

let servers: TlsTestServers;

beforeAll(async () => {
  servers = await startTlsTestServers();
});

afterAll(async () => {
  await servers?.stop();
});

function options(extra: Partial<TlsScanOptions> = {}): TlsScanOptions {
  return {
    allowedRanges: ['127.0.0.1/32', '::1/128'],
    trustedCaPems: [servers.certificates.root.pem],
    connectTimeoutMs: 500,
    handshakeTimeoutMs: 800,
    ...extra,
  };
}

async function scanOne(endpoint: TlsEndpoint, extra: Partial<TlsScanOptions> = {}): Promise<TlsScanResult> {
  const results = await scanEndpoints([endpoint], options(extra));
  expect(results).toHaveLength(1);
  return results[0] as TlsScanResult;
}

function handshake(result: TlsScanResult | undefined): TlsHandshakeResult {
  expect(result?.outcome).toBe('tls');
  return result as TlsHandshakeResult;
}

function failed(result: TlsScanResult | undefined): TlsScanFailure {
  expect(result?.outcome).not.toBe('tls');
  return result as TlsScanFailure;
}

/** What `openssl x509` says about a certificate, in the scanner's terms. */
async function opensslFacts(
  certificate: TestCertificate,
): Promise<Omit<PresentedCertificate, 'subjectAltNames' | 'selfSigned'>> {
  const fields = await run('openssl', [
    'x509',
    '-in',
    certificate.file,
    '-noout',
    '-nameopt',
    'RFC2253',
    '-subject',
    '-issuer',
    '-serial',
    '-fingerprint',
    '-sha256',
    '-startdate',
    '-enddate',
  ]);
  const field = (name: string): string => {
    const line = fields.split('\n').find((l) => l.startsWith(`${name}=`));
    if (line === undefined) throw new Error(`openssl printed no ${name}`);
    return line.slice(name.length + 1).trim();
  };
  const text = await run('openssl', ['x509', '-in', certificate.file, '-noout', '-text']);
  const publicKeyPem = await run('openssl', ['x509', '-in', certificate.file, '-noout', '-pubkey']);
  const spki = Buffer.from(publicKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const keyAlgorithm = /Public Key Algorithm: (\S+)/.exec(text)?.[1];
  const bits = Number(/Public-Key: \((\d+) bit\)/.exec(text)?.[1]);
  const curve = /ASN1 OID: (\S+)/.exec(text)?.[1];
  const key =
    keyAlgorithm === 'rsaEncryption'
      ? { keyAlgorithm: 'RSA' as const, keySize: bits }
      : keyAlgorithm === 'id-ecPublicKey'
        ? { keyAlgorithm: 'EC' as const, keySize: bits, ...(curve ? { keyCurve: curve } : {}) }
        : keyAlgorithm === 'ED25519'
          ? { keyAlgorithm: 'ED25519' as const, keySize: 256 }
          : { keyAlgorithm: 'unknown' as const };
  const subject = field('subject');
  const issuer = field('issuer');
  return {
    subject,
    issuer,
    serialNumber: field('serial').toLowerCase(),
    ...key,
    signatureAlgorithm: /Signature Algorithm: (\S+)/.exec(text)?.[1] ?? 'missing',
    notBefore: new Date(field('notBefore')).toISOString(),
    notAfter: new Date(field('notAfter')).toISOString(),
    fingerprintSha256: field('sha256 Fingerprint').replace(/:/g, '').toLowerCase(),
    spkiSha256: createHash('sha256').update(spki).digest('hex'),
  };
}

async function expectFacts(
  presented: PresentedCertificate | undefined,
  certificate: TestCertificate,
  subjectAltNames: PresentedCertificate['subjectAltNames'],
  selfSigned = false,
): Promise<void> {
  const facts = await opensslFacts(certificate);
  expect(presented).toEqual({ ...facts, subjectAltNames, selfSigned });
}

/** `openssl verify` of a leaf against our root (with the intermediate as untrusted): its verdict line. */
async function opensslVerify(leaf: TestCertificate): Promise<string> {
  const args = ['verify', '-CAfile', servers.certificates.root.file];
  args.push('-untrusted', servers.certificates.intermediate.file, leaf.file);
  return run('openssl', args).then(
    (out) => out.trim(),
    (error: Error) => error.message,
  );
}

describe('scanEndpoints: what a handshake shows', () => {
  it('reads the good server: version, the presented chain field by field, trust and the IP SAN', async () => {
    const result = handshake(await scanOne({ address: '127.0.0.1', port: servers.good.port }));
    expect(result).toMatchObject({ address: '127.0.0.1', port: servers.good.port, protocol: 'TLSv1.3' });
    expect(result.host).toBeUndefined();
    expect(result.cipher).toMatch(/^TLS_/);
    expect(result.chain).toHaveLength(2);
    await expectFacts(result.chain[0], servers.certificates.good, [
      { type: 'dns', value: 'good.test' },
      { type: 'dns', value: '*.wild.test' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'uri', value: 'spiffe://scan.test/good' },
    ]);
    await expectFacts(result.chain[1], servers.certificates.intermediate, []);
    // The DER INTEGER is 00 8a 0b…: the sign octet is not part of the serial.
    expect(result.chain[0]?.serialNumber).toBe(GOOD_SERIAL);
    expect(result.chain[0]).toMatchObject({
      subject: 'CN=good.test,O=Scan Test\\, Inc',
      issuer: 'CN=Scan Test Issuing CA,O=Scan Test',
      keyAlgorithm: 'EC',
      keySize: 256,
      keyCurve: 'prime256v1',
      signatureAlgorithm: 'ecdsa-with-SHA256',
    });
    expect(result.chain[1]?.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(result).toMatchObject({ chainsTo: 'ours', validatesTo: 'ours', nameMatches: true });
    expect(result.error).toBeUndefined();
    expect(await opensslVerify(servers.certificates.good)).toMatch(/: OK$/);
  });

  it('sends no SNI to an address, and the name as SNI to a name, dialling the address resolved once', async () => {
    const before = [...servers.good.servernames];
    await scanOne({ address: '127.0.0.1', port: servers.good.port });
    expect(servers.good.servernames).toEqual(before);

    const asked: string[] = [];
    const resolve = async (name: string) => {
      asked.push(name);
      return ['127.0.0.1'];
    };
    const result = handshake(await scanOne({ host: 'Good.Test', port: servers.good.port }, { resolve }));
    expect(asked).toEqual(['good.test']);
    expect(result).toMatchObject({ host: 'good.test', address: '127.0.0.1', nameMatches: true, validatesTo: 'ours' });
    expect(servers.good.servernames).toEqual([...before, 'good.test']);
  });

  it('matches names as RFC 6125 does: SANs only, a wildcard for exactly one label', async () => {
    const resolve = async () => ['127.0.0.1'];
    const port = servers.good.port;
    const results = await scanEndpoints(
      ['good.test', 'a.wild.test', 'a.b.wild.test', 'wild.test', 'bad.test'].map((host) => ({ host, port })),
      options({ resolve }),
    );
    expect(results.map((r) => [r.host, handshake(r).nameMatches])).toEqual([
      ['good.test', true],
      ['a.wild.test', true],
      ['a.b.wild.test', false],
      ['wild.test', false],
      ['bad.test', false],
    ]);
  });

  it('scans an IPv6 address, and reports an IPv4-mapped one as its IPv4 address', async () => {
    const v6 = handshake(await scanOne({ address: '::1', port: servers.ipv6.port }));
    expect(v6).toMatchObject({ address: '::1', nameMatches: true, validatesTo: 'ours' });
    expect(v6.chain[0]?.serialNumber).toBe(GOOD_SERIAL);
    const mapped = handshake(await scanOne({ address: '::ffff:127.0.0.1', port: servers.good.port }));
    expect(mapped).toMatchObject({ address: '127.0.0.1', nameMatches: true });
  });

  it('reads a certificate for another name: valid, but the name does not match', async () => {
    const resolve = async () => ['127.0.0.1'];
    const byName = handshake(await scanOne({ host: 'good.test', port: servers.wrongName.port }, { resolve }));
    expect(byName).toMatchObject({ validatesTo: 'ours', nameMatches: false });
    await expectFacts(byName.chain[0], servers.certificates.wrongName, [{ type: 'dns', value: 'other.test' }]);
    const byAddress = handshake(await scanOne({ address: '127.0.0.1', port: servers.wrongName.port }));
    expect(byAddress.nameMatches).toBe(false);
  });

  it('reads an expired certificate: issued by our CA, validating to nothing', async () => {
    const result = handshake(await scanOne({ address: '127.0.0.1', port: servers.expired.port }));
    expect(result).toMatchObject({ chainsTo: 'ours', validatesTo: 'none', nameMatches: true });
    await expectFacts(result.chain[0], servers.certificates.expired, [
      { type: 'dns', value: 'expired.test' },
      { type: 'ip', value: '127.0.0.1' },
    ]);
    expect(result.chain[0]).toMatchObject({
      notBefore: '2025-01-01T00:00:00.000Z',
      notAfter: '2025-02-01T00:00:00.000Z',
    });
    expect(await opensslVerify(servers.certificates.expired)).toContain('certificate has expired');
  });

  it('reads an RSA-1024 key (the server needs security level 0)', async () => {
    const result = handshake(await scanOne({ address: '127.0.0.1', port: servers.weak.port }));
    expect(result.chain[0]).toMatchObject({ keyAlgorithm: 'RSA', keySize: 1024 });
    await expectFacts(result.chain[0], servers.certificates.weak, [
      { type: 'dns', value: 'weak.test' },
      { type: 'ip', value: '127.0.0.1' },
    ]);
    expect(result.validatesTo).toBe('ours');
  });

  it('reads a SHA-1 signature; algorithm strength is reported, not folded into trust', async () => {
    const result = handshake(await scanOne({ address: '127.0.0.1', port: servers.sha1.port }));
    expect(result.chain[0]).toMatchObject({
      signatureAlgorithm: 'sha1WithRSAEncryption',
      keyAlgorithm: 'RSA',
      keySize: 2048,
    });
    await expectFacts(result.chain[0], servers.certificates.sha1, [
      { type: 'dns', value: 'sha1.test' },
      { type: 'ip', value: '127.0.0.1' },
    ]);
    expect(result.validatesTo).toBe('ours');
  });

  it('reads a self-signed Ed25519 certificate, trusted only when it is itself an anchor', async () => {
    const resolve = async () => ['127.0.0.1'];
    const endpoint = { host: 'self.test', port: servers.selfSigned.port };
    const result = handshake(await scanOne(endpoint, { resolve }));
    expect(result).toMatchObject({ chainsTo: 'none', validatesTo: 'none', nameMatches: true });
    expect(result.chain).toHaveLength(1);
    await expectFacts(result.chain[0], servers.certificates.selfSigned, [{ type: 'dns', value: 'self.test' }], true);
    expect(result.chain[0]).toMatchObject({ keyAlgorithm: 'ED25519', signatureAlgorithm: 'ED25519', selfSigned: true });
    const pinned = handshake(
      await scanOne(endpoint, { resolve, trustedCaPems: [servers.certificates.selfSigned.pem] }),
    );
    expect(pinned.validatesTo).toBe('ours');
  });

  it('completes a TLS 1.0 handshake with a legacy server', async () => {
    const result = handshake(await scanOne({ address: '127.0.0.1', port: servers.tls10.port }));
    expect(result.protocol).toBe('TLSv1');
    expect(result.chain[0]?.keySize).toBe(1024);
  });

  it('judges validity at the time it is given', async () => {
    const endpoint = { address: '127.0.0.1', port: servers.good.port };
    const later = handshake(await scanOne(endpoint, { now: () => new Date('2030-01-01T00:00:00Z') }));
    expect(later).toMatchObject({ chainsTo: 'ours', validatesTo: 'none' });
    const earlier = handshake(await scanOne(endpoint, { now: () => new Date('2020-01-01T00:00:00Z') }));
    expect(earlier).toMatchObject({ chainsTo: 'ours', validatesTo: 'none' });
  });

  it('tells our CA from the system roots from neither', async () => {
    const endpoint = { address: '127.0.0.1', port: servers.good.port };
    const root = servers.certificates.root.pem;
    const other = servers.certificates.otherRoot.pem;
    expect(handshake(await scanOne(endpoint, { trustedCaPems: [], systemRootPems: [other, root] })).validatesTo).toBe(
      'system',
    );
    expect(
      handshake(await scanOne(endpoint, { trustedCaPems: [], systemRootPems: [root], useSystemRoots: false }))
        .validatesTo,
    ).toBe('none');
    // Both: ours wins. Node's bundled roots: the test CA is not among them.
    expect(handshake(await scanOne(endpoint, { systemRootPems: [root] })).validatesTo).toBe('ours');
    expect(handshake(await scanOne(endpoint, { trustedCaPems: [other] })).validatesTo).toBe('none');
    // Our CA given as a bundle of several PEMs in one text.
    expect(handshake(await scanOne(endpoint, { trustedCaPems: [`${other}\n${root}`] })).validatesTo).toBe('ours');
  });
});

describe('scanEndpoints: endpoints without a handshake', () => {
  it('reports a closed port as refused', async () => {
    const result = failed(await scanOne({ address: '127.0.0.1', port: servers.closed.port }));
    expect(result).toMatchObject({ outcome: 'refused', error: { code: 'ECONNREFUSED', phase: 'connect' } });
  });

  it('reports a plain TCP service as not-tls', async () => {
    const result = failed(await scanOne({ address: '127.0.0.1', port: servers.garbage.port }));
    expect(result).toMatchObject({
      outcome: 'not-tls',
      error: { code: 'ERR_SSL_WRONG_VERSION_NUMBER', phase: 'handshake' },
    });
  });

  it('times out on a peer that accepts and never answers, within the handshake timeout', async () => {
    const accepted = servers.hang.accepted();
    const started = Date.now();
    const result = failed(
      await scanOne({ address: '127.0.0.1', port: servers.hang.port }, { handshakeTimeoutMs: 300 }),
    );
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ outcome: 'timeout', error: { code: 'ETIMEDOUT', phase: 'handshake' } });
    expect(servers.hang.accepted()).toBe(accepted + 1);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
  });

  it('leaves no timer behind, whatever the outcome', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    await scanEndpoints(
      [servers.good, servers.garbage, servers.hang, servers.closed].map((s) => ({
        address: '127.0.0.1',
        port: s.port,
      })),
      options({ handshakeTimeoutMs: 300 }),
    );
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('reports names that do not resolve, resolve to nothing, to junk, or too slowly', async () => {
    const port = servers.good.port;
    const resolve = async (name: string): Promise<string[]> => {
      if (name === 'missing.test')
        throw Object.assign(new Error('getaddrinfo ENOTFOUND missing.test'), { code: 'ENOTFOUND' });
      if (name === 'slow.test') return new Promise(() => {});
      if (name === 'junk.test') return ['not-an-address'];
      return [];
    };
    const started = Date.now();
    const results = await scanEndpoints(
      ['missing.test', 'empty.test', 'junk.test', 'slow.test'].map((host) => ({ host, port })),
      options({ resolve }),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(results).toEqual([
      {
        host: 'missing.test',
        port,
        outcome: 'unreachable',
        error: { code: 'ENOTFOUND', phase: 'resolve', message: 'getaddrinfo ENOTFOUND missing.test' },
      },
      {
        host: 'empty.test',
        port,
        outcome: 'unreachable',
        error: { code: 'ENOTFOUND', phase: 'resolve', message: 'empty.test has no address' },
      },
      {
        host: 'junk.test',
        address: 'not-an-address',
        port,
        outcome: 'not-allowed',
        error: { code: 'ADDRESS_INVALID', phase: 'resolve', message: 'not an address' },
      },
      {
        host: 'slow.test',
        port,
        outcome: 'timeout',
        error: { code: 'ETIMEDOUT', phase: 'resolve', message: 'resolving slow.test timed out' },
      },
    ]);
  });

  it('scans at most maxAddressesPerName addresses of a name, once each', async () => {
    let calls = 0;
    const resolve = async () => {
      calls++;
      return ['127.0.0.1', '::ffff:127.0.0.1', '::1', '127.0.0.2'];
    };
    const results = await scanEndpoints(
      [{ host: 'good.test', port: servers.good.port }],
      options({ resolve, maxAddressesPerName: 2 }),
    );
    expect(calls).toBe(1);
    expect(results.map((r) => [r.address, r.outcome])).toEqual([
      ['127.0.0.1', 'tls'],
      ['::1', 'refused'],
    ]);
  });

  it('refuses malformed endpoints as not-allowed without throwing', async () => {
    const results = await scanEndpoints(
      [
        { address: '127.0.0.1', port: 0 },
        { address: '127.0.0.1', port: 70000 },
        { address: 'localhost', port: 443 },
        { host: '*.wild.test', port: 443 },
        { host: 'bad_name.test', port: 443 },
        { port: 443 },
      ],
      options(),
    );
    for (const result of results) {
      expect(failed(result)).toMatchObject({
        outcome: 'not-allowed',
        error: { code: 'TARGET_INVALID', phase: 'check' },
      });
    }
  });

  it('uses the system resolver by default (localhost, from the hosts file)', async () => {
    const before = servers.good.servernames.length;
    const results = await scanEndpoints([{ host: 'localhost', port: servers.good.port }], options());
    const v4 = handshake(results.find((r) => r.address === '127.0.0.1'));
    expect(v4).toMatchObject({ host: 'localhost', nameMatches: false, validatesTo: 'ours' });
    expect(servers.good.servernames.slice(before)).toContain('localhost');
    // Any other address localhost has here (::1) is judged on its own: never dialled on the good port's behalf.
    for (const other of results.filter((r) => r.address !== '127.0.0.1')) expect(other.host).toBe('localhost');
  });

  it('rejects only on bad options: a malformed allowed range', async () => {
    await expect(
      scanEndpoints([{ address: '127.0.0.1', port: servers.good.port }], options({ allowedRanges: ['127.0.0.1/8'] })),
    ).rejects.toMatchObject({ code: 'ALLOWED_RANGE_INVALID' });
  });
});

describe('scanEndpoints: the outbound guard', () => {
  it('refuses a loopback address outside the allowed ranges without connecting to it', async () => {
    const accepted = servers.guarded.accepted();
    const result = failed(
      await scanOne({ address: '127.0.0.2', port: servers.guarded.port }, { allowedRanges: ['127.0.0.1/32'] }),
    );
    expect(result).toEqual({
      address: '127.0.0.2',
      port: servers.guarded.port,
      outcome: 'not-allowed',
      error: { code: 'TARGET_NOT_ALLOWED', phase: 'check', message: 'the address is outside the allowed ranges' },
    });
    expect(servers.guarded.accepted()).toBe(accepted);
    // The same server, once allowed, is reachable: the count above would have moved.
    handshake(await scanOne({ address: '127.0.0.2', port: servers.guarded.port }, { allowedRanges: ['127.0.0.2/32'] }));
    expect(servers.guarded.accepted()).toBe(accepted + 1);
  });

  it('checks each resolved address of a name, and dials only those allowed', async () => {
    const accepted = servers.guarded.accepted();
    const resolve = async () => ['127.0.0.2', '::ffff:127.0.0.1', '127.0.0.1'];
    const results = await scanEndpoints(
      [{ host: 'good.test', port: servers.guarded.port }],
      options({ allowedRanges: ['127.0.0.1/32'], resolve }),
    );
    // 127.0.0.2 refused before connecting; ::ffff:127.0.0.1 is 127.0.0.1 (one dial), where nothing listens.
    expect(results.map((r) => [r.address, r.outcome])).toEqual([
      ['127.0.0.2', 'not-allowed'],
      ['127.0.0.1', 'refused'],
    ]);
    expect(servers.guarded.accepted()).toBe(accepted);
  });

  it('refuses ::1 when only IPv4 loopback is allowed, and an IPv4-mapped address outside the ranges', async () => {
    const accepted = servers.ipv6.accepted();
    const results = await scanEndpoints(
      [
        { address: '::1', port: servers.ipv6.port },
        { address: '::ffff:127.0.0.2', port: servers.guarded.port },
      ],
      options({ allowedRanges: ['127.0.0.0/31'] }),
    );
    expect(results.map((r) => [r.address, r.outcome])).toEqual([
      ['::1', 'not-allowed'],
      ['127.0.0.2', 'not-allowed'],
    ]);
    expect(servers.ipv6.accepted()).toBe(accepted);
  });
});

describe('scanEndpoints: bounded concurrency, results in order', () => {
  it('dials at most `concurrency` endpoints at once, and closes every connection', async () => {
    let open = 0;
    const acceptedAt: number[] = [];
    const sockets = new Set<Socket>();
    const hang = createServer((socket) => {
      sockets.add(socket);
      open++;
      acceptedAt.push(performance.now());
      socket.on('error', () => {});
      // Reading is what lets the server see the client's FIN, and so close its side.
      socket.resume();
      socket.once('close', () => {
        open--;
        sockets.delete(socket);
      });
    });
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const address = hang.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const endpoints = Array.from({ length: 9 }, () => ({ address: '127.0.0.1', port }));
      const started = Date.now();
      const results = await scanEndpoints(endpoints, options({ concurrency: 3, handshakeTimeoutMs: 200 }));
      const elapsed = Date.now() - started;
      expect(results.map((r) => r.outcome)).toEqual(new Array(9).fill('timeout'));
      // The server sees a client leave a little after it left, so count arrivals instead: they come in waves of
      // three, one handshake timeout apart.
      expect(acceptedAt).toHaveLength(9);
      for (const t of acceptedAt) expect(acceptedAt.filter((u) => u >= t && u < t + 150).length).toBeLessThanOrEqual(3);
      // Three rounds of 200 ms, not one.
      expect(elapsed).toBeGreaterThanOrEqual(580);
      expect(elapsed).toBeLessThan(3000);
      const deadline = Date.now() + 2000;
      while (open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(open).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });

  it('returns one result per endpoint (per address for a name), in endpoint order', async () => {
    const resolve = async () => ['127.0.0.1', '::1'];
    const results = await scanEndpoints(
      [
        { address: '127.0.0.1', port: servers.closed.port },
        { host: 'good.test', port: servers.good.port },
        { address: '127.0.0.1', port: servers.garbage.port },
        { address: '127.0.0.1', port: servers.good.port },
      ],
      options({ resolve, concurrency: 4 }),
    );
    expect(results.map((r) => [r.host, r.address, r.outcome])).toEqual([
      [undefined, '127.0.0.1', 'refused'],
      ['good.test', '127.0.0.1', 'tls'],
      ['good.test', '::1', 'refused'],
      [undefined, '127.0.0.1', 'not-tls'],
      [undefined, '127.0.0.1', 'tls'],
    ]);
  });
});
