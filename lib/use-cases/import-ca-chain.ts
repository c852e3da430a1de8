import { verifyCaChain } from '#lib/pki/ca-chain.ts';
import { loadIssuerContext } from '#lib/pki/issuer.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { Signer } from '#lib/ports/signer.ts';

/**
 * Adopts an issuing CA certificate signed by another root (a corporate root, say): the chain must verify up to a
 * self-signed root and its first certificate must carry the issuing key. It replaces the stored chain; issued
 * certificates keep verifying against the old root until they expire, so distribute the new root first.
 */
export async function importCaChain(
  deps: { issuingSigner: Signer; chainStore: CaChainStore; clock: Clock },
  command: { caId: string; chainPem: readonly string[] },
): Promise<void> {
  await verifyCaChain(command.chainPem, deps.clock.now());
  await loadIssuerContext(deps.issuingSigner, command.chainPem);
  await deps.chainStore.putChain(command.caId, command.chainPem);
}
