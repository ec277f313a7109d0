/** Time comes from here, never from `new Date()` in logic, so tests can run windows and backoffs in milliseconds. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to; for unit tests. */
export class ManualClock implements Clock {
  #ms: number;

  constructor(start: Date | string | number = '2025-01-15T10:00:00Z') {
    this.#ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  advance(ms: number): Date {
    this.#ms += ms;
    return this.now();
  }

  set(at: Date | string | number): void {
    this.#ms = new Date(at).getTime();
  }
}
