/**
 * Where "now" comes from. Everything time-dependent in enforcement asks a Clock, so tests move
 * time forward by hours in microseconds and nothing ever sleeps for a legal deadline.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to (tests, simulations). */
export class ManualClock implements Clock {
  #ms: number;

  constructor(start: Date | number = Date.UTC(2025, 0, 1, 9, 0, 0)) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  advance(ms: number): Date {
    if (ms < 0) throw new RangeError('a clock does not go back');
    this.#ms += ms;
    return this.now();
  }

  set(at: Date | number): Date {
    const ms = typeof at === 'number' ? at : at.getTime();
    if (ms < this.#ms) throw new RangeError('a clock does not go back');
    this.#ms = ms;
    return this.now();
  }
}

/**
 * Real time running `factor` times faster from an anchor: one real second is `factor` seconds of
 * legal time. Instances built with the same anchor and factor agree, so several processes (or a
 * restarted one) share one accelerated timeline.
 */
export class AcceleratedClock implements Clock {
  constructor(
    readonly factor: number,
    readonly anchorReal: number = Date.now(),
    readonly anchorVirtual: number = anchorReal,
  ) {
    if (!(factor > 0)) throw new RangeError('acceleration factor must be positive');
  }

  now(): Date {
    return new Date(this.anchorVirtual + (Date.now() - this.anchorReal) * this.factor);
  }
}
