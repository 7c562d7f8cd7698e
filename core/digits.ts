/**
 * Decimal digits written straight into bytes, without making a string: the line
 * protocol writer (ingest/line-protocol.ts) and the bench's load generators
 * (bench/digits.ts) both write numbers on a hot path.
 */

const ZERO = 0x30;

/** `value` (a whole number, 0 ≤ value < 2^31) as exactly `width` decimal digits at `at`, written backwards. */
export function writeDigits(bytes: Uint8Array, at: number, value: number, width: number): void {
  let rest = value;
  for (let i = at + width - 1; i >= at; i--) {
    const next = (rest / 10) | 0;
    bytes[i] = ZERO + rest - next * 10;
    rest = next;
  }
}

/**
 * The millions of a whole number 0 ≤ value < 2^53, so it can be written as two halves that
 * are small integers (`high`, then `value - high * 1e6` as 6 digits). Not `value % 1e6`: above
 * 2^31 that is a floating-point remainder, a call to fmod (a third of the line writer's time).
 * Below 2^53 the rounded quotient never reaches the next whole number (k - 1e-6 is more than
 * half a unit in the last place below k), so the floor is exact.
 */
export function millionsOf(value: number): number {
  return Math.floor(value / 1e6);
}

/** How many decimal digits a whole number 0 ≤ value < 2^53 has. */
export function digitsOf(value: number): number {
  let digits = 1;
  for (let bound = 10; bound <= value; bound *= 10) digits++;
  return digits;
}
