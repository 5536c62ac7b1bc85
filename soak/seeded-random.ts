/**
 * The campaign's randomness: a small seeded PRNG (mulberry32), written here rather than taken from
 * exportctl, so the campaign shares no code with what it tests. Every random choice of a scenario —
 * its data, its steps, its fault seeds, its kill moments — comes from one of these, derived from the
 * campaign seed, so one seed replays one campaign.
 */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One of `items`, each as likely as its weight (weights > 0). */
  weighted<T>(items: readonly { readonly weight: number; readonly value: T }[]): T {
    const total = items.reduce((sum, item) => sum + item.weight, 0);
    let draw = this.next() * total;
    for (const item of items) {
      draw -= item.weight;
      if (draw < 0) return item.value;
    }
    return (items[items.length - 1] as { value: T }).value;
  }

  /** `count` distinct items of `items`, in random order (all of them if there are fewer). */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index--) {
      const other = Math.floor(this.next() * (index + 1));
      [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
    }
    return copy.slice(0, Math.max(0, count));
  }

  /** A fresh 31-bit seed (for the sandbox's fault PRNG, a step's own stream). */
  seed31(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }

  /**
   * An independent stream for `label`: the same seed and label always give the same stream, whatever
   * was drawn from this one before.
   */
  derive(label: string | number): SeededRandom {
    return new SeededRandom(mixSeed(this.seed, label));
  }
}

/** A 32-bit seed from a seed and a label (FNV-1a over the label, then a splitmix-style finaliser). */
export function mixSeed(seed: number, label: string | number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (const char of String(label)) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x7feb352d) >>> 0;
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x846ca68b) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}
