/** Runs tasks one at a time per key, in arrival order; different keys run concurrently. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    try {
      await previous;
      return await task();
    } finally {
      release();
      // Keeps the map from growing with every username ever seen.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
