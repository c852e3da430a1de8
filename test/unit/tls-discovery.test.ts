import { describe, expect, it } from 'vitest';
import {
  MAX_SERVED_ENDPOINTS,
  nextServedEndpoints,
  type ServedEndpoint,
  sameServedEndpoints,
  servedEndpointsOf,
  servedSummary,
  tlsLocationOf,
} from '#lib/domain/tls-discovery.ts';

const at = (location: string, address = '127.0.0.1', extra: Partial<ServedEndpoint> = {}): ServedEndpoint => ({
  location,
  address,
  protocol: 'TLSv1.3',
  validatesTo: 'ours',
  nameMatches: true,
  ...extra,
});

describe('TLS locations and where a certificate is served', () => {
  it('names a location by the name a target gave, else by its address (IPv6 in brackets), with the port', () => {
    expect(tlsLocationOf({ host: 'web.test', address: '127.0.0.1', port: 443 })).toBe('web.test:443');
    expect(tlsLocationOf({ address: '127.0.0.1', port: 8443 })).toBe('127.0.0.1:8443');
    expect(tlsLocationOf({ address: '::1', port: 9443 })).toBe('[::1]:9443');
  });

  it('replaces what was known at the scanned locations only, keeps the rest, in location then address order', () => {
    const before = [at('a.test:443'), at('b.test:443', '127.0.0.2'), at('b.test:443', '127.0.0.3')];
    const scanned = new Set(['b.test:443', 'c.test:443']);
    expect(nextServedEndpoints(before, scanned, [at('c.test:443'), at('b.test:443', '127.0.0.3')])).toEqual([
      at('a.test:443'),
      at('b.test:443', '127.0.0.3'),
      at('c.test:443'),
    ]);
    // Seen nowhere scanned: only the unscanned location stays; nothing scanned: nothing moves.
    expect(nextServedEndpoints(before, scanned, [])).toEqual([at('a.test:443')]);
    expect(nextServedEndpoints(before, new Set(), [])).toEqual(before);
    // The same endpoint twice counts once.
    expect(nextServedEndpoints([], scanned, [at('c.test:443'), at('c.test:443')])).toHaveLength(1);
  });

  it('keeps at most 1,000 endpoints, so that one certificate on every address of a run still fits in an item', () => {
    const many = Array.from({ length: 1500 }, (_, i) => at(`127.0.${Math.floor(i / 256)}.${i % 256}:443`));
    const kept = nextServedEndpoints([], new Set(many.map((e) => e.location)), many);
    expect(kept).toHaveLength(MAX_SERVED_ENDPOINTS);
    expect(JSON.stringify(kept).length).toBeLessThan(150_000);
  });

  it('summarizes for the rules: every location, and whether every endpoint validates and matches its name', () => {
    expect(servedSummary([])).toEqual({ locations: [], chainValid: undefined, nameMatches: undefined });
    expect(servedSummary([at('b:1'), at('a:1', '127.0.0.1', { validatesTo: 'system' })])).toEqual({
      locations: ['a:1', 'b:1'],
      chainValid: true,
      nameMatches: true,
    });
    expect(servedSummary([at('a:1'), at('b:1', '127.0.0.1', { validatesTo: 'none', nameMatches: false })])).toEqual({
      locations: ['a:1', 'b:1'],
      chainValid: false,
      nameMatches: false,
    });
  });

  it('reads endpoints from facts defensively, skipping anything malformed, and compares them field by field', () => {
    const facts = [at('b:1'), { location: 'x:1' }, 'junk', null, { ...at('a:1'), validatesTo: 'maybe' }, at('a:1')];
    expect(servedEndpointsOf(facts)).toEqual([at('a:1'), at('b:1')]);
    expect(servedEndpointsOf('not a list')).toEqual([]);
    expect(sameServedEndpoints([at('a:1')], [at('a:1')])).toBe(true);
    expect(sameServedEndpoints([at('a:1')], [at('a:1', '127.0.0.1', { protocol: 'TLSv1.2' })])).toBe(false);
    expect(sameServedEndpoints([at('a:1')], [])).toBe(false);
  });
});
