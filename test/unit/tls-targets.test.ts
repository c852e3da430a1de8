import { describe, expect, it } from 'vitest';
import { parseIpRange } from '#lib/domain/ip-address.ts';
import {
  assertTargetsAllowed,
  checkAllowed,
  expandTargets,
  formatTlsTarget,
  MAX_SCAN_ADDRESSES,
  parseAllowedRanges,
  parseTlsTarget,
  TlsTargetError,
} from '#lib/domain/tls-targets.ts';

// Only loopback (127.0.0.0/8, ::1), the unspecified and reserved ::/96 addresses and reserved names (.test) appear
// here, even where a target is refused: no test names an address that is private or public.

function refusal(fn: () => unknown): TlsTargetError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TlsTargetError);
    return error as TlsTargetError;
  }
  throw new Error('expected a TlsTargetError');
}

describe('parseTlsTarget', () => {
  it.each([
    ['svc.test:443', { kind: 'host', host: 'svc.test', port: 443 }],
    ['API.Svc.TEST:8443', { kind: 'host', host: 'api.svc.test', port: 8443 }],
    ['localhost:1', { kind: 'host', host: 'localhost', port: 1 }],
    ['a-b.x1.test:65535', { kind: 'host', host: 'a-b.x1.test', port: 65535 }],
    ['xn--bcher-kva.test:443', { kind: 'host', host: 'xn--bcher-kva.test', port: 443 }],
    ['127.0.0.1:443', { kind: 'address', address: '127.0.0.1', port: 443 }],
    ['[::1]:443', { kind: 'address', address: '::1', port: 443 }],
    ['[0:0:0:0:0:0:0:1]:443', { kind: 'address', address: '::1', port: 443 }],
    ['[::ffff:127.0.0.2]:443', { kind: 'address', address: '127.0.0.2', port: 443 }],
    ['[::FFFF:7f00:3]:443', { kind: 'address', address: '127.0.0.3', port: 443 }],
    ['127.0.0.0/28:443', { kind: 'range', range: '127.0.0.0/28', port: 443 }],
    ['127.0.0.1/32:443', { kind: 'range', range: '127.0.0.1/32', port: 443 }],
    ['[::/126]:443', { kind: 'range', range: '::/126', port: 443 }],
    ['[::1/128]:443', { kind: 'range', range: '::1/128', port: 443 }],
    ['[::ffff:127.0.0.0/120]:443', { kind: 'range', range: '127.0.0.0/24', port: 443 }],
  ])('reads %s', (text, expected) => {
    expect(parseTlsTarget(text)).toEqual(expected);
  });

  it.each([
    ['svc.test', 'a port is required'],
    ['svc.test:', 'the port must be a number from 1 to 65535'],
    ['svc.test:0', 'the port must be a number from 1 to 65535'],
    ['svc.test:65536', 'the port must be a number from 1 to 65535'],
    ['svc.test:0443', 'the port must be a number from 1 to 65535'],
    ['svc.test:44a', 'the port must be a number from 1 to 65535'],
    ['svc.test:-1', 'the port must be a number from 1 to 65535'],
    [':443', 'the host is empty'],
    ['::1:443', 'write an IPv6 address in brackets'],
    ['[::1]', 'a port is required after "]"'],
    ['[::1]443', 'a port is required after "]"'],
    ['[::1:443', 'the "[" is never closed'],
    ['[127.0.0.1]:443', 'brackets are for IPv6 addresses only'],
    ['[svc.test]:443', 'the text in brackets is not an IPv6 address'],
    ['[::1%lo]:443', 'zone identifiers'],
    ['[::1::2]:443', 'the text in brackets is not an IPv6 address'],
    ['127.0.0.256:443', 'not a valid IPv4 address'],
    ['127.0.0.01:443', 'not a valid IPv4 address'],
    ['127.0.1:443', 'not a valid IPv4 address'],
    ['*.svc.test:443', 'a wildcard cannot be scanned'],
    ['svc.test.:443', 'without a trailing dot'],
    ['-svc.test:443', 'is not 1 to 63 letters'],
    ['svc-.test:443', 'is not 1 to 63 letters'],
    ['_svc.test:443', 'is not 1 to 63 letters'],
    ['a..test:443', 'is not 1 to 63 letters'],
    [`${'a'.repeat(64)}.test:443`, 'is not 1 to 63 letters'],
    [`${'a.'.repeat(127)}test:443`, 'at most 253 characters'],
    ['xn--abc.test:443', 'valid A-labels'],
    ['ab--c.test:443', 'valid A-labels'],
    ['svc test:443', 'printable ASCII'],
    ['bücher.test:443', 'printable ASCII'],
    ['', 'printable ASCII'],
    ['127.0.0.1/33:443', 'the prefix length must be a number from 0 to 32'],
    ['127.0.0.0/08:443', 'the prefix length must be a number from 0 to 32'],
    ['127.0.0.0/:443', 'the prefix length must be a number from 0 to 32'],
    ['127.0.0.1/28:443', 'host bits set: its network address is 127.0.0.0/28'],
    ['127.0.0.128/24:443', 'host bits set: its network address is 127.0.0.0/24'],
    ['[::1/127]:443', 'host bits set: its network address is ::/127'],
    ['[::/129]:443', 'the prefix length must be a number from 0 to 128'],
    ['[127.0.0.0/8]:443', 'brackets are for IPv6 ranges only'],
    ['svc.test/8:443', 'a range is an IP network address'],
    ['127.0.0.0/8', 'a port is required'],
    [`${'1'.repeat(301)}:443`, 'at most 300 characters'],
  ])('refuses %j: %s', (text, why) => {
    const error = refusal(() => parseTlsTarget(text));
    expect(error.code).toBe('TARGET_INVALID');
    expect(error.status).toBe(400);
    expect(error.message).toContain(why);
    expect(error.message).toContain(JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text));
    expect(error.details).toEqual({ target: text.slice(0, 256) });
  });

  it('writes every target back in a form it reads to the same target', () => {
    for (const text of ['svc.test:443', '127.0.0.1:8443', '[::1]:443', '127.0.0.0/28:443', '[::/120]:1']) {
      const target = parseTlsTarget(text);
      expect(formatTlsTarget(target)).toBe(text);
      expect(parseTlsTarget(formatTlsTarget(target))).toEqual(target);
    }
    expect(formatTlsTarget(parseTlsTarget('[::ffff:127.0.0.1]:443'))).toBe('127.0.0.1:443');
  });
});

