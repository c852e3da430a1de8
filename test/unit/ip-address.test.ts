import { describe, expect, it } from 'vitest';
import { formatIpAddress, ipInRange, parseIpAddress, parseIpRange, unmapIpv4 } from '#lib/domain/ip-address.ts';

const hex = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : undefined);

function range(text: string) {
  const parsed = parseIpRange(text);
  if (!parsed) throw new Error(`expected ${text} to parse`);
  return parsed;
}

function address(text: string): Uint8Array {
  const parsed = parseIpAddress(text);
  if (!parsed) throw new Error(`expected ${text} to parse`);
  return parsed;
}

describe('parseIpAddress and formatIpAddress', () => {
  it.each([
    ['10.1.2.3', '0a010203', '10.1.2.3'],
    ['0.0.0.0', '00000000', '0.0.0.0'],
    ['255.255.255.255', 'ffffffff', '255.255.255.255'],
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['1::', '00010000000000000000000000000000', '1::'],
    ['2001:DB8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001', '2001:db8::1'],
    // RFC 5952 4.2.3: the longest run of zero groups is shortened; on a tie, the first.
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '20010000000000010000000000000001', '2001:0:0:1::1'],
    // RFC 5952 4.2.2: a single zero group is not shortened.
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['1:2:3:4:5:6::8', '00010002000300040005000600000008', '1:2:3:4:5:6:0:8'],
    ['2001:db8::0:1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201', '::ffff:c000:201'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304', '1:2:3:4:5:6:102:304'],
    ['fe80::', 'fe800000000000000000000000000000', 'fe80::'],
    [
      'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789',
      'abcdef0123456789abcdef0123456789',
      'abcd:ef01:2345:6789:abcd:ef01:2345:6789',
    ],
  ])('parses %s and formats it canonically', (text, bytes, canonical) => {
    const parsed = parseIpAddress(text);
    expect(hex(parsed)).toBe(bytes);
    expect(formatIpAddress(address(text))).toBe(canonical);
    // The canonical form parses to the same octets and formats to itself.
    expect(hex(parseIpAddress(canonical))).toBe(bytes);
    expect(formatIpAddress(address(canonical))).toBe(canonical);
  });

  it.each([
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.04',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.-1',
    '0x1.2.3.4',
    ':::',
    ':1::',
    '1:',
    ':1',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    '1::2:3:4:5:6:7:8',
    '12345::',
    '1.2.3.4::',
    '1.2.3.4:1::',
    '::1.2.3',
    '::1.2.3.4.5',
    '::ffff:1.2.3.256',
    'g::1',
    'fe80::1%eth0',
    '[::1]',
    '',
  ])('refuses %j', (text) => {
    expect(parseIpAddress(text)).toBeUndefined();
  });

  it('refuses to format an address of the wrong length', () => {
    expect(() => formatIpAddress(new Uint8Array(5))).toThrow(RangeError);
  });
});

describe('parseIpRange', () => {
  it.each([
    ['10.0.0.0/8', '0a000000', 8],
    ['0.0.0.0/0', '00000000', 0],
    ['10.1.2.3/32', '0a010203', 32],
    ['192.168.128.0/17', 'c0a88000', 17],
    ['::/0', '00000000000000000000000000000000', 0],
    ['fd00::/8', 'fd000000000000000000000000000000', 8],
    ['::1/128', '00000000000000000000000000000001', 128],
    ['2001:db8::/32', '20010db8000000000000000000000000', 32],
  ])('parses %s', (text, network, prefixLength) => {
    const parsed = range(text);
    expect(hex(parsed.network)).toBe(network);
    expect(parsed.prefixLength).toBe(prefixLength);
  });

  it.each([
    ['host bits set', '10.0.0.1/8'],
    ['host bits set in the last partial octet', '192.168.129.0/17'],
    ['host bits set at /0', '1.0.0.0/0'],
    ['host bits set (IPv6)', 'fd00::1/64'],
    ['host bits set (IPv6 /0)', '::1/0'],
    ['prefix too long', '10.0.0.0/33'],
    ['prefix too long (IPv6)', '::/129'],
    ['no prefix', '10.0.0.0'],
    ['empty prefix', '10.0.0.0/'],
    ['negative prefix', '10.0.0.0/-1'],
    ['two slashes', '10.0.0.0/8/8'],
    ['not an address', 'example.com/8'],
    ['empty', ''],
  ])('refuses %s (%j)', (_, text) => {
    expect(parseIpRange(text)).toBeUndefined();
  });
});

