/** Polls `probe` until it returns a value (something arrived asynchronously), or fails after `timeoutMs`. */
export async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 3000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
