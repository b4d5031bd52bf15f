/**
 * `p`, or the error `onTimeout()` returns once `ms` have passed without an answer. The work behind
 * `p` is not cancelled: `onTimeout` is where a caller gives up on it (e.g. replaces a connection).
 */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
