/**
 * mulberry32: a small, well-distributed PRNG. The sandbox draws IDs and fault decisions from it, so
 * one seed replays the same run (the same faults on the same requests, in order).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` random hex digits. */
export function randomHex(random: () => number, count: number): string {
  let text = '';
  for (let index = 0; index < count; index++) text += Math.floor(random() * 16).toString(16);
  return text;
}

/** A version-4-shaped UUID drawn from `random`. */
export function randomUuid(random: () => number): string {
  const hex = randomHex(random, 30);
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(12, 15)}-${variant}${hex.slice(15, 18)}-${hex.slice(18, 30)}`;
}
