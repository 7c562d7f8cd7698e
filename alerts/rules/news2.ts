import type { News2Parameter, Severity } from '../../core/schemas/alert.js';
import type { LatestVitals } from './latest-vitals.js';

/**
 * NEWS2 (RCP 2017, Chart 1) over the vitals a home measures. Consciousness and
 * oxygen are not measured: scored 0 (alert, on air), so the score is partial
 * and computed only when enough parameters were measured close together
 * (clinical-research §1: "≥ 5 of 7 within ~1 h; label partial").
 */
export const NEWS2_WINDOW_MS = 60 * 60_000;
/** Measured parameters needed; with oxygen (air) assumed that makes 5 of the 7. */
export const NEWS2_MIN_PARAMETERS = 4;
/** Chart 4: 5–6 urgent response (warning), ≥ 7 emergency response (critical). */
export const NEWS2_WARNING = 5;
export const NEWS2_CRITICAL = 7;

export const news2Parameters: readonly News2Parameter[] = ['respiratory_rate', 'spo2', 'systolic', 'heart_rate', 'temperature'];

/** Each row: [upper bound inclusive, score], first match wins; values above the last bound score `above`. */
type Scale = { rows: [number, number][]; above: number };
const scales: Record<Exclude<News2Parameter, 'spo2'> | 'spo2_scale1' | 'spo2_scale2', Scale> = {
  respiratory_rate: { rows: [[8, 3], [11, 1], [20, 0], [24, 2]], above: 3 },
  spo2_scale1: { rows: [[91, 3], [93, 2], [95, 1]], above: 0 },
  // Scale 2 on air (hypercapnic respiratory failure, clinician-set target 88–92 %): ≥ 88 scores 0.
  spo2_scale2: { rows: [[83, 3], [85, 2], [87, 1]], above: 0 },
  systolic: { rows: [[90, 3], [100, 2], [110, 1], [219, 0]], above: 3 },
  heart_rate: { rows: [[40, 3], [50, 1], [90, 0], [110, 1], [130, 2]], above: 3 },
  temperature: { rows: [[35.0, 3], [36.0, 1], [38.0, 0], [39.0, 1]], above: 2 },
};

export function scoreParameter(parameter: News2Parameter, value: number, spo2Scale2 = false): number {
  const scale = parameter === 'spo2' ? scales[spo2Scale2 ? 'spo2_scale2' : 'spo2_scale1'] : scales[parameter];
  for (const [upTo, score] of scale.rows) if (value <= upTo) return score;
  return scale.above;
}

export type News2Verdict =
  | { computed: false; present: News2Parameter[]; missing: News2Parameter[] }
  | {
      computed: true;
      score: number;
      severity: Severity | null; // null: below the warning threshold
      parameters: Partial<Record<News2Parameter, { value: number; score: number }>>;
      missing: News2Parameter[];
      reason: string;
    };

function newestOf(latest: LatestVitals): number {
  let newest = -Infinity;
  for (const p of news2Parameters) newest = Math.max(newest, latest[p]?.at ?? -Infinity);
  return newest;
}

const inWindow = (latest: LatestVitals, p: News2Parameter, newest: number) => {
  const at = latest[p]?.at;
  return at !== undefined && newest - at <= NEWS2_WINDOW_MS;
};

/**
 * Whether enough NEWS2 parameters were measured within the window for a score,
 * without building anything (building the verdict's arrays for every reading
 * was 20 % of the bytes the platform allocated in the gateway mix). The engine
 * asks only once a resident has sent four parameters at all (`news2Measured`).
 */
export function news2Ready(latest: LatestVitals): boolean {
  const newest = newestOf(latest);
  let present = 0;
  for (const p of news2Parameters) if (inWindow(latest, p, newest)) present++;
  return present >= NEWS2_MIN_PARAMETERS;
}

/** The aggregate of the latest measurements within the window ending at the newest of them. */
export function news2(latest: LatestVitals, spo2Scale2 = false): News2Verdict {
  const newest = newestOf(latest);
  const present = news2Parameters.filter((p) => inWindow(latest, p, newest));
  const missing = news2Parameters.filter((p) => !present.includes(p));
  if (present.length < NEWS2_MIN_PARAMETERS) return { computed: false, present, missing };
  const parameters: Partial<Record<News2Parameter, { value: number; score: number }>> = {};
  let score = 0;
  for (const p of present) {
    const value = latest[p]!.value;
    const s = scoreParameter(p, value, spo2Scale2);
    parameters[p] = { value, score: s };
    score += s;
  }
  const severity = score >= NEWS2_CRITICAL ? 'critical' : score >= NEWS2_WARNING ? 'warning' : null;
  const parts = present.map((p) => `${p} ${parameters[p]!.value}→${parameters[p]!.score}`).join(', ');
  return { computed: true, score, severity, parameters, missing, reason: `partial NEWS2 ${score} (${parts}${missing.length ? `; missing ${missing.join(', ')}` : ''})` };
}
