import { ValidationError } from './errors.ts';

/** Extended key usages a leaf profile can grant. */
export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth';

/** What the CA sets on a leaf certificate regardless of what the CSR asks for. */
export interface CertificateProfile {
  readonly name: string;
  /** Written as the extendedKeyUsage extension; never taken from the CSR. */
  readonly extendedKeyUsages: readonly ExtendedKeyUsage[];
  /** Validity when the request names none. */
  readonly defaultValiditySeconds: number;
  /** Longest validity a request may ask for; longer requests are refused, not clamped. */
  readonly maxValiditySeconds: number;
}

/** The profiles a deployment offers, and which one a request without `profile` gets. */
export interface CertificateProfiles {
  readonly defaultProfile: string;
  readonly profiles: ReadonlyMap<string, CertificateProfile>;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

export const DEFAULT_PROFILES: CertificateProfiles = {
  defaultProfile: 'server',
  profiles: new Map<string, CertificateProfile>([
    [
      'server',
      { name: 'server', extendedKeyUsages: ['serverAuth'], defaultValiditySeconds: DAY, maxValiditySeconds: 90 * DAY },
    ],
    [
      'client',
      { name: 'client', extendedKeyUsages: ['clientAuth'], defaultValiditySeconds: DAY, maxValiditySeconds: 90 * DAY },
    ],
  ]),
};

/**
 * The profile a request names, or the default one.
 * @throws ValidationError `PROFILE_UNKNOWN`.
 */
export function resolveProfile(profiles: CertificateProfiles, name: string | undefined): CertificateProfile {
  const wanted = name ?? profiles.defaultProfile;
  const profile = profiles.profiles.get(wanted);
  if (!profile) {
    throw new ValidationError(
      'PROFILE_UNKNOWN',
      `Unknown certificate profile; use one of: ${[...profiles.profiles.keys()].join(', ')}.`,
      { details: { profile: wanted.slice(0, 64) } },
    );
  }
  return profile;
}

const UNIT_SECONDS = { s: 1, m: 60, h: HOUR, d: DAY } as const;
const VALIDITY = /^(\d{1,12})([smhd])$/;

/**
 * Parses a validity such as `90m`, `24h` or `30d` (a positive integer and one unit of s, m, h, d) into seconds.
 * @throws ValidationError `VALIDITY_INVALID`.
 */
export function parseValidity(text: string): number {
  const match = VALIDITY.exec(text);
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : 0;
  if (seconds <= 0) {
    throw new ValidationError(
      'VALIDITY_INVALID',
      'validity must be a positive whole number followed by s, m, h or d, e.g. "90m", "24h" or "30d".',
    );
  }
  return seconds;
}

/**
 * The validity in seconds for a request: the profile's default when none is asked, else the parsed request.
 * @throws ValidationError `VALIDITY_INVALID`, or `VALIDITY_TOO_LONG` when above the profile's maximum.
 */
export function resolveValidity(profile: CertificateProfile, requested: string | undefined): number {
  if (requested === undefined) return profile.defaultValiditySeconds;
  const seconds = parseValidity(requested);
  if (seconds > profile.maxValiditySeconds) {
    throw new ValidationError(
      'VALIDITY_TOO_LONG',
      `The ${profile.name} profile issues certificates for at most ${formatSeconds(profile.maxValiditySeconds)}; ` +
        'ask for a shorter validity.',
      { details: { maxValiditySeconds: profile.maxValiditySeconds } },
    );
  }
  return seconds;
}

function formatSeconds(seconds: number): string {
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
