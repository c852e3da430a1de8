import type { DiscoverySourceName, Observation } from '#lib/domain/discovery.ts';

/** Where a source looks: one account, one region (or `global` for account-wide sources such as IAM). */
export interface DiscoveryScope {
  readonly account: string;
  readonly region: string;
}

/** One page of observations and where the next one starts (absent after the last page). */
export interface ObservationPage {
  readonly observations: readonly Observation[];
  /** Opaque: hand it back as `resumeFrom` to continue after this page (a unit of work resumes from it). */
  readonly marker?: string | undefined;
}

/**
 * One discovery source for one account (and region, unless global), built with that account's credentials. Yields
 * the identities it finds page by page, so memory stays flat however big the estate. Throws when it cannot read (access
 * denied, throttled past its retries): the caller fails only this source's part of the run, with that reason.
 */
export interface DiscoverySource {
  readonly name: DiscoverySourceName;
  /** Whether the source is account-wide (one scope per account, region `global`) rather than regional. */
  readonly global: boolean;
  pages(scope: DiscoveryScope, options?: { readonly resumeFrom?: string | undefined }): AsyncIterable<ObservationPage>;
}
