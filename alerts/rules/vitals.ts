import type { Severity } from '../../core/schemas/alert.js';
import type { Observation } from '../../core/schemas/observation.js';
import type { VitalBand, VitalName } from '../../core/schemas/registry.js';
import { GLUCOSE_HHS_MG_DL } from './vital-bands.js';

/** Which field of which reading type carries each vital. */
export const vitalFields: Partial<Record<Observation['type'], readonly (readonly [VitalName, string])[]>> = {
  spo2: [['spo2', 'spo2'], ['heart_rate', 'pulse']],
  blood_pressure: [['systolic', 'systolic'], ['diastolic', 'diastolic'], ['heart_rate', 'pulse']],
  heart_rate: [['heart_rate', 'bpm']],
  respiratory_rate: [['respiratory_rate', 'per_min']],
  temperature: [['temperature', 'celsius']],
  glucose: [['glucose', 'mg_dl']],
};

export type VitalVerdict =
  | { vital: VitalName; value: number; abnormal: false }
  | {
      vital: VitalName;
      value: number;
      abnormal: true;
      severity: Severity;
      threshold: number;
      direction: 'low' | 'high';
      reason: string;
    };

function abnormal(vital: VitalName, value: number, severity: Severity, threshold: number, direction: 'low' | 'high'): VitalVerdict {
  const hhs = vital === 'glucose' && value >= GLUCOSE_HHS_MG_DL ? ' (HHS range)' : '';
  return { vital, value, abnormal: true, severity, threshold, direction, reason: `${vital} ${value} ${direction === 'low' ? '≤' : '≥'} ${threshold}${hhs}` };
}

/** Classifies one value against one band; inclusive thresholds, critical checked first. */
export function classifyVital(vital: VitalName, value: number, band: VitalBand): VitalVerdict {
  const { lowCritical, lowWarning, highWarning, highCritical } = band;
  if (lowCritical !== undefined && value <= lowCritical) return abnormal(vital, value, 'critical', lowCritical, 'low');
  if (highCritical !== undefined && value >= highCritical) return abnormal(vital, value, 'critical', highCritical, 'high');
  if (lowWarning !== undefined && value <= lowWarning) return abnormal(vital, value, 'warning', lowWarning, 'low');
  if (highWarning !== undefined && value >= highWarning) return abnormal(vital, value, 'warning', highWarning, 'high');
  return { vital, value, abnormal: false };
}

/** The vitals an observation carries, as `[vital, value]`. */
export function vitalsOf(o: Observation): [VitalName, number][] {
  const fields = vitalFields[o.type];
  if (!fields) return [];
  const out: [VitalName, number][] = [];
  for (const [vital, field] of fields) {
    const value = o.fields[field];
    if (typeof value === 'number') out.push([vital, value]);
  }
  return out;
}

/** Every vital an observation carries, each judged against the resident's bands. */
export function evaluateVitals(o: Observation, bands: Readonly<Record<VitalName, VitalBand>>): VitalVerdict[] {
  return vitalsOf(o).map(([vital, value]) => classifyVital(vital, value, bands[vital]));
}
