import { ValidationError } from './errors.ts';

const HOUR = 3600;
const DAY = 24 * HOUR;
const UNIT_SECONDS = { s: 1, m: 60, h: HOUR, d: DAY } as const;
const VALIDITY = /^(\d{1,12})([smhd])$/;

/**
 * Parses a duration such as `90m`, `24h` or `30d` (a positive integer and one unit of s, m, h, d) into seconds.
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

/** A duration in the largest unit that divides it: `86400` → `1d`, `5400` → `90m`. */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
