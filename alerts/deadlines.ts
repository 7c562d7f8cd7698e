/** Where a DeadlineIndex keeps the live due of each key. */
export interface LiveDues<K> {
  get(key: K): number | undefined;
  set(key: K, due: number): unknown;
  delete(key: K): unknown;
  readonly size: number;
}

/**
 * A deadline index: a binary min-heap of (due, key) with lazy deletion, so a
 * scan touches only the entries that are due — O(k log n) for k due of n,
 * nothing for the rest (DESIGN §5: 100 k residents well under 10 ms a scan).
 *
 * Each key has at most one live entry, at the earliest due it was given.
 * Deadlines that move later (new activity) are not touched here: when the old
 * entry comes due, the owner recomputes the real deadline and schedules it
 * again. That keeps the hot path (an observation) at one lookup.
 */
export class DeadlineIndex<K extends string | number = string> {
  private readonly dues: number[] = [];
  private readonly keys: K[] = [];

  /** `live` holds each key's live due: a Map by default, a typed-array column for numbered keys. */
  constructor(private readonly live: LiveDues<K> = new Map<K, number>()) {}

  get size(): number {
    return this.live.size;
  }

  /** The live due of `key`, if scheduled. */
  dueOf(key: K): number | undefined {
    return this.live.get(key);
  }

  /** Ensures `key` comes up no later than `due`. */
  schedule(key: K, due: number): void {
    const current = this.live.get(key);
    if (current !== undefined && current <= due) return;
    this.live.set(key, due);
    this.push(due, key);
  }

  /** Forgets `key` (its heap entry is dropped when it surfaces). */
  cancel(key: K): void {
    this.live.delete(key);
  }

  /** The earliest live due, if any. */
  peek(): number | undefined {
    while (this.dues.length > 0 && this.live.get(this.keys[0]!) !== this.dues[0]) this.pop();
    return this.dues[0];
  }

  /** Removes and returns the keys due at `now` (due ≤ now), earliest first. */
  takeDue(now: number): K[] {
    const due: K[] = [];
    while (this.dues.length > 0 && this.dues[0]! <= now) {
      const at = this.dues[0]!;
      const key = this.pop();
      if (this.live.get(key) !== at) continue; // superseded by an earlier schedule, or cancelled
      this.live.delete(key);
      due.push(key);
    }
    return due;
  }

  private push(due: number, key: K): void {
    const { dues, keys } = this;
    let i = dues.length;
    dues.push(due);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (dues[parent]! <= due) break;
      dues[i] = dues[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    dues[i] = due;
    keys[i] = key;
  }

  private pop(): K {
    const { dues, keys } = this;
    const top = keys[0]!;
    const lastDue = dues.pop()!;
    const lastKey = keys.pop()!;
    const n = dues.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && dues[right]! < dues[left]! ? right : left;
        if (dues[child]! >= lastDue) break;
        dues[i] = dues[child]!;
        keys[i] = keys[child]!;
        i = child;
      }
      dues[i] = lastDue;
      keys[i] = lastKey;
    }
    return top;
  }
}
