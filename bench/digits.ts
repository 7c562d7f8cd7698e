/**
 * Load generators write their messages once and then rewrite only the digits
 * that change (timestamps, values), so the CPU they share with what a bench
 * measures goes to sending, not to building strings.
 */
import { millionsOf, writeDigits } from '../core/digits.js';

/** An epoch-ms timestamp (13 digits) at `at`, in two halves that are small integers. */
export function writeEpochMs(bytes: Buffer, at: number, ms: number): void {
  const high = millionsOf(ms);
  writeDigits(bytes, at, high, 7);
  writeDigits(bytes, at + 7, ms - high * 1e6, 6);
}

/** Offsets just after each occurrence of `marker` in `text` (where the digits to rewrite start). */
export function offsetsAfter(text: string, marker: string): number[] {
  const offsets: number[] = [];
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) offsets.push(at + marker.length);
  return offsets;
}
