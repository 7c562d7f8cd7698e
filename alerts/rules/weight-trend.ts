/** ESC heart-failure self-care: a gain of 2 kg or more within 3 days is a warning sign of fluid retention. */
export const WEIGHT_GAIN_KG = 2;
export const WEIGHT_WINDOW_MS = 3 * 24 * 3_600_000;
/** Weighings kept per resident: a scale sends a few a day. */
export const WEIGHT_HISTORY_MAX = 64;

export interface Weighing {
  at: number;
  kg: number;
}

export type WeightTrendVerdict =
  | { fire: false; gainKg: number | null }
  | { fire: true; gainKg: number; fromKg: number; fromAt: number; toKg: number; reason: string };

const tenth = (n: number) => Math.round(n * 10) / 10;

/** The gain of `weighing` over the lowest weight of the 3 days before it. */
export function weightTrend(history: readonly Weighing[], weighing: Weighing): WeightTrendVerdict {
  let baseline: Weighing | undefined;
  for (const w of history) {
    if (w.at >= weighing.at || weighing.at - w.at > WEIGHT_WINDOW_MS) continue;
    if (!baseline || w.kg < baseline.kg) baseline = w;
  }
  if (!baseline) return { fire: false, gainKg: null };
  const gainKg = tenth(weighing.kg - baseline.kg);
  if (gainKg < WEIGHT_GAIN_KG) return { fire: false, gainKg };
  const hours = Math.round((weighing.at - baseline.at) / 3_600_000);
  return { fire: true, gainKg, fromKg: baseline.kg, fromAt: baseline.at, toKg: weighing.kg, reason: `weight +${gainKg} kg in ${hours} h (${baseline.kg} → ${weighing.kg} kg)` };
}

/** Adds a weighing, keeping only those the window can still use (and at most WEIGHT_HISTORY_MAX). */
export function rememberWeighing(history: readonly Weighing[], weighing: Weighing): Weighing[] {
  const newest = Math.max(weighing.at, ...history.map((w) => w.at));
  const kept = [...history, weighing].filter((w) => newest - w.at <= WEIGHT_WINDOW_MS).sort((a, b) => a.at - b.at);
  return kept.slice(-WEIGHT_HISTORY_MAX);
}
