import type { VitalBand } from '../../core/schemas/registry.js';
import { RECOVERY_STREAK } from './vital-bands.js';

/**
 * How far a normal value lies inside its band: the distance to the nearest
 * threshold that would make it abnormal (Infinity for an empty band).
 */
export function distanceInside(value: number, band: VitalBand): number {
  const low = band.lowWarning ?? band.lowCritical;
  const high = band.highWarning ?? band.highCritical;
  return Math.min(low === undefined ? Infinity : value - low, high === undefined ? Infinity : high - value);
}

export type RecoveryVerdict = { recovered: true; reason: string } | { recovered: false; streak: number; reason: string };

/**
 * Hysteresis before `recoveredAt`: a normal value recovers an alert at once when
 * it is at least `margin` inside the band, otherwise only as the
 * RECOVERY_STREAK-th normal reading in a row. `streak` counts the normal
 * readings before this one.
 */
export function recovery(value: number, band: VitalBand, margin: number, streak: number): RecoveryVerdict {
  const inside = distanceInside(value, band);
  if (inside >= margin - 1e-9) return { recovered: true, reason: `${value} is ${round(inside)} inside the band (margin ${margin})` };
  return recoveryByStreak(streak, `${value} is only ${round(inside)} inside the band (margin ${margin})`);
}

/** Recovery for rules without a margin (NEWS2, weight trend): RECOVERY_STREAK normal evaluations in a row. */
export function recoveryByStreak(streak: number, why = 'normal'): RecoveryVerdict {
  const now = streak + 1;
  return now >= RECOVERY_STREAK
    ? { recovered: true, reason: `${why}; ${now} normal in a row` }
    : { recovered: false, streak: now, reason: `${why}; waiting for ${RECOVERY_STREAK - now} more normal` };
}

const round = (n: number) => Math.round(n * 100) / 100;
