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

/** A resident's bands: the nurse's overrides per vital, the defaults elsewhere. */
export function bandsFor(overrides: VitalBands | undefined): Record<VitalName, VitalBand> {
  if (!overrides) return defaultVitalBands;
  const merged = { ...defaultVitalBands };
  for (const [name, band] of Object.entries(overrides) as [VitalName, VitalBand][]) merged[name] = { ...merged[name], ...band };
  return merged;
}
