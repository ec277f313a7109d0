/**
 * Event ids an instance published lately, so that it need not ask the database again: bounded, and
 * when full it forgets the oldest tenth (a Set iterates in insertion order).
 */
export class RecentIds {
  readonly #ids = new Set<string>();

  constructor(private readonly max: number) {}

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size <= this.max) return;
    for (const old of this.#ids) {
      this.#ids.delete(old);
      if (this.#ids.size <= this.max * 0.9) break;
    }
  }
}
