/**
 * Values kept by key, at most `size` of them; the least recently used goes first. For immutable facts
 * many jobs look up again (a configuration's parse and embedding, a commit's files by blob id).
 */
export class BoundedCache<V> {
  private readonly kept = new Map<string, V>();
  constructor(private readonly size: number) {}

  get(key: string): V | undefined {
    if (!this.kept.has(key)) return undefined;
    const value = this.kept.get(key) as V;
    this.kept.delete(key);
    this.kept.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.kept.delete(key);
    if (this.kept.size >= this.size) this.kept.delete(this.kept.keys().next().value as string);
    this.kept.set(key, value);
  }
}

/** A pure function's results kept by key in a BoundedCache of `size` entries. */
export function boundedMemo<V>(size: number): (key: string, compute: () => V) => V {
  const cache = new BoundedCache<{ value: V }>(size);
  return (key, compute) => {
    const hit = cache.get(key);
    if (hit) return hit.value;
    const value = compute();
    cache.set(key, { value });
    return value;
  };
}
