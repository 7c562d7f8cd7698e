export type Random = () => number;

/** mulberry32: a tiny seeded PRNG, so `--seed` replays the same homes and messages. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for one independent stream (a home, a day of it, an event), so adding
 * a home or planning another window never shifts the numbers of the others.
 */
export function deriveSeed(seed: number, ...parts: (number | string)[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of parts) {
    const text = String(part);
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

export const streamOf = (seed: number, ...parts: (number | string)[]): Random => seededRandom(deriveSeed(seed, ...parts));

export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
export const between = (random: Random, min: number, max: number, digits = 0): number =>
  Number((min + random() * (max - min)).toFixed(digits));
export const chance = (random: Random, p: number): boolean => random() < p;

/** Normal noise (Box–Muller) for measurement scatter around a resident's own baseline. */
export function gaussian(random: Random, mean: number, sd: number): number {
  const u = 1 - random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));
export const round = (value: number, digits = 0): number => Number(value.toFixed(digits));
