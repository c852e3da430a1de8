import { createIntermediateCaCertificate, createRootCaCertificate } from '#lib/pki/ca-certificates.ts';
import { type IssuerContext, loadIssuerContext } from '#lib/pki/issuer.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { Signer } from '#lib/ports/signer.ts';

export interface BootstrapCaDeps {
  readonly rootSigner: Signer;
  readonly issuingSigner: Signer;
  readonly chainStore: CaChainStore;
  readonly clock: Clock;
}

export interface BootstrapCaOptions {
  readonly caId: string;
  readonly rootCommonName: string;
  readonly issuingCommonName: string;
  readonly rootValidityDays: number;
  readonly issuingValidityDays: number;
}

const DAY_MS = 86_400_000;

/**
 * Makes sure the CA chain exists: a self-signed root and an issuing intermediate, both signed where the keys live
 * (KMS in AWS, software keys locally). Idempotent: an existing chain whose first certificate carries the issuing
 * key is kept as it is — including one whose intermediate a corporate root signed — and a chain for another key is
 * an error rather than something silently overwritten.
 */
export async function bootstrapCa(
  deps: BootstrapCaDeps,
  options: BootstrapCaOptions,
): Promise<{ chainPem: string[]; created: boolean; issuer: IssuerContext }> {
  const existing = await deps.chainStore.getChain(options.caId);
  if (existing && existing.length > 0) {
    const issuer = await loadIssuerContext(deps.issuingSigner, existing);
    return { chainPem: existing, created: false, issuer };
  }
  const now = deps.clock.now();
  const notBefore = new Date(now.getTime() - 60_000);
  const rootPem = await createRootCaCertificate({
    signer: deps.rootSigner,
    commonName: options.rootCommonName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.rootValidityDays * DAY_MS),
  });
  const issuingPem = await createIntermediateCaCertificate({
    rootSigner: deps.rootSigner,
    rootCertificatePem: rootPem,
    issuingPublicKey: await deps.issuingSigner.getPublicKey(),
    commonName: options.issuingCommonName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.issuingValidityDays * DAY_MS),
  });
  const chainPem = [issuingPem, rootPem];
  const issuer = await loadIssuerContext(deps.issuingSigner, chainPem);
  await deps.chainStore.putChain(options.caId, chainPem);
  return { chainPem, created: true, issuer };
}
