/**
 * `work`'s outcome, or `onAbort()`'s as soon as `signal` fires (a throw from `onAbort` rejects): waiting must
 * never outlive the waiter's deadline, even when the work itself ignores the signal.
 */
export function untilAborted<T, A>(work: Promise<T>, signal: AbortSignal, onAbort: () => A): Promise<T | A> {
  return new Promise<T | A>((resolve, reject) => {
    const abort = (): void => {
      try {
        resolve(onAbort());
      } catch (error) {
        reject(error);
      }
    };
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
