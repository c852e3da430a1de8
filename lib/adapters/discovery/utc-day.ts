/**
 * The UTC calendar day of `date`, as `YYYY-MM-DD`. Discovery records dates that move with every use (last accessed,
 * last used) at this precision: the identity's hash then changes at most once a day, not on every call it serves.
 */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}
