/**
 * A pure function's results kept by key, at most `size` of them; the least recently used goes first.
 * For work that many jobs repeat on the same input (a configuration's YAML, its embedding).
 */
export function boundedMemo<V>(size: number): (key: string, compute: () => V) => V {
  const kept = new Map<string, V>();
  return (key, compute) => {
    let value: V;
    if (kept.has(key)) {
      value = kept.get(key) as V;
      kept.delete(key);
    } else {
      value = compute();
      if (kept.size >= size) kept.delete(kept.keys().next().value as string);
    }
    kept.set(key, value);
    return value;
  };
}
