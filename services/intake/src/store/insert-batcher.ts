import type { Collection, Document, MongoBulkWriteError, OptionalUnlessRequiredId } from 'mongodb';

interface Pending<T> {
  doc: OptionalUnlessRequiredId<T>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Turns concurrent `insertOne`s into one unordered `insertMany`, each caller still getting its own
 * outcome (a duplicate key stays a duplicate-key error for that caller only). On FerretDB 1.24 one
 * insertMany of 100 documents took 60 ms where 100 insertOnes took 370 ms in sequence and 850 ms
 * concurrently (measured on the 2-core dev machine); on MongoDB it saves round trips.
 */
export class InsertBatcher<T extends Document> {
  #queue: Array<Pending<T>> = [];
  #flushing = false;

  constructor(private readonly coll: Collection<T>, private readonly maxBatch = 500) {}

  insert(doc: OptionalUnlessRequiredId<T>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ doc, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    // Let the callers that are ready in this turn of the event loop join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      try {
        await this.coll.insertMany(batch.map((p) => p.doc), { ordered: false });
        for (const p of batch) p.resolve();
      } catch (err) {
        const writeErrors = (err as MongoBulkWriteError).writeErrors;
        if (writeErrors === undefined) {
          for (const p of batch) p.reject(err);
          continue;
        }
        const byIndex = new Map((Array.isArray(writeErrors) ? writeErrors : [writeErrors]).map((w) => [w.index, w]));
        batch.forEach((p, i) => {
          const w = byIndex.get(i);
          if (!w) p.resolve();
          else p.reject(Object.assign(new Error(w.errmsg ?? 'write error'), { code: w.code }));
        });
      }
    }
    this.#flushing = false;
  }
}
