import type { VitalBand, VitalName } from '../../core/schemas/registry.js';
import type { LatestVitals } from './latest-vitals.js';
import { FEVER_COMBINATION_WINDOW_MS, FEVER_CRITICAL_WITH_OTHER_C } from './vital-bands.js';
import { classifyVital } from './vitals.js';

export type FeverVerdict = { fire: false } | { fire: true; value: number; at: number; with: VitalName[]; reason: string };

/**
 * DESIGN §5: a temperature ≥ 38.1 °C is critical together with another
 * abnormal vital measured within the window of it (IDSA: fever is often
 * absent or mild in frail elders, so fever plus a second sign is the red flag).
 */
const NO_FEVER: FeverVerdict = Object.freeze({ fire: false });

export function feverWithAbnormalVital(latest: LatestVitals, bands: Readonly<Record<VitalName, VitalBand>>): FeverVerdict {
  const temperature = latest.temperature;
  if (!temperature || temperature.value < FEVER_CRITICAL_WITH_OTHER_C) return NO_FEVER;
  const others: VitalName[] = [];
  for (const [vital, m] of Object.entries(latest) as [VitalName, { value: number; at: number }][]) {
    if (vital === 'temperature' || Math.abs(m.at - temperature.at) > FEVER_COMBINATION_WINDOW_MS) continue;
    if (classifyVital(vital, m.value, bands[vital]).abnormal) others.push(vital);
  }
  if (others.length === 0) return NO_FEVER;
  return {
    fire: true,
    value: temperature.value,
    at: temperature.at,
    with: others.sort(),
    reason: `temperature ${temperature.value} ≥ ${FEVER_CRITICAL_WITH_OTHER_C} with abnormal ${others.join(', ')}`,
  };
}
