/** The time source; use cases never call `new Date()` themselves, so tests can fix the clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
