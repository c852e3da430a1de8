/** IP address text forms: parsing (RFC 4291 / dotted quad), canonical formatting (RFC 5952) and CIDR ranges. */

const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The 4 or 16 octets of an IPv4 (dotted quad, no leading zeros) or IPv6 (RFC 4291 text, no zone) address. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const v4 = IPV4.exec(text);
  if (v4) return Uint8Array.from(v4.slice(1).map(Number));
  if (!text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string, last: boolean): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const [i, group] of groups.entries()) {
      if (last && i === groups.length - 1 && group.includes('.')) {
        const tail = IPV4.exec(group);
        if (!tail) return undefined;
        out.push(...tail.slice(1).map(Number));
      } else if (HEX_GROUP.test(group)) {
        const n = Number.parseInt(group, 16);
        out.push(n >> 8, n & 0xff);
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = parse(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parse(halves[1] ?? '', true) : [];
  if (!head || !tail) return undefined;
  const missing = 16 - head.length - tail.length;
  if (halves.length === 2 ? missing < 2 : missing !== 0) return undefined;
  return Uint8Array.from([...head, ...new Array<number>(missing).fill(0), ...tail]);
}

/** Canonical text of a 4- or 16-octet address: dotted quad, or RFC 5952 (lower case, longest zero run as `::`). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new RangeError('an IP address has 4 or 16 octets');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The 12 leading octets of every IPv4-mapped IPv6 address (::ffff:0:0/96, RFC 4291 §2.5.5.2). */
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
/** ::ffff:0.0.0.0, the first IPv4-mapped address. */
const MAPPED_ZERO = Uint8Array.from([...MAPPED_PREFIX, 0, 0, 0, 0]);

function isIpv4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === 16 && MAPPED_PREFIX.every((b, i) => bytes[i] === b);
}

/**
 * The 4 octets of the IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, in any spelling) stands for; any
 * other address as it is. Verifiers may take a mapped address for the IPv4 address (Go's `net.IP.Equal` holds
 * 10.0.0.1 and ::ffff:10.0.0.1 equal, so a certificate for the one verifies for the other): left IPv6, it would
 * escape IPv4 rules. Only ::ffff:0:0/96 is mapped: IPv4-compatible (`::a.b.c.d`), NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16) addresses stay IPv6, since Go, OpenSSL and BoringSSL never match them against an IPv4 address.
 */
export function unmapIpv4(bytes: Uint8Array): Uint8Array {
  return isIpv4Mapped(bytes) ? bytes.slice(12) : bytes;
}

/** A CIDR range: the network's octets and the prefix length. */
export interface IpRange {
  readonly network: Uint8Array;
  readonly prefixLength: number;
}

/** Whether the first `prefixLength` bits of two same-family addresses are equal. */
function samePrefix(a: Uint8Array, b: Uint8Array, prefixLength: number): boolean {
  if (a.length !== b.length) return false;
  for (let bit = 0; bit < prefixLength; bit++) {
    const mask = 0x80 >> (bit & 7);
    if (((a[bit >> 3] ?? 0) & mask) !== ((b[bit >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * Parses `10.0.0.0/8` or `fd00::/8`. The address must be the network address (no host bits set), so that a range is
 * written one way only. A range inside ::ffff:0:0/96 (prefix of 96 or more) is the IPv4 range its addresses map to:
 * `::ffff:10.0.0.0/104` is 10.0.0.0/8, matching the names {@link unmapIpv4} turns into IPv4. Returns undefined when
 * the text is not such a range.
 */
export function parseIpRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const network = parseIpAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!network || !/^(0|[1-9]\d{0,2})$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > network.length * 8) return undefined;
  const hostBitsClear = network.every((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    return (byte & (0xff >> keep)) === 0;
  });
  if (!hostBitsClear) return undefined;
  if (prefixLength >= 96 && isIpv4Mapped(network))
    return { network: network.slice(12), prefixLength: prefixLength - 96 };
  return { network, prefixLength };
}

/**
 * Whether an IPv6 range holds the whole of ::ffff:0:0/96, i.e. the mapped form of every IPv4 address. (A range either
 * holds all of it or, once {@link parseIpRange} has turned ranges inside it into IPv4 ranges, none of it.)
 */
export function holdsIpv4Mapped(range: IpRange): boolean {
  return range.prefixLength <= 96 && samePrefix(MAPPED_ZERO, range.network, range.prefixLength);
}

/** Whether the address lies in the range; an IPv4 address never matches an IPv6 range or the reverse. */
export function ipInRange(address: Uint8Array, range: IpRange): boolean {
  return samePrefix(address, range.network, range.prefixLength);
}
