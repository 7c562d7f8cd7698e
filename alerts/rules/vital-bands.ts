import type { VitalBand, VitalBands, VitalName } from '../../core/schemas/registry.js';

/**
 * Default bands (DESIGN §5; sources in docs/clinical-defaults.md). Thresholds
 * are inclusive: `lowCritical: 92` means SpO2 ≤ 92 % is critical. Glucose
 * meters report whole mg/dL, so ADA's "< 70" is `lowWarning: 69`.
 */
export const defaultVitalBands: Readonly<Record<VitalName, VitalBand>> = {
  spo2: { lowCritical: 92, lowWarning: 94 }, // NHS oximetry@home SOP 2022; NEWS2 scale 1
  heart_rate: { lowCritical: 40, lowWarning: 50, highWarning: 111, highCritical: 131 }, // NEWS2
  respiratory_rate: { lowCritical: 8, lowWarning: 11, highWarning: 21, highCritical: 25 }, // NEWS2
  temperature: { lowCritical: 35.0, lowWarning: 36.0, highWarning: 37.8 }, // IDSA LTCF 2008; NEWS2
  systolic: { lowCritical: 90, lowWarning: 100, highWarning: 160, highCritical: 180 }, // ACC/AHA; NEWS2
  diastolic: { highWarning: 100, highCritical: 120 }, // ACC/AHA; KSH
  glucose: { lowCritical: 53, lowWarning: 69, highWarning: 251, highCritical: 300 }, // ADA levels 1/2; TIR 2019
};

/** A fever this high is critical when another vital is abnormal at the same time (DESIGN §5; NEWS2 38.1–39.0). */
export const FEVER_CRITICAL_WITH_OTHER_C = 38.1;
/** "Together": the other abnormal vital was measured within this window of the temperature. */
export const FEVER_COMBINATION_WINDOW_MS = 60 * 60_000;
/** Glucose from here on is in the hyperosmolar hyperglycaemic state range (2024 crises consensus); the reason says so. */
export const GLUCOSE_HHS_MG_DL = 600;

export const vitalUnits: Readonly<Record<VitalName, string>> = {
  spo2: '%', heart_rate: 'bpm', respiratory_rate: '/min', temperature: '°C', systolic: 'mmHg', diastolic: 'mmHg', glucose: 'mg/dL',
};

/**
 * Hysteresis: a normal reading at least this far inside the band recovers an
 * alert at once; one closer to the threshold needs a second normal reading in a
 * row (clinical-research §8: "SpO2 alert at ≤ 92, clear at ≥ 94").
 */
export const recoveryMargins: Readonly<Record<VitalName, number>> = {
  spo2: 2, heart_rate: 5, respiratory_rate: 2, temperature: 0.3, systolic: 5, diastolic: 5, glucose: 10,
};
/** Normal readings in a row that recover an alert whatever their margin. */
export const RECOVERY_STREAK = 2;

/** A resident's bands: the nurse's overrides per vital, the defaults elsewhere. */
export function bandsFor(overrides: VitalBands | undefined): Record<VitalName, VitalBand> {
  if (!overrides) return defaultVitalBands;
  const merged = { ...defaultVitalBands };
  for (const [name, band] of Object.entries(overrides) as [VitalName, VitalBand][]) merged[name] = { ...merged[name], ...band };
  return merged;
}
