import type { VitalName } from '../../core/schemas/registry.js';

/** The newest value of each vital a resident has sent, with when it was measured. */
export type LatestVitals = Partial<Record<VitalName, { value: number; at: number }>>;

/**
 * Records a measurement unless a newer one of the same vital is already known (late
 * deliveries). True when it is the first of its vital.
 */
export function recordVital(latest: LatestVitals, vital: VitalName, value: number, at: number): boolean {
  const known = latest[vital];
  if (!known) {
    latest[vital] = { value, at };
    return true;
  }
  if (at >= known.at) {
    // In place: one object per vital for good, not one per reading for the collector.
    known.value = value;
    known.at = at;
  }
  return false;
}
