import { InternalError } from '#lib/domain/errors.ts';
import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { Clock } from '#lib/ports/clock.ts';

export interface GetCaChainDeps extends ApiHandlerDeps {
  readonly chainStore: CaChainStore;
  readonly caId: string;
  readonly clock: Clock;
}

/** The chain changes only when the CA is re-bootstrapped or its intermediate replaced; five minutes is fresh enough. */
const CACHE_MS = 5 * 60_000;

/** `GET /v1/ca`: the CA chain as PEM (issuing CA first, root last), no authentication. */
export function makeGetCaChainHandler(deps: GetCaChainDeps): HttpApiHandler {
  let cached: { pem: string; until: number } | undefined;
  return makeApiHandler({ name: 'get-ca-chain', auth: 'none' }, deps, async () => {
    const now = deps.clock.now().getTime();
    if (!cached || cached.until < now) {
      const chain = await deps.chainStore.getChain(deps.caId);
      if (!chain || chain.length === 0) {
        throw new InternalError('CA_NOT_BOOTSTRAPPED', 'The certificate authority has not been bootstrapped yet.');
      }
      cached = { pem: `${chain.map((c) => c.trim()).join('\n')}\n`, until: now + CACHE_MS };
    }
    return {
      status: 200,
      contentType: 'application/pem-certificate-chain',
      headers: { 'cache-control': 'public, max-age=300' },
      body: cached.pem,
    };
  });
}
