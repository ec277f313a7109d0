import type { Admin, Kafka } from 'kafkajs';

/**
 * Answers "is the broker reachable right now" with a metadata round trip, cached briefly so a
 * readiness probe cannot flood the broker. Producers and consumers alone do not notice a dead broker
 * until they next send or fetch.
 */
export class BrokerProbe {
  #admin: Admin;
  #connected = false;
  #connecting: Promise<void> | undefined;
  #last: { at: number; ok: boolean; error?: string } = { at: 0, ok: false };

  constructor(kafka: Kafka, private readonly cacheMs = 1000, private readonly timeoutMs = 1500) {
    this.#admin = kafka.admin({ retry: { retries: 0 } });
  }

  async check(): Promise<{ ok: boolean; error?: string }> {
    if (Date.now() - this.#last.at < this.cacheMs) return this.#last;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('broker metadata timed out')), this.timeoutMs); });
      if (!this.#connected) {
        // Kept: a connect that outlives its timeout, or a probe during close, must be waited for
        // before disconnecting, or it finishes afterwards and leaves a connection open.
        this.#connecting ??= this.#admin.connect().then(() => { this.#connected = true; }).finally(() => { this.#connecting = undefined; });
        await Promise.race([this.#connecting, timeout]);
      }
      await Promise.race([this.#admin.describeCluster(), timeout]);
      this.#last = { at: Date.now(), ok: true };
    } catch (err) {
      this.#last = { at: Date.now(), ok: false, error: (err as Error).message };
    } finally {
      if (timer) clearTimeout(timer);
    }
    return this.#last;
  }

  async close(): Promise<void> {
    await this.#connecting?.catch(() => undefined);
    if (this.#connected) await this.#admin.disconnect().catch(() => undefined);
    this.#connected = false;
  }
}
