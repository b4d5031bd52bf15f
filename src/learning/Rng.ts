/** A seeded source of uniform numbers in [0, 1); policies and the simulation take one so runs are reproducible. */
export interface Rng {
  next(): number;
}

/** sfc32 seeded through splitmix32: fast, 128-bit state, good enough for Monte Carlo and bootstraps. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const rng = {
    next(): number {
      const t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) >>> 0;
      return t / 4294967296;
    },
  };
  for (let i = 0; i < 12; i++) rng.next();
  return rng;
}

/** Crypto-free default for production choices: seeded from the clock and Math.random. */
export function randomRng(): Rng {
  return createRng((Date.now() ^ Math.floor(Math.random() * 2 ** 32)) >>> 0);
}
