/**
 * One call in flight at a time, callers that arrive meanwhile share it. With `maxAgeMs` > 0 a result
 * is kept: younger than that it is returned as is; older, it is still returned while a refresh runs
 * in the background (a failed refresh keeps the old result and is tried again on the next call).
 */
export function staleWhileRevalidate<T>(fn: () => Promise<T>, maxAgeMs: number): () => Promise<T> {
  let pending: Promise<T> | null = null;
  let last: { value: T; at: number } | null = null;
  const refresh = () => {
    pending ??= fn()
      .then((value) => {
        last = { value, at: Date.now() };
        return value;
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  };
  return () => {
    if (maxAgeMs <= 0 || !last) return refresh();
    if (Date.now() - last.at >= maxAgeMs) refresh().catch(() => {});
    return Promise.resolve(last.value);
  };
}