describe('IPv4-mapped IPv6 addresses (::ffff:0:0/96)', () => {
  it.each([
    '::ffff:10.0.0.1',
    '::FFFF:10.0.0.1',
    '::ffff:a00:1',
    '::FFFF:0A00:0001',
    '0:0:0:0:0:ffff:10.0.0.1',
    '0:0:0:0:0:ffff:a00:1',
    '0000:0000:0000:0000:0000:ffff:0a00:0001',
    '0000:0000:0000:0000:0000:FFFF:10.0.0.1',
    '::0:ffff:10.0.0.1',
  ])('unmapIpv4 reads %j as 10.0.0.1', (text) => {
    expect(hex(unmapIpv4(address(text)))).toBe('0a000001');
  });

  it('maps the ends of the range: ::ffff:0:0 is 0.0.0.0 and ::ffff:ffff:ffff is 255.255.255.255', () => {
    expect(hex(unmapIpv4(address('::ffff:0:0')))).toBe('00000000');
    expect(hex(unmapIpv4(address('::ffff:ffff:ffff')))).toBe('ffffffff');
  });

  it.each([
    ['IPv4-compatible (deprecated, RFC 4291 2.5.5.1)', '::10.0.0.1'],
    ['NAT64 well-known prefix (RFC 6052)', '64:ff9b::10.0.0.1'],
    ['6to4 (RFC 3056)', '2002:a00:1::'],
    ['next to the mapped range', '::fffe:a00:1'],
    ['ffff in another group', '::1:ffff:a00:1'],
    ['ffff in another group', '0:0:0:0:ffff::a00:1'],
    ['an ordinary IPv6 address', '2001:db8::1'],
    ['loopback', '::1'],
  ])('leaves %s (%s) as the IPv6 address it is', (_, text) => {
    const bytes = address(text);
    expect(hex(unmapIpv4(bytes))).toBe(hex(bytes));
  });

  it('leaves IPv4 addresses as they are, and returns octets the caller cannot change the input through', () => {
    const v4 = address('10.0.0.1');
    expect(hex(unmapIpv4(v4))).toBe('0a000001');
    const mapped = address('::ffff:10.0.0.1');
    const out = unmapIpv4(mapped);
    out[0] = 99;
    expect(hex(mapped)).toBe('00000000000000000000ffff0a000001');
  });

  it.each([
    ['::ffff:10.0.0.0/104', '0a000000', 8],
    ['::FFFF:0A00:0/104', '0a000000', 8],
    ['0:0:0:0:0:ffff:10.0.0.0/104', '0a000000', 8],
    ['::ffff:0:0/96', '00000000', 0],
    ['::ffff:10.1.2.3/128', '0a010203', 32],
    ['::ffff:192.168.128.0/113', 'c0a88000', 17],
  ])('parseIpRange reads the range %s as the IPv4 range it maps', (text, network, prefixLength) => {
    const parsed = range(text);
    expect(hex(parsed.network)).toBe(network);
    expect(parsed.prefixLength).toBe(prefixLength);
    expect(ipInRange(address('10.0.0.1'), range('::ffff:10.0.0.0/104'))).toBe(true);
  });

  it.each(['::/0', '::/64', '::fffe:0:0/95', '::/96', '64:ff9b::/96', '::ffff:0:0:0/96'])(
    'parseIpRange keeps %s an IPv6 range (not inside ::ffff:0:0/96)',
    (text) => {
      expect(range(text).network).toHaveLength(16);
    },
  );

  it('parseIpRange refuses a mapped range with host bits set, as it would the IPv4 range', () => {
    expect(parseIpRange('::ffff:10.0.0.1/104')).toBeUndefined();
    expect(parseIpRange('::ffff:10.0.0.0/129')).toBeUndefined();
  });
});

describe('ipInRange', () => {
  it('matches addresses inside the range only', () => {
    const r = range('10.1.0.0/16');
    expect(ipInRange(address('10.1.0.0'), r)).toBe(true);
    expect(ipInRange(address('10.1.255.255'), r)).toBe(true);
    expect(ipInRange(address('10.2.0.0'), r)).toBe(false);
    expect(ipInRange(address('10.0.255.255'), r)).toBe(false);
    const odd = range('192.168.128.0/17');
    expect(ipInRange(address('192.168.200.1'), odd)).toBe(true);
    expect(ipInRange(address('192.168.127.255'), odd)).toBe(false);
  });

  it('/32 and /128 match one address; /0 matches every address of its family', () => {
    expect(ipInRange(address('10.1.2.3'), range('10.1.2.3/32'))).toBe(true);
    expect(ipInRange(address('10.1.2.4'), range('10.1.2.3/32'))).toBe(false);
    expect(ipInRange(address('::1'), range('::1/128'))).toBe(true);
    expect(ipInRange(address('::2'), range('::1/128'))).toBe(false);
    expect(ipInRange(address('203.0.113.9'), range('0.0.0.0/0'))).toBe(true);
    expect(ipInRange(address('2001:db8::9'), range('::/0'))).toBe(true);
  });

  it('never matches an IPv4 address against an IPv6 range or the reverse', () => {
    expect(ipInRange(address('10.0.0.1'), range('::/0'))).toBe(false);
    expect(ipInRange(address('::1'), range('0.0.0.0/0'))).toBe(false);
    expect(ipInRange(address('::ffff:10.0.0.1'), range('10.0.0.0/8'))).toBe(false);
    expect(ipInRange(address('::'), range('0.0.0.0/0'))).toBe(false);
  });
});
