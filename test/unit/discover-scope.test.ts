import { describe, expect, it } from 'vitest';
import { discoveredIdentityId, type Observation } from '#lib/domain/discovery.ts';
import type { DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import { discoverScope } from '#lib/use-cases/discover-scope.ts';
import { InMemoryDiscoveredInventory } from '../support/in-memory-discovered-inventory.ts';

const ACCOUNT = '111122223333';
const SCOPE = { source: 'aws-secrets-manager', account: ACCOUNT, region: 'eu-west-1' } as const;
/** A clock one second further on at every reading. */
let now = Date.parse('2026-11-29T00:00:00.000Z');
const clock = {
  now: () => {
    now += 1000;
    return new Date(now);
  },
};

function secret(name: string, facts: Observation['facts'] = { rotationEnabled: true }, tags = {}): Observation {
  return {
    source: 'aws-secrets-manager',
    type: 'secret',
    arn: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}`,
    name,
    account: ACCOUNT,
    region: 'eu-west-1',
    tags,
    facts,
  };
}

/** A source serving the given estate in pages of 2, or failing after its first page. */
function source(estate: readonly Observation[], options: { failAfterFirstPage?: boolean } = {}): DiscoverySource {
  return {
    name: 'aws-secrets-manager',
    global: false,
    async *pages(): AsyncIterable<ObservationPage> {
      for (let i = 0; i < estate.length; i += 2) {
        if (i > 0 && options.failAfterFirstPage) throw new Error('AccessDeniedException: ListSecrets');
        yield { observations: estate.slice(i, i + 2), marker: i + 2 < estate.length ? String(i + 2) : undefined };
      }
    },
  };
}

const run = (inventory: InMemoryDiscoveredInventory, estate: readonly Observation[], failAfterFirstPage = false) =>
  discoverScope({ source: source(estate, { failAfterFirstPage }), inventory, clock }, SCOPE, { missingAfterRuns: 2 });

describe('discoverScope: an inventory that stays true, written only when something changed', () => {
  it('writes every identity of a first run, then nothing for an unchanged estate', async () => {
    const inventory = new InMemoryDiscoveredInventory();
    const estate = ['a', 'b', 'c', 'd', 'e'].map((n) => secret(n, { rotationEnabled: true }, { owner: 'team-x' }));
    expect(await run(inventory, estate)).toEqual({ seen: 5, new: 5, changed: 0, missing: 0, reappeared: 0, writes: 5 });
    const a = inventory.items.get(discoveredIdentityId(estate[0] as Observation));
    expect(a).toMatchObject({ status: 'active', owner: 'team-x', version: 1, missedRuns: 0 });
    expect(a?.identityId).toMatch(/^d-[A-Za-z0-9_-]{32}$/);

    expect(await run(inventory, estate)).toEqual({ seen: 5, new: 0, changed: 0, missing: 0, reappeared: 0, writes: 0 });
    expect(inventory.writes).toBe(5);
  });

  it('writes a changed identity once; facts compare whatever their key order', async () => {
    const inventory = new InMemoryDiscoveredInventory();
    await run(inventory, [secret('a', { x: 1, y: { p: 1, q: 2 } })]);
    expect((await run(inventory, [secret('a', { y: { q: 2, p: 1 }, x: 1 })])).writes).toBe(0);
    const changed = await run(inventory, [secret('a', { x: 2, y: { p: 1, q: 2 } })]);
    expect(changed).toMatchObject({ changed: 1, writes: 1 });
    expect([...inventory.items.values()][0]).toMatchObject({ version: 2, facts: { x: 2 } });
  });

  it('makes an identity missing after two completed runs without it, once, and active again when it returns', async () => {
    const inventory = new InMemoryDiscoveredInventory();
    const estate = [secret('a'), secret('b'), secret('c')];
    await run(inventory, estate);
    const gone = estate.slice(0, 2);
    expect(await run(inventory, gone)).toMatchObject({ missing: 0, writes: 1 });
    expect(await run(inventory, gone)).toMatchObject({ missing: 1, writes: 1 });
    const c = () => inventory.items.get(discoveredIdentityId(estate[2] as Observation));
    expect(c()).toMatchObject({ status: 'missing', missedRuns: 2 });
    expect(await run(inventory, gone)).toMatchObject({ missing: 0, writes: 0 });
    expect(await run(inventory, estate)).toMatchObject({ reappeared: 1, writes: 1 });
    expect(c()).toMatchObject({ status: 'active', missedRuns: 0 });
  });

  it('remembers when a missed identity was last seen: the scope read before its first miss, kept while missing', async () => {
    const inventory = new InMemoryDiscoveredInventory();
    const estate = [secret('a'), secret('b')];
    await run(inventory, estate);
    const b = () => inventory.items.get(discoveredIdentityId(estate[1] as Observation));
    const firstSeen = b()?.firstSeenAt as string;
    const base = now;
    const readAt = (days: number) => new Date(base + days * 86_400_000).toISOString();
    const missed = (lastRead: string) =>
      discoverScope({ source: source(estate.slice(0, 1)), inventory, clock }, SCOPE, {
        missingAfterRuns: 2,
        scopeLastReadAt: lastRead,
      });
    // The scope was read to its end after b was written: that read saw it.
    await missed(readAt(1));
    expect(b()).toMatchObject({ missedRuns: 1, lastSeenAt: readAt(1) });
    // Later misses keep the first one's date, also once it is missing.
    await missed(readAt(2));
    expect(b()).toMatchObject({ status: 'missing', lastSeenAt: readAt(1) });
    // Seen again, it needs none: its scope's last read is when.
    await run(inventory, estate);
    expect(b()).not.toHaveProperty('lastSeenAt');
    // A scope read on record before its own sighting does not move last seen back before it.
    await missed('2000-01-01T00:00:00.000Z');
    expect(b()?.lastSeenAt).toBe(b()?.changedAt);
    expect(String(b()?.lastSeenAt) > firstSeen).toBe(true);
  });

  it('ends a missed-run streak when the identity is seen again, before it went missing', async () => {
    const inventory = new InMemoryDiscoveredInventory();
    const estate = [secret('a'), secret('b')];
    await run(inventory, estate);
    await run(inventory, estate.slice(0, 1));
    expect(await run(inventory, estate)).toMatchObject({ reappeared: 0, changed: 0, writes: 1 });
    expect([...inventory.items.values()].every((i) => i.missedRuns === 0 && i.status === 'active')).toBe(true);
  });

  it('never counts a missed run when the source failed: what could not be read is not missing', async () => {
    const inventory = new InMemoryDiscoveredInventory();
    const estate = [secret('a'), secret('b'), secret('c'), secret('d')];
    await run(inventory, estate);
    await expect(run(inventory, estate, true)).rejects.toThrow(/AccessDenied/);
    await expect(run(inventory, estate, true)).rejects.toThrow(/AccessDenied/);
    expect([...inventory.items.values()].every((i) => i.status === 'active' && i.missedRuns === 0)).toBe(true);
  });
});