describe('expandTargets', () => {
  it('expands an IPv4 range to all of its addresses, network and broadcast included', () => {
    const endpoints = expandTargets(['127.0.0.0/28:443']);
    expect(endpoints).toHaveLength(16);
    expect(endpoints[0]).toEqual({ address: '127.0.0.0', port: 443 });
    expect(endpoints[15]).toEqual({ address: '127.0.0.15', port: 443 });
    expect(endpoints.map((e) => e.address)).toEqual(Array.from({ length: 16 }, (_, i) => `127.0.0.${i}`));
  });

  it('carries across octets and handles /31 and /32', () => {
    expect(expandTargets(['127.0.0.254/31:1']).map((e) => e.address)).toEqual(['127.0.0.254', '127.0.0.255']);
    const crossing = expandTargets(['127.0.0.0/23:1']).map((e) => e.address);
    expect(crossing).toHaveLength(512);
    expect(crossing.slice(255, 257)).toEqual(['127.0.0.255', '127.0.1.0']);
    expect(crossing[511]).toBe('127.0.1.255');
    expect(expandTargets(['127.0.0.7/32:1'])).toEqual([{ address: '127.0.0.7', port: 1 }]);
  });

  it('expands IPv6 ranges to canonical addresses', () => {
    expect(expandTargets(['[::/126]:443']).map((e) => e.address)).toEqual(['::', '::1', '::2', '::3']);
    expect(expandTargets(['[::1/128]:443'])).toEqual([{ address: '::1', port: 443 }]);
    const wide = expandTargets(['[::/116]:443']).map((e) => e.address);
    expect(wide).toHaveLength(4096);
    expect(wide.slice(0xfff)).toEqual(['::fff']);
    expect(expandTargets(['[::ffff:127.0.0.0/126]:443']).map((e) => e.address)).toEqual([
      '127.0.0.0',
      '127.0.0.1',
      '127.0.0.2',
      '127.0.0.3',
    ]);
  });

  it('keeps hosts and addresses as one endpoint each, in order, without duplicates', () => {
    expect(
      expandTargets(['svc.test:443', '127.0.0.2:443', '127.0.0.0/30:443', 'SVC.test:443', '[::ffff:127.0.0.1]:443']),
    ).toEqual([
      { host: 'svc.test', port: 443 },
      { address: '127.0.0.2', port: 443 },
      { address: '127.0.0.0', port: 443 },
      { address: '127.0.0.1', port: 443 },
      { address: '127.0.0.3', port: 443 },
    ]);
    expect(expandTargets(['127.0.0.1:443', '127.0.0.1:8443'])).toHaveLength(2);
  });

  it('takes parsed targets as well as text', () => {
    expect(expandTargets([parseTlsTarget('127.0.0.0/31:9'), { kind: 'host', host: 'svc.test', port: 9 }])).toEqual([
      { address: '127.0.0.0', port: 9 },
      { address: '127.0.0.1', port: 9 },
      { host: 'svc.test', port: 9 },
    ]);
  });

  it('allows exactly the limit: 4,096 addresses', () => {
    expect(MAX_SCAN_ADDRESSES).toBe(4096);
    expect(expandTargets(['127.0.0.0/20:443'])).toHaveLength(4096);
    expect(expandTargets(['127.0.0.0/21:443', '127.0.8.0/21:443'], { maxAddresses: 4096 })).toHaveLength(4096);
  });

  it('refuses 4,097 addresses, counted over all targets, with the count', () => {
    const error = refusal(() => expandTargets(['127.0.0.0/20:443', '127.0.16.1:443'], { maxAddresses: 4096 }));
    expect(error.code).toBe('TARGETS_TOO_MANY');
    expect(error.details).toEqual({ count: 4097, limit: 4096 });
    expect(error.message).toContain('4097');
  });

  it('counts overlapping and duplicate targets as often as they are named', () => {
    const error = refusal(() => expandTargets(['127.0.0.0/30:443', '127.0.0.0/30:443'], { maxAddresses: 7 }));
    expect(error.details).toEqual({ count: 8, limit: 7 });
  });

  it('refuses huge ranges before allocating anything', () => {
    const started = performance.now();
    const v4 = refusal(() => expandTargets(['127.0.0.0/8:443']));
    expect(v4.details).toEqual({ count: 2 ** 24, limit: 4096 });
    const v6 = refusal(() => expandTargets(['[::/0]:443']));
    expect(v6.code).toBe('TARGETS_TOO_MANY');
    expect(v6.details?.count).toBe(2 ** 128);
    expect(v6.message).toContain((2n ** 128n).toString());
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('honours a smaller limit and refuses a malformed target by name', () => {
    expect(refusal(() => expandTargets(['127.0.0.0/29:1'], { maxAddresses: 7 })).code).toBe('TARGETS_TOO_MANY');
    const error = refusal(() => expandTargets(['127.0.0.1:443', 'svc.test:99999']));
    expect(error.code).toBe('TARGET_INVALID');
    expect(error.details).toEqual({ target: 'svc.test:99999' });
  });
});

describe('checkAllowed', () => {
  it('allows an address inside a range and nothing outside', () => {
    expect(checkAllowed('127.0.0.1', ['127.0.0.1/32'])).toBe(true);
    expect(checkAllowed('127.0.0.2', ['127.0.0.1/32'])).toBe(false);
    expect(checkAllowed('127.0.0.15', ['127.0.0.0/28'])).toBe(true);
    expect(checkAllowed('127.0.0.16', ['127.0.0.0/28'])).toBe(false);
    expect(checkAllowed('127.255.255.255', ['127.0.0.0/8'])).toBe(true);
    expect(checkAllowed('127.0.0.1', [])).toBe(false);
    expect(checkAllowed('127.0.0.1', ['::1/128', '127.0.0.0/30'])).toBe(true);
  });

  it('matches IPv6 addresses in any spelling', () => {
    expect(checkAllowed('::1', ['::1/128'])).toBe(true);
    expect(checkAllowed('0:0:0:0:0:0:0:1', ['::1/128'])).toBe(true);
    expect(checkAllowed('::2', ['::1/128'])).toBe(false);
    expect(checkAllowed('::3', ['::/126'])).toBe(true);
    expect(checkAllowed('::4', ['::/126'])).toBe(false);
  });

  it('judges an IPv4-mapped address as its IPv4 address', () => {
    expect(checkAllowed('::ffff:127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(checkAllowed('::ffff:7f00:1', ['127.0.0.1/32'])).toBe(true);
    expect(checkAllowed('::ffff:127.0.0.2', ['127.0.0.1/32'])).toBe(false);
    // A range written in mapped form is the IPv4 range (as ip-address.ts parses it).
    expect(checkAllowed('127.0.0.1', ['::ffff:127.0.0.0/104'])).toBe(true);
    // An IPv6 range allows no IPv4 address, even one holding all of ::ffff:0:0/96.
    expect(checkAllowed('::ffff:127.0.0.1', ['::/0'])).toBe(false);
    expect(checkAllowed('127.0.0.1', ['::/0'])).toBe(false);
    expect(checkAllowed('::1', ['0.0.0.0/0'])).toBe(false);
  });

  it('never allows the unspecified addresses, which dial this host', () => {
    expect(checkAllowed('0.0.0.0', ['0.0.0.0/0'])).toBe(false);
    expect(checkAllowed('0.1.2.3', ['0.0.0.0/0'])).toBe(false);
    expect(checkAllowed('::', ['::/0'])).toBe(false);
    expect(checkAllowed('::ffff:0.0.0.0', ['0.0.0.0/0'])).toBe(false);
    expect(checkAllowed('127.0.0.1', ['0.0.0.0/0'])).toBe(true);
  });

  it('allows nothing that is not an address', () => {
    for (const text of ['localhost', '', '127.0.0.1:443', '[::1]', '127.0.0.1/32', '::1%lo', ' 127.0.0.1']) {
      expect(checkAllowed(text, ['0.0.0.0/0', '::/0'])).toBe(false);
    }
  });

  it('takes parsed ranges, and refuses malformed ones', () => {
    const ranges = parseAllowedRanges(['127.0.0.0/8', '::1/128']);
    expect(checkAllowed('127.1.2.3', ranges)).toBe(true);
    const loopback6 = parseIpRange('::1/128');
    if (!loopback6) throw new Error('::1/128 parses');
    expect(checkAllowed('::1', [loopback6])).toBe(true);
    for (const bad of ['127.0.0.1', '127.0.0.1/8', '127.0.0.0/33', 'localhost/8', '']) {
      const error = refusal(() => checkAllowed('127.0.0.1', [bad]));
      expect(error.code).toBe('ALLOWED_RANGE_INVALID');
      expect(error.details).toEqual({ range: bad });
    }
  });
});

describe('assertTargetsAllowed', () => {
  const allowed = ['127.0.0.0/28', '::1/128'];

  it('passes addresses and ranges wholly inside, and every host (checked after resolution)', () => {
    expect(() =>
      assertTargetsAllowed(
        ['127.0.0.1:443', '127.0.0.0/28:443', '127.0.0.8/29:1', '[::1]:443', 'svc.test:443'],
        allowed,
      ),
    ).not.toThrow();
  });

  it.each([
    ['127.0.0.16:443'],
    ['127.0.0.0/27:443'],
    ['127.0.0.0/8:443'],
    ['[::2]:443'],
    ['[::/127]:443'],
    ['[::ffff:127.0.0.99]:443'],
  ])('refuses %s with TARGET_NOT_ALLOWED', (text) => {
    const error = refusal(() => assertTargetsAllowed([text], allowed));
    expect(error.code).toBe('TARGET_NOT_ALLOWED');
    expect(error.details).toEqual({ target: formatTlsTarget(parseTlsTarget(text)) });
  });

  it('refuses a range holding the unspecified address even when a range allows it', () => {
    expect(refusal(() => assertTargetsAllowed(['0.0.0.0/30:443'], ['0.0.0.0/0'])).code).toBe('TARGET_NOT_ALLOWED');
    expect(refusal(() => assertTargetsAllowed(['[::/126]:443'], ['::/0'])).code).toBe('TARGET_NOT_ALLOWED');
  });
});
