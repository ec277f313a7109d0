/** One caller's item and how to settle that caller's promise. */
export interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers the items that callers submit in the same turn of the event loop (the handlers of one
 * consumer batch, for instance) and hands them to `flush` together, so that they share one request;
 * items submitted while a flush runs go in the next one. `flush` settles each caller itself (a
 * bulk insert can fail for some callers and not others); a caller it leaves unsettled because it
 * threw gets that error.
 */
export class Coalescer<T> {
  #queue: Array<Waiting<T>> = [];
  #flushing = false;

  constructor(
    private readonly flush: (batch: Array<Waiting<T>>) => Promise<void>,
    private readonly maxBatch = Number.POSITIVE_INFINITY,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#flushing = true;
    await new Promise<void>((r) => setImmediate(r));
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      try {
        await this.flush(batch);
      } catch (err) {
        // Settling a promise twice does nothing: those that flush settled keep their outcome.
        for (const w of batch) w.reject(err);
      }
    }
    this.#flushing = false;
  }
}
