import { describe, expect, it } from 'vitest';
import { boundedMemo } from '../src/boundedMemo.js';

describe('boundedMemo', () => {
  it('computes a key once, keeps at most `size` keys and lets the least recently used go first', () => {
    const memo = boundedMemo<string>(2);
    const computed: string[] = [];
    const get = (k: string) =>
      memo(k, () => {
        computed.push(k);
        return k.toUpperCase();
      });
    expect(get('a')).toBe('A');
    expect(get('b')).toBe('B');
    expect(get('a')).toBe('A'); // a is now the most recent
    expect(get('c')).toBe('C'); // b goes, not a
    expect(get('a')).toBe('A');
    expect(get('b')).toBe('B'); // computed again
    expect(computed).toEqual(['a', 'b', 'c', 'b']);
  });

  it('keeps nothing when the computation throws', () => {
    const memo = boundedMemo<number>(4);
    expect(() =>
      memo('x', () => {
        throw new Error('bad input');
      }),
    ).toThrow('bad input');
    expect(memo('x', () => 7)).toBe(7);
  });
});
