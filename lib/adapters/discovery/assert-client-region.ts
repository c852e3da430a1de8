import type { DiscoverySourceName } from '#lib/domain/discovery.ts';
import { InternalError } from '#lib/domain/errors.ts';
import type { DiscoveryScope } from '#lib/ports/discovery-source.ts';

/**
 * Throws unless the SDK client is for the scope's region. A regional source labels its observations with the scope's
 * region, so a client built for another region (a wiring mistake in a composition root) would file every identity it
 * finds under the wrong region, where the next correct run would find them gone.
 */
export async function assertClientRegion(
  source: DiscoverySourceName,
  client: { readonly config: { readonly region: () => Promise<string> } },
  scope: DiscoveryScope,
): Promise<void> {
  const region = await client.config.region();
  if (region !== scope.region) {
    throw new InternalError(
      'DISCOVERY_SCOPE_MISMATCH',
      `${source}: the client is for region ${region}, the scope for region ${scope.region}.`,
    );
  }
}
