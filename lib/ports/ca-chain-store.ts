/** Where the CA certificate chain lives once bootstrapped (in the inventory table, in AWS and locally). */
export interface CaChainStore {
  /** The chain, issuing CA first and root last, as PEM certificates; undefined before bootstrap. */
  getChain(caId: string): Promise<string[] | undefined>;
  /** Stores the chain; overwrites an existing one. */
  putChain(caId: string, chainPem: readonly string[]): Promise<void>;
}
