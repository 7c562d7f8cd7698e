import type { VitalName } from '../../core/schemas/registry.js';

/** The newest value of each vital a resident has sent, with when it was measured. */
export type LatestVitals = Partial<Record<VitalName, { value: number; at: number }>>;

/** Records a measurement unless a newer one of the same vital is already known (late deliveries). */
export function recordVital(latest: LatestVitals, vital: VitalName, value: number, at: number): void {
  const known = latest[vital];
  if (!known || at >= known.at) latest[vital] = { value, at };
}
