import type { Severity } from '../../core/schemas/alert.js';
import type { Observation } from '../../core/schemas/observation.js';
import type { VitalBand, VitalName } from '../../core/schemas/registry.js';

/** Which field of which reading type carries each vital. */
const vitalFields: Partial<Record<Observation['type'], [VitalName, string][]>> = {
  spo2: [['spo2', 'spo2'], ['heart_rate', 'pulse']],
  blood_pressure: [['systolic', 'systolic'], ['diastolic', 'diastolic'], ['heart_rate', 'pulse']],
  heart_rate: [['heart_rate', 'bpm']],
  respiratory_rate: [['respiratory_rate', 'per_min']],
  temperature: [['temperature', 'celsius']],
  glucose: [['glucose', 'mg_dl']],
};

export type VitalVerdict =
  | { vital: VitalName; value: number; abnormal: false }
  | { vital: VitalName; value: number; abnormal: true; severity: Severity; reason: string };

/** Classifies one value against one band; inclusive thresholds, critical checked first. */
export function classifyVital(vital: VitalName, value: number, band: VitalBand): VitalVerdict {
  const { lowCritical, lowWarning, highWarning, highCritical } = band;
  if (lowCritical !== undefined && value <= lowCritical) return { vital, value, abnormal: true, severity: 'critical', reason: `${vital} ${value} ≤ ${lowCritical}` };
  if (highCritical !== undefined && value >= highCritical) return { vital, value, abnormal: true, severity: 'critical', reason: `${vital} ${value} ≥ ${highCritical}` };
  if (lowWarning !== undefined && value <= lowWarning) return { vital, value, abnormal: true, severity: 'warning', reason: `${vital} ${value} ≤ ${lowWarning}` };
  if (highWarning !== undefined && value >= highWarning) return { vital, value, abnormal: true, severity: 'warning', reason: `${vital} ${value} ≥ ${highWarning}` };
  return { vital, value, abnormal: false };
}

/** Every vital an observation carries, each judged against the resident's bands. */
export function evaluateVitals(o: Observation, bands: Readonly<Record<VitalName, VitalBand>>): VitalVerdict[] {
  const fields = vitalFields[o.type];
  if (!fields) return [];
  const verdicts: VitalVerdict[] = [];
  for (const [vital, field] of fields) {
    const value = o.fields[field];
    if (typeof value === 'number') verdicts.push(classifyVital(vital, value, bands[vital]));
  }
  return verdicts;
}
